"""Build and sign the transactions the gateway sends: contract calls, STX transfers, deploys.

Each ``make_*`` function returns a signed :class:`~.transactions.Transaction`. With
``sponsored=True`` the origin signs a sponsored transaction and a sponsor completes it with
:func:`sponsor_transaction`; the sponsor's fee is the one paid, so pass ``fee=0`` for the origin
(the field is kept as given, as stacks.js does).
"""

from __future__ import annotations

from collections.abc import Sequence

from .clarity import ClarityValue, principal
from .errors import ClarityError, TransactionError
from .keys import PrivateKey
from .networks import Network
from .postconditions import PostCondition, PostConditionMode
from .transactions import (
    AnchorMode,
    Authorization,
    ClarityVersion,
    ContractCallPayload,
    Payload,
    SingleSigSpendingCondition,
    SmartContractPayload,
    SponsoredAuthorization,
    StandardAuthorization,
    TokenTransferPayload,
    Transaction,
    set_sponsor,
    sign_origin,
    sign_sponsor,
)


def unsigned_transaction(
    network: Network,
    payload: Payload,
    *,
    public_key: bytes,
    nonce: int,
    fee: int,
    post_conditions: Sequence[PostCondition] = (),
    post_condition_mode: PostConditionMode = PostConditionMode.DENY,
    anchor_mode: AnchorMode = AnchorMode.ANY,
    sponsored: bool = False,
) -> Transaction:
    """A transaction ready for :func:`~.transactions.sign_origin` (e.g. by an external signer)."""
    from .hashing import hash160

    origin = SingleSigSpendingCondition(signer=hash160(public_key), nonce=nonce, fee=fee)
    auth: Authorization = (
        SponsoredAuthorization(origin) if sponsored else StandardAuthorization(origin)
    )
    return Transaction(
        version=network.transaction_version,
        chain_id=network.chain_id,
        auth=auth,
        payload=payload,
        post_conditions=tuple(post_conditions),
        post_condition_mode=post_condition_mode,
        anchor_mode=anchor_mode,
    )


def _signed(
    network: Network,
    key: PrivateKey,
    payload: Payload,
    nonce: int,
    fee: int,
    post_conditions: Sequence[PostCondition],
    post_condition_mode: PostConditionMode,
    anchor_mode: AnchorMode,
    sponsored: bool,
) -> Transaction:
    """Every builder's last step: the unsigned transaction around ``payload``, origin-signed."""
    tx = unsigned_transaction(
        network,
        payload,
        public_key=key.public_key,
        nonce=nonce,
        fee=fee,
        post_conditions=post_conditions,
        post_condition_mode=post_condition_mode,
        anchor_mode=anchor_mode,
        sponsored=sponsored,
    )
    return sign_origin(tx, key)


def make_contract_call(
    network: Network,
    key: PrivateKey,
    contract_id: str,
    function_name: str,
    args: Sequence[ClarityValue],
    *,
    nonce: int,
    fee: int,
    post_conditions: Sequence[PostCondition] = (),
    post_condition_mode: PostConditionMode = PostConditionMode.DENY,
    anchor_mode: AnchorMode = AnchorMode.ANY,
    sponsored: bool = False,
) -> Transaction:
    """A signed contract call: ``make_contract_call(net, key, "ST….gw", "pay", [UInt(1)], …)``."""
    payload = ContractCallPayload.create(contract_id, function_name, list(args))
    return _signed(
        network, key, payload, nonce, fee, post_conditions, post_condition_mode, anchor_mode,
        sponsored,
    )  # fmt: skip


def make_token_transfer(
    network: Network,
    key: PrivateKey,
    recipient: str,
    amount: int,
    *,
    nonce: int,
    fee: int,
    memo: bytes | str = b"",
    post_conditions: Sequence[PostCondition] = (),
    post_condition_mode: PostConditionMode = PostConditionMode.DENY,
    anchor_mode: AnchorMode = AnchorMode.ANY,
    sponsored: bool = False,
) -> Transaction:
    """A signed STX transfer of ``amount`` micro-STX to ``recipient``."""
    try:
        recipient_cv = principal(recipient)
    except ClarityError as exc:
        raise TransactionError(str(exc)) from None
    memo_bytes = memo.encode("utf-8") if isinstance(memo, str) else memo
    payload = TokenTransferPayload(recipient_cv, amount, memo_bytes)
    return _signed(
        network, key, payload, nonce, fee, post_conditions, post_condition_mode, anchor_mode,
        sponsored,
    )  # fmt: skip


def make_contract_deploy(
    network: Network,
    key: PrivateKey,
    contract_name: str,
    code_body: str,
    *,
    nonce: int,
    fee: int,
    clarity_version: ClarityVersion | None = ClarityVersion.CLARITY3,
    post_conditions: Sequence[PostCondition] = (),
    post_condition_mode: PostConditionMode = PostConditionMode.DENY,
    anchor_mode: AnchorMode = AnchorMode.ANY,
    sponsored: bool = False,
) -> Transaction:
    """A signed (versioned) contract deploy; its id is ``{sender}.{contract_name}``."""
    payload = SmartContractPayload(contract_name, code_body, clarity_version)
    return _signed(
        network, key, payload, nonce, fee, post_conditions, post_condition_mode, anchor_mode,
        sponsored,
    )  # fmt: skip


def sponsor_transaction(tx: Transaction, key: PrivateKey, *, fee: int, nonce: int) -> Transaction:
    """Complete an origin-signed sponsored transaction: the sponsor pays ``fee`` and signs."""
    return sign_sponsor(
        set_sponsor(tx, sponsor_public_key=key.public_key, fee=fee, nonce=nonce), key
    )
