"""Fee distribution (the seed's `distribute-fees`), run by the worker in batches.

For each succeeded intent whose fee is still in the contract, the operator account calls
`distribute-fees(token, intent-id)` (deny mode: the contract sends exactly the fee) and the
intent records `fee_status = pending` with the txid; the watcher marks it `distributed` when the
`fees-distributed` event lands (or `failed`). A crash between broadcast and record re-sends the
call next time; the second one aborts with u120 (already distributed) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.chain import (
    ChainError,
    StacksBlockchainService,
    StringAscii,
    ft_post_condition,
    principal,
)
from sbtc_gateway.chain.postconditions import PostConditionMode
from sbtc_gateway.payments import repository
from sbtc_gateway.payments.cache import note_changed

log = structlog.get_logger(__name__)
DISTRIBUTE_FUNCTION = "distribute-fees"


@dataclass(frozen=True, slots=True)
class FeeJob:
    contract_id: str
    livemode: bool
    batch: int = 25
    tx_fee: int = 10_000


async def distribute_fees(
    sessions: async_sessionmaker[AsyncSession],
    chain: StacksBlockchainService,
    job: FeeJob,
    after_commit: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> int:
    """Send out up to `job.batch` fees. Returns how many calls were broadcast."""
    async with sessions() as session:
        ids = list(await repository.fees_to_distribute(session, job.livemode, job.batch))
    sent = 0
    network = chain.network
    for intent_id in ids:
        async with sessions() as session:
            pi = await repository.lock_by_id(session, intent_id)
            fee = pi.application_fee_amount if pi else 0
        if not fee:
            continue
        try:
            result = await chain.call_contract_function(
                job.contract_id,
                DISTRIBUTE_FUNCTION,
                [principal(network.sbtc_token), StringAscii(intent_id)],
                post_conditions=[
                    ft_post_condition(job.contract_id, "eq", fee, network.sbtc_asset_id)
                ],
                post_condition_mode=PostConditionMode.DENY,
                fee=job.tx_fee,
            )
        except ChainError as exc:  # an outage or a rejection: try again next run
            log.warning("fee distribution not sent", intent=intent_id, error=str(exc))
            break
        async with sessions.begin() as session:
            pi = await repository.lock_by_id(session, intent_id)
            if pi is not None and pi.fee_status is None:
                pi.fee_status = "pending"
                pi.fee_txid = result.txid
                note_changed(session.sync_session, pi.id)
        if after_commit is not None:
            await after_commit(session)
        sent += 1
    return sent
