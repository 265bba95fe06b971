"""A generated history for the analytics suites, made by the domains' own write paths.

Several merchants, months of payments (paid, failed on chain, canceled, expired), refunds,
reorgs that re-mine and reorgs that lose a payment for good, run in time order under a fake
clock through `payments.service`, `payments.lifecycle`, `charges.service` and
`refunds.service` — the functions the API and the watcher call — so events and the ledger are
written as in production. `Truth` then computes the figures again, independently, from the
ledger and the domain tables (never from the analytics tables).
"""

from __future__ import annotations

import contextlib
import random
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.charges import repository as charge_rows
from sbtc_gateway.charges import service as charges
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.merchants import service as merchants
from sbtc_gateway.payments import lifecycle
from sbtc_gateway.payments import service as payments
from sbtc_gateway.payments.onchain import ContractFacts
from sbtc_gateway.payments.schemas import (
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
)
from sbtc_gateway.refunds import service as refunds
from sbtc_gateway.refunds.schemas import RefundCreateParams

DAY = 86_400
PAYERS = [f"ST{secrets.token_hex(4).upper()}PAYER{i:03d}" for i in range(60)]
CHECKOUT = Origin(client_ip="203.0.113.7", user_agent="Mozilla/5.0 (checkout test)")


@contextlib.contextmanager
def clock(now: list[float]) -> Iterator[None]:
    """time.time() and time.time_ns() answer `now[0]` (moved by the generator)."""
    with (
        mock.patch("time.time", side_effect=lambda: now[0]),
        mock.patch("time.time_ns", side_effect=lambda: int(now[0] * 1_000_000_000)),
    ):
        yield


@dataclass(order=True)
class Action:
    at: float
    seq: int
    run: Callable[[AsyncSession], Awaitable[None]] = field(compare=False)


@dataclass
class Generated:
    merchants: list[str]
    start: int
    end: int
    intents: int = 0


def _caller(merchant_id: str, tier: str = "starter") -> AuthenticatedKey:
    return AuthenticatedKey("key_history", merchant_id, False, "secret", None, tier)


