"""Stacks toolkit: addresses, Clarity values, transactions and the Stacks API client.

Nothing in this package imports the web or database layers. The most used names are re-exported
here; each module's docstring explains its part:

* ``c32`` — c32check addresses (``validate_principal``, ``InvalidAddressError``)
* ``clarity`` — Clarity values, ``serialize``/``deserialize``, ``repr`` in Clarity notation
* ``postconditions`` — STX / FT / NFT post-conditions and the mode byte
* ``transactions`` / ``builders`` — transaction model, codec, signing; ``make_*`` builders
* ``signing`` — payment-intent terms signing (R‖S‖V for ``secp256k1-verify``)
* ``keys`` — ``PrivateKey`` (secret never shown)
* ``networks`` — devnet / testnet / mainnet settings by name
* ``finality`` — mempool / confirmed / final / failed from a tx record and the Bitcoin tip
* ``source`` — ``ChainSource``, the chain calls the gateway makes (the client satisfies it)
* ``client`` / ``service`` — the async Stacks API client and the BlockchainService on top of it
"""

from .api_types import (
    AccountInfo,
    BlockInfo,
    FeeEstimate,
    NetworkInfo,
    NonceInfo,
    TransactionEvent,
    TransactionInfo,
    TxStatus,
)
from .builders import (
    make_contract_call,
    make_contract_deploy,
    make_token_transfer,
    sponsor_transaction,
    unsigned_transaction,
)
from .c32 import InvalidAddressError, c32_address, c32_address_decode, validate_principal
from .clarity import (
    FALSE,
    NONE,
    TRUE,
    Bool,
    Buffer,
    ClarityValue,
    ContractPrincipal,
    Err,
    Int,
    List,
    Ok,
    Some,
    StandardPrincipal,
    StringAscii,
    StringUtf8,
    Tuple,
    UInt,
    deserialize,
    principal,
)
from .client import StacksApiClient
from .errors import (
    ApiRequestError,
    ApiUnavailableError,
    BroadcastOutcomeUnknownError,
    ChainError,
    CircuitOpenError,
    ClarityError,
    MonitorTimeoutError,
    NotFoundError,
    ReadOnlyCallError,
    SignatureError,
    StacksApiError,
    TransactionError,
    TransactionRejectedError,
)
from .finality import Finality, assess_finality
from .keys import PrivateKey
from .networks import DEVNET, MAINNET, TESTNET, Network, get_network
from .postconditions import (
    FungibleConditionCode,
    PostConditionMode,
    ft_post_condition,
    stx_post_condition,
)
from .resilience import CircuitBreaker, RetryPolicy
from .service import (
    BlockchainService,
    BroadcastResult,
    DeploymentResult,
    EventCursor,
    FeePolicy,
    StacksBlockchainService,
)
from .signing import recover_terms_signer, sign_terms, terms_hash, verify_terms
from .source import ChainSource
from .transactions import (
    ClarityVersion,
    Transaction,
    deserialize_transaction,
    verify_origin,
    verify_sponsor,
)

__all__ = [
    "DEVNET",
    "FALSE",
    "MAINNET",
    "NONE",
    "TESTNET",
    "TRUE",
    "AccountInfo",
    "ApiRequestError",
    "ApiUnavailableError",
    "BlockInfo",
    "BlockchainService",
    "Bool",
    "BroadcastOutcomeUnknownError",
    "BroadcastResult",
    "Buffer",
    "ChainError",
    "ChainSource",
    "CircuitBreaker",
    "CircuitOpenError",
    "ClarityError",
    "ClarityValue",
    "ClarityVersion",
    "ContractPrincipal",
    "DeploymentResult",
    "Err",
    "EventCursor",
    "FeeEstimate",
    "FeePolicy",
    "Finality",
    "FungibleConditionCode",
    "Int",
    "InvalidAddressError",
    "List",
    "MonitorTimeoutError",
    "Network",
    "NetworkInfo",
    "NonceInfo",
    "NotFoundError",
    "Ok",
    "PostConditionMode",
    "PrivateKey",
    "ReadOnlyCallError",
    "RetryPolicy",
    "SignatureError",
    "Some",
    "StacksApiClient",
    "StacksApiError",
    "StacksBlockchainService",
    "StandardPrincipal",
    "StringAscii",
    "StringUtf8",
    "Transaction",
    "TransactionError",
    "TransactionEvent",
    "TransactionInfo",
    "TransactionRejectedError",
    "Tuple",
    "TxStatus",
    "UInt",
    "assess_finality",
    "c32_address",
    "c32_address_decode",
    "deserialize",
    "deserialize_transaction",
    "ft_post_condition",
    "get_network",
    "make_contract_call",
    "make_contract_deploy",
    "make_token_transfer",
    "principal",
    "recover_terms_signer",
    "sign_terms",
    "sponsor_transaction",
    "stx_post_condition",
    "terms_hash",
    "unsigned_transaction",
    "validate_principal",
    "verify_origin",
    "verify_sponsor",
    "verify_terms",
]
