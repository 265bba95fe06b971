"""Operator set-up on chain: the contract's gateway key (merchants need none: the gateway's
signature names them).

`sbtc-gateway chain setup` calls `set-gateway-key` with the gateway's compressed public key,
signed by the contract owner's key (devnet / testnet; on mainnet the owner signs it in their
own wallet with the public key `sbtc-gateway chain public-key` prints). `set-gateway-key` takes
effect at once and invalidates the old key (a compromise). A planned rotation is the
contract's `rotate-gateway-key new-key overlap` (owner's wallet): the old key keeps verifying
for `overlap` blocks, while replicas move to the new `SBTC_GATEWAY_SIGNING_KEY` (a replica
still on the old key signs terms that expire by the overlap's end).
"""

from __future__ import annotations

from sbtc_gateway.chain import (
    DEVNET,
    Buffer,
    ChainSource,
    PrivateKey,
    StacksBlockchainService,
    TransactionInfo,
)
from sbtc_gateway.chain.networks import Network
from sbtc_gateway.chain.postconditions import PostConditionMode
from sbtc_gateway.chain.service import BroadcastResult

DEFAULT_FEE = 10_000


async def set_gateway_key(
    client: ChainSource,
    network: Network,
    contract_id: str,
    owner_key: PrivateKey,
    gateway_public_key: bytes,
    *,
    fee: int = DEFAULT_FEE,
) -> BroadcastResult:
    service = StacksBlockchainService(client, network, owner_key)
    return await service.call_contract_function(
        contract_id,
        "set-gateway-key",
        [Buffer(gateway_public_key)],
        post_condition_mode=PostConditionMode.DENY,
        fee=fee,
    )


async def wait(
    client: ChainSource, txid: str, *, poll_interval: float = 1.0, max_polls: int = 300
) -> TransactionInfo:
    # Only the service's polling is used here: the network does not matter.
    service = StacksBlockchainService(client, DEVNET, poll_interval=poll_interval)
    return await service.monitor_transaction(txid, max_polls=max_polls)