async def generate(
    gw: Any, merchant_ids: list[str], *, days: int, end: int, seed: int = 7
) -> Generated:
    """`days` of history for each merchant, ending at `end` (UTC midnight, in the past)."""
    rng = random.Random(seed)
    start = end - days * DAY
    actions: list[Action] = []
    seq = iter(range(10**9))

    def at(when: float, run: Callable[[AsyncSession], Awaitable[None]]) -> None:
        actions.append(Action(when, next(seq), run))

    generated = Generated(merchant_ids, start, end)
    for merchant_id in merchant_ids:
        for day in range(days):
            weekday = (start // DAY + day + 3) % 7  # 1970-01-01 was a Thursday
            for _ in range(rng.randint(0, 3) + (2 if weekday < 5 else 0)):
                t = start + day * DAY + rng.randint(0, DAY - 3600)
                _plan(at, rng, gw, merchant_id, t, end)
                generated.intents += 1
    actions.sort()
    now = [float(start)]
    with clock(now):
        for action in actions:
            now[0] = action.at
            async with gw.sessions.begin() as session:
                await action.run(session)
            await gw.after_commit(session)
        now[0] = float(end - 1)
        async with gw.sessions.begin() as session:
            while await payments.expire_due(session, cfg=gw.payments):
                pass
    return generated


def _plan(at: Any, rng: random.Random, gw: Any, merchant_id: str, t: int, end: int) -> None:
    cfg = gw.payments
    caller = _caller(merchant_id)
    state: dict[str, Any] = {}
    amount = rng.choice([5_000, 12_500, 25_000, 40_000, 99_000, 250_000])
    outcome = rng.choices(["paid", "failed", "canceled", "expired"], [60, 12, 14, 14])[0]
    payer = rng.choice(PAYERS)
    txid = "0x" + secrets.token_hex(32)

    async def create(session: AsyncSession) -> None:
        terms = await merchants.terms(session, merchant_id)
        params = PaymentIntentCreateParams(amount=amount, currency="sbtc")
        pi = await payments.create(session, cfg, caller, terms, params, Origin())
        state["pi"] = pi.id

    async def confirm(session: AsyncSession) -> None:
        target = await payments.confirm_target(session, caller, state["pi"])
        assert target is not None
        assert cfg.signing_key is not None
        contract = payments.signing_contract(cfg, caller.livemode, None, 100)
        assert contract is not None
        # what the chain says at height 100: not paused, this gateway's key, payee free
        facts = ContractFacts(
            paused=False,
            gateway_key=cfg.signing_key.public_key,
            previous_key=None,
            previous_key_until=0,
        )
        reading = payments.ChainReading(100, contract, facts, target[0], False)
        await payments.confirm(
            session, cfg, caller, state["pi"], PaymentIntentConfirmParams(), CHECKOUT,
            reading=reading,
        )  # fmt: skip

    async def seen(session: AsyncSession) -> None:
        pi = await lifecycle.lock_for_chain(session, state["pi"])
        assert pi is not None
        charge, _ = await charges.observed(session, pi, network="devnet", txid=txid, payer=payer)
        state["charge"] = charge.id
        lifecycle.processing(session, pi, txid=txid, charge_id=charge.id)

    async def mined(session: AsyncSession) -> None:
        pi = await lifecycle.lock_for_chain(session, state["pi"])
        charge = await charge_rows.lock_by_id(session, state["charge"])
        assert pi is not None
        assert charge is not None
        block = "0x" + secrets.token_hex(32)
        await charges.succeed(
            session, charge, amount=pi.amount, fee=pi.application_fee_amount, payer=payer,
            block_height=200, block_hash=block,
        )  # fmt: skip
        lifecycle.succeeded(
            session, pi, txid=txid, charge_id=charge.id, amount_received=pi.amount, payer=payer,
            block_height=200, block_hash=block,
        )  # fmt: skip

    async def aborted(session: AsyncSession) -> None:
        pi = await lifecycle.lock_for_chain(session, state["pi"])
        charge = await charge_rows.lock_by_id(session, state["charge"])
        assert pi is not None
        assert charge is not None
        code = rng.choice(["insufficient_funds", "intent_expired"])
        charges.fail(session, charge, failure_code=code, message="aborted")
        lifecycle.failed(session, pi, txid=txid, charge_id=charge.id, code=code, message="x")

    async def cancel(session: AsyncSession) -> None:
        reason = rng.choice(["requested_by_customer", "duplicate", "abandoned", None])
        params = PaymentIntentCancelParams(cancellation_reason=reason)
        await payments.cancel(session, caller, state["pi"], params, Origin())

    async def refund(session: AsyncSession) -> None:
        part = rng.choice([amount, amount // 2])
        params = RefundCreateParams(payment_intent=state["pi"], amount=part)
        created = await refunds.create(session, cfg, caller, params, Origin())
        state["refund"] = (created.id, part)

    async def refunded(session: AsyncSession) -> None:
        pi = await lifecycle.lock_for_chain(session, state["pi"])
        assert pi is not None
        await refunds.chain_refunded(session, pi, state["refund"][1], "0x" + secrets.token_hex(32))

    async def reorged(session: AsyncSession) -> None:
        charge = await charge_rows.lock_by_id(session, state["charge"])
        assert charge is not None
        charges.mark_reorged(session, charge, tip=300)

    async def remined(session: AsyncSession) -> None:
        charge = await charge_rows.lock_by_id(session, state["charge"])
        assert charge is not None
        block = "0x" + secrets.token_hex(32)
        charges.reincluded(session, charge, block_height=301, block_hash=block, tip=302)

    async def sweep(session: AsyncSession) -> None:
        await payments.expire_due(session, cfg=cfg)

    async def lost(session: AsyncSession) -> None:
        pi = await lifecycle.lock_for_chain(session, state["pi"])
        charge = await charge_rows.lock_by_id(session, state["charge"])
        assert pi is not None
        assert charge is not None
        await charges.reverse(session, charge, reason="not mined again")
        lifecycle.reversed_(session, pi, txid=txid, charge_id=charge.id, reason="lost")

    at(t, create)
    if outcome == "canceled":
        at(t + rng.randint(60, 1500), cancel)
        return
    if outcome in ("expired", "failed"):
        at(t + 1860, sweep)
    if outcome == "expired" and rng.random() < 0.5:
        return  # never confirmed: the sweep expires it
    at(t + 30, confirm)
    if outcome == "expired":
        return
    at(t + 90, seen)
    if outcome == "failed":
        at(t + 90 + rng.randint(10, 300), aborted)
        return
    paid = t + 90 + rng.randint(10, 900)
    at(paid, mined)
    later = paid + rng.randint(3600, 20 * DAY)
    roll = rng.random()
    if roll < 0.12 and later < end - 600:
        at(later, refund)
        at(later + 300, refunded)
    elif roll < 0.18 and later < end - 600:
        at(later, reorged)
        at(later + 60, lost if rng.random() < 0.6 else remined)
