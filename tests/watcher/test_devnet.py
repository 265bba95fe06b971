"""A payment from intent to succeeded, on the devnet, end to end.

The merchant creates and confirms the intent with the official `stripe` SDK; the customer's
wallet is played by `tests/js/pay_intent.mjs`, which builds the transaction with
`@stacks/transactions` from exactly what `next_action.sbtc_contract_call` gave (so our Python
builder and stacks.js are checked against each other), signs it with a devnet key and
broadcasts it. The watcher runs in the test, round by round, while the test mines blocks.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.chain import (
    DEVNET,
    Buffer,
    PrivateKey,
    StacksApiClient,
    StringAscii,
    UInt,
    deserialize,
    principal,
    verify_terms,
)
from sbtc_gateway.chainstate import repository as watch_repo
from sbtc_gateway.config import Settings
from sbtc_gateway.events.models import Event
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.onchain import terms_tuple
from sbtc_gateway.watcher.runner import Watcher
from tests.chain_fixtures import (
    CHAIN_MARKS,
    CONTRACT,
    DEADLINE,
    ChainEnv,
    _wait_tx,
    charge_of,
    events_for,
    fee_settings,
    inbox_for,
    ledger_of,
    new_intent,
    refund_is,
    run_until,
    sign_up_shop,
    status_is,
    target,
)
from tests.conftest import ServerThread

pytestmark = CHAIN_MARKS

# --- confirm ------------------------------------------------------------------------------------


async def test_confirm_fills_the_contract_call(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    api: StacksApiClient,
    settings: Settings,
    live_server: ServerThread,
) -> None:
    # the server's tip is cached for 2 s; the test compares with the tip now
    live_server.server.config.app.state.gateway.payments.tips.forget()
    tip = chain_env.tip()
    pi = new_intent(shop, chain_env)
    assert pi.status == "requires_action"
    call = pi.next_action["sbtc_contract_call"].to_dict()
    assert call["network"] == "devnet"
    assert call["contract_id"] == CONTRACT
    assert call["function_name"] == "pay-signed-intent"
    assert call["post_condition_mode"] == "deny"
    assert pi.next_action["redirect_to_url"]["url"].endswith(
        f"/checkout/{pi.id}#{pi.client_secret}"
    )
    expires = call["expires_at_block"]
    # 30 minutes at 5 s a block, from the tip at confirm time
    assert tip + 360 <= expires <= tip + 360 + 5
    args = [deserialize(bytes.fromhex(h.removeprefix("0x"))) for h in call["function_args"]]
    assert args[0] == principal(DEVNET.sbtc_token)
    assert args[1] == StringAscii(pi.id)
    assert args[2] == principal(chain_env.merchant)
    assert args[3] == UInt(25_000)
    assert args[4] == UInt(pi.application_fee_amount)
    assert args[5] == UInt(expires)
    assert isinstance(args[6], Buffer)
    assert len(call["function_args_repr"]) == 7
    gateway_key = PrivateKey.from_hex(settings.secret("gateway_signing_key"))
    terms = terms_tuple(
        intent_id=pi.id,
        merchant=chain_env.merchant,
        amount=25_000,
        fee=pi.application_fee_amount,
        expires_at=expires,
        chain_id=DEVNET.chain_id,
        contract_id=CONTRACT,
        token=DEVNET.sbtc_token,
    )
    assert verify_terms(terms, args[6].data, gateway_key.public_key)
    # …and the Clarity VM agrees
    terms_args = [args[1], args[2], args[3], args[4], args[5], args[0]]  # token: signed too
    verdict = await api.call_read_only(CONTRACT, "verify-intent-signature", [*terms_args, args[6]])
    assert repr(verdict) == "true"
    assert len(call["post_conditions"]) == 1


# --- the happy path -------------------------------------------------------------------------------


async def test_paid_by_a_stacks_js_wallet_succeeds(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await watcher.run_round()  # the cursor is at the tip before the payment
    pi = new_intent(shop, chain_env)
    call = pi.next_action["sbtc_contract_call"].to_dict()
    txid = chain_env.pay(call)
    # in the mempool: processing, never succeeded
    await run_until(
        watcher, chain_env, status_is(shop, pi.id, "processing"), mine=False, what="processing"
    )
    processing = shop.v1.payment_intents.retrieve(pi.id)
    assert processing.amount_received == 0
    assert processing["sbtc"]["txid"] == txid.removeprefix("0x")
    await run_until(watcher, chain_env, status_is(shop, pi.id, "succeeded"), what="succeeded")
    done = shop.v1.payment_intents.retrieve(pi.id)
    assert done.amount_received == 25_000
    assert done.next_action is None
    assert done["sbtc"]["block_height"] is not None
    types = await events_for(sessions, pi.id)
    assert types.count("payment_intent.succeeded") == 1
    assert types.index("payment_intent.processing") < types.index("payment_intent.succeeded")
    # more rounds change nothing (idempotent inbox)
    for _ in range(3):
        chain_env.mine()
        await watcher.run_round()
    assert (await events_for(sessions, pi.id)).count("payment_intent.succeeded") == 1
    inbox = await inbox_for(sessions, pi.id)
    assert [e.status for e in inbox if e.kind == "intent-paid"] == ["applied"]


# --- failures -------------------------------------------------------------------------------------


async def _failed_with(
    shop: stripe.StripeClient, watcher: Watcher, env: ChainEnv, pi_id: str
) -> dict[str, Any]:
    await run_until(watcher, env, status_is(shop, pi_id, "requires_payment_method"), what="failure")
    pi = shop.v1.payment_intents.retrieve(pi_id)
    assert pi.amount_received == 0
    assert pi.next_action is None
    error: dict[str, Any] = pi.last_payment_error.to_dict()
    return error


async def test_short_balance_is_rejected_on_chain_and_reported(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await watcher.run_round()
    pi = shop.v1.payment_intents.create(
        params={
            "amount": 25_000,
            "currency": "sbtc",
            "payment_method_data": {"type": "sbtc", "sbtc": {"payer": chain_env.poor_payer}},
        }
    )
    pi = shop.v1.payment_intents.confirm(pi.id)
    chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict(), key=chain_env.poor_payer_key)
    error = await _failed_with(shop, watcher, chain_env, pi.id)
    assert error["code"] == "insufficient_funds"
    assert "payment_intent.payment_failed" in await events_for(sessions, pi.id)
    # the customer may try again: confirm gives a fresh call
    again = shop.v1.payment_intents.confirm(pi.id)
    assert again.status == "requires_action"


async def test_underpayment_by_a_tampered_amount_is_rejected(
    shop: stripe.StripeClient, chain_env: ChainEnv, watcher: Watcher
) -> None:
    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    call = pi.next_action["sbtc_contract_call"].to_dict()
    args = list(call["function_args"])
    args[3] = UInt(20_000).to_hex()  # pay less than the signed amount
    chain_env.pay(call, override={"function_args": args, "post_condition_mode": "allow"})
    error = await _failed_with(shop, watcher, chain_env, pi.id)
    assert error["code"] == "bad_signature"


async def test_wrong_token_is_rejected_and_reported(
    shop: stripe.StripeClient, chain_env: ChainEnv, watcher: Watcher
) -> None:
    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    call = pi.next_action["sbtc_contract_call"].to_dict()
    args = list(call["function_args"])
    # a real contract that is not the configured token: the call lands and aborts (u103)
    args[0] = principal("SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-registry").to_hex()
    chain_env.pay(call, override={"function_args": args})
    error = await _failed_with(shop, watcher, chain_env, pi.id)
    assert error["code"] == "wrong_token"


async def test_paying_twice_credits_once(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
    api: StacksApiClient,
) -> None:
    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    call = pi.next_action["sbtc_contract_call"].to_dict()
    chain_env.pay(call)
    await run_until(watcher, chain_env, status_is(shop, pi.id, "succeeded"), what="succeeded")
    second = chain_env.pay(call)
    assert await _wait_tx(api, chain_env, second) == "abort_by_response"
    for _ in range(3):
        await watcher.run_round()
        chain_env.mine()
    done = shop.v1.payment_intents.retrieve(pi.id)
    assert done.status == "succeeded"
    assert done.amount_received == 25_000
    assert done.last_payment_error is None
    assert (await events_for(sessions, pi.id)).count("payment_intent.succeeded") == 1
    kinds = {(e.kind, e.status) for e in await inbox_for(sessions, pi.id)}
    assert ("payment-aborted", "ignored") in kinds


async def test_paying_after_the_expiry_height_fails(
    settings: Settings, chain_env: ChainEnv, watcher: Watcher, tmp_path: Path
) -> None:
    # one block of lifetime: the call expires at tip + 1
    quick = settings.model_copy(update={"stacks_block_time_seconds": 7 * 24 * 3600.0})
    with ServerThread(quick) as server:
        shop = sign_up_shop(server.url, chain_env.merchant)
        await watcher.run_round()
        pi = new_intent(shop, chain_env)
        call = pi.next_action["sbtc_contract_call"].to_dict()
        assert call["expires_at_block"] == chain_env.tip() + 1
        chain_env.mine()  # the expiry height is reached: no longer payable
        chain_env.pay(call)
        error = await _failed_with(shop, watcher, chain_env, pi.id)
        assert error["code"] == "payment_expired"


# --- restarts, missed blocks, outages ---------------------------------------------------------


async def test_watcher_restart_misses_nothing_and_doubles_nothing(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    api: StacksApiClient,
) -> None:
    await watcher.run_round()
    ids = []
    for _ in range(3):  # paid and mined while no watcher runs
        pi = new_intent(shop, chain_env)
        txid = chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict())
        await _wait_tx(api, chain_env, txid)
        ids.append(pi.id)
    restarted = Watcher(sessions, target(settings), api, poll_interval=0.1)
    await run_until(
        restarted,
        chain_env,
        lambda: all(status_is(shop, i, "succeeded")() for i in ids),
        mine=False,
        what="all succeeded",
    )
    again = Watcher(sessions, target(settings), api, poll_interval=0.1, reconcile_every=1)
    await again.run_round()
    await watcher.run_round()
    for pi_id in ids:
        assert (await events_for(sessions, pi_id)).count("payment_intent.succeeded") == 1


async def test_reconciliation_heals_a_missed_block(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
    api: StacksApiClient,
) -> None:
    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    txid = chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict())
    await _wait_tx(api, chain_env, txid)
    # the block never reaches the watcher (a lost push, a skipped poll): jump the cursor past it
    tip = chain_env.tip()
    block = await api.get_block(tip)
    async with sessions.begin() as session:
        await watch_repo.set_cursor(session, "devnet", tip, block.hash)
        await watch_repo.remember_block(session, "devnet", tip, block.hash)
    assert shop.v1.payment_intents.retrieve(pi.id).status == "requires_action"
    await run_until(
        watcher, chain_env, status_is(shop, pi.id, "succeeded"), mine=False, what="healed"
    )
    paid = [e for e in await inbox_for(sessions, pi.id) if e.kind == "intent-paid"]
    assert [(e.source, e.status) for e in paid] == [("reconcile", "applied")]


async def test_stacks_api_outage_fails_nothing(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from sbtc_gateway.chain import RetryPolicy
    from tests.conftest import free_port

    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict())
    async with StacksApiClient(
        f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(attempts=1), timeout=2
    ) as down:
        blind = Watcher(sessions, target(settings), down, poll_interval=0.1, reconcile_every=1)
        for _ in range(3):
            chain_env.mine()
            result = await blind.run_round()
            assert result.error is not None
    assert shop.v1.payment_intents.retrieve(pi.id).status == "requires_action"
    await run_until(watcher, chain_env, status_is(shop, pi.id, "succeeded"), what="succeeded")


# --- reorgs ---------------------------------------------------------------------------------------


async def test_a_reorg_of_a_block_with_a_payment_and_a_refund_sends_succeeded_once(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """ADR 0011: the payment stays `succeeded` (its charge waits, then records the new block),
    the refund goes `pending` and back; no second `succeeded`, no second ledger row."""
    await watcher.run_round()
    first = new_intent(shop, chain_env)
    chain_env.pay(first.next_action["sbtc_contract_call"].to_dict())
    await run_until(watcher, chain_env, status_is(shop, first.id, "succeeded"), what="first")
    refund = shop.v1.refunds.create(params={"payment_intent": first.id, "amount": 4_000})
    second = new_intent(shop, chain_env, 30_000)
    # the refund and a second payment in one block
    chain_env.pay(
        refund.next_action["sbtc_contract_call"].to_dict(), key=chain_env.merchant_key_hex
    )
    chain_env.pay(second.next_action["sbtc_contract_call"].to_dict())
    await run_until(
        watcher,
        chain_env,
        lambda: (
            status_is(shop, second.id, "succeeded")() and refund_is(shop, refund.id, "succeeded")()
        ),
        what="both in one block",
    )
    block = shop.v1.payment_intents.retrieve(second.id)["sbtc"]["block_height"]
    chain_env.reorg(chain_env.tip() - block + 1)
    result = await watcher.run_round()
    assert result.rolled_back == 2
    assert shop.v1.payment_intents.retrieve(second.id).status == "succeeded"
    waiting = charge_of(shop, second.id)
    assert waiting.status == "succeeded"
    sbtc = waiting.payment_method_details["sbtc"]
    assert (sbtc["block_hash"], sbtc["confirmations"]) == (None, 0)
    assert sbtc["reorged_at"] is not None
    assert shop.v1.refunds.retrieve(refund.id).status == "pending"
    await run_until(
        watcher,
        chain_env,
        lambda: (
            refund_is(shop, refund.id, "succeeded")()
            and charge_of(shop, second.id).payment_method_details["sbtc"]["confirmations"] > 0
        ),
        what="re-mined",
    )
    assert (await events_for(sessions, second.id)).count("payment_intent.succeeded") == 1
    assert "payment_intent.processing" not in await events_for(sessions, second.id)
    back = charge_of(shop, second.id).payment_method_details["sbtc"]
    assert back["reorged_at"] is None
    assert back["block_hash"] is not None
    fee = second.application_fee_amount
    assert ledger_of(shop, charge_of(shop, second.id).id) == [("charge", 30_000, fee, 30_000 - fee)]
    assert ledger_of(shop, refund.id) == [("refund", -4_000, 0, -4_000)]
    refund_events = await events_for(sessions, refund.id)
    assert refund_events.count("refund.updated") == 3  # succeeded, pending, succeeded
    assert charge_of(shop, first.id).amount_refunded == 4_000

    def intent_shows_refund() -> bool:  # (the API's intent cache may hold the older copy)
        return shop.v1.payment_intents.retrieve(first.id)["sbtc"]["amount_refunded"] == 4_000

    await run_until(watcher, chain_env, intent_shows_refund, mine=False, what="amount_refunded")


async def test_a_payment_lost_in_a_reorg_is_reversed_and_the_merchant_told(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    txid = chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict())
    await run_until(watcher, chain_env, status_is(shop, pi.id, "succeeded"), what="succeeded")
    lost = charge_of(shop, pi.id)
    block = shop.v1.payment_intents.retrieve(pi.id)["sbtc"]["block_height"]
    # the block is rolled back and the payment replaced in the new fork: it never comes back
    chain_env.reorg(chain_env.tip() - block + 1, drop=[txid])
    await run_until(
        watcher,
        chain_env,
        status_is(shop, pi.id, "requires_payment_method"),
        what="reversed",
    )
    reversed_pi = shop.v1.payment_intents.retrieve(pi.id)
    assert reversed_pi.last_payment_error.code == "payment_reversed"
    assert "did not move" in reversed_pi.last_payment_error.message
    assert reversed_pi.amount_received == 0
    types = await events_for(sessions, pi.id)
    assert types.count("payment_intent.succeeded") == 1
    assert types[-1] == "payment_intent.payment_reversed"
    charge = shop.v1.charges.retrieve(lost.id)
    assert (charge.status, charge.paid, charge.failure_code) == (
        "failed",
        False,
        "payment_reversed",
    )
    fee = pi.application_fee_amount
    assert ledger_of(shop, lost.id) == [
        ("charge", 25_000, fee, 25_000 - fee),
        ("payment_reversal", -25_000, -fee, -(25_000 - fee)),
    ]
    assert charge.failure_balance_transaction is not None
    # the customer pays again: a new charge, and a new `succeeded` after the reversal
    again = shop.v1.payment_intents.confirm(pi.id)
    chain_env.pay(again.next_action["sbtc_contract_call"].to_dict())
    await run_until(watcher, chain_env, status_is(shop, pi.id, "succeeded"), what="paid again")
    assert charge_of(shop, pi.id).id != lost.id
    types = await events_for(sessions, pi.id)
    assert types.count("payment_intent.succeeded") == 2
    assert types.index("payment_intent.payment_reversed") < len(types) - 1


async def test_a_payment_after_cancel_is_recorded_with_the_refund_owed(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """ADR 0011: money that lands for a canceled intent moved; it is `paid_late`, with the
    refund the merchant owes ready for the merchant's wallet."""
    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    call = pi.next_action["sbtc_contract_call"].to_dict()
    shop.v1.payment_intents.cancel(pi.id)
    txid = chain_env.pay(call)  # the signed call is still valid on chain (no operator here)
    await run_until(
        watcher,
        chain_env,
        lambda: shop.v1.payment_intents.retrieve(pi.id)["sbtc"]["late_payment"] is not None,
        what="paid late",
    )
    late = shop.v1.payment_intents.retrieve(pi.id)
    assert late.status == "canceled"
    assert late.amount_received == 25_000
    record = late["sbtc"]["late_payment"]
    assert record["txid"] == txid.removeprefix("0x")
    assert record["amount"] == 25_000
    assert record["payer"] == chain_env.payer
    charge = shop.v1.charges.retrieve(record["charge"])
    assert charge.status == "succeeded"
    assert charge.payment_method_details["sbtc"]["late"] is True
    owed = shop.v1.refunds.retrieve(record["refund"])
    assert (owed.status, owed.amount, owed.reason) == ("requires_action", 25_000, "paid_late")
    assert owed.charge == charge.id
    assert "payment_intent.paid_late" in await events_for(sessions, pi.id)
    # the merchant's wallet pays it back
    chain_env.pay(owed.next_action["sbtc_contract_call"].to_dict(), key=chain_env.merchant_key_hex)
    await run_until(watcher, chain_env, refund_is(shop, owed.id, "succeeded"), what="refunded")
    fee = pi.application_fee_amount
    assert ledger_of(shop, charge.id) == [("charge", 25_000, fee, 25_000 - fee)]
    assert ledger_of(shop, owed.id) == [("refund", -25_000, 0, -25_000)]
    assert shop.v1.charges.retrieve(charge.id).refunded is True


# --- refunds --------------------------------------------------------------------------------------


async def test_partial_then_full_refund_paid_by_the_merchant_wallet(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict())
    await run_until(watcher, chain_env, status_is(shop, pi.id, "succeeded"), what="succeeded")

    partial = shop.v1.refunds.create(
        params={"payment_intent": pi.id, "amount": 10_000, "reason": "requested_by_customer"}
    )
    assert partial.id.startswith("re_")
    assert partial.status == "requires_action"
    assert partial.amount == 10_000
    call = partial.next_action["sbtc_contract_call"].to_dict()
    assert call["function_name"] == "refund-payment"
    assert call["post_condition_mode"] == "deny"
    chain_env.pay(call, key=chain_env.merchant_key_hex)
    await run_until(watcher, chain_env, refund_is(shop, partial.id, "succeeded"), what="refund")

    full = shop.v1.refunds.create(params={"payment_intent": pi.id})  # the rest
    assert full.amount == 15_000
    chain_env.pay(full.next_action["sbtc_contract_call"].to_dict(), key=chain_env.merchant_key_hex)
    await run_until(watcher, chain_env, refund_is(shop, full.id, "succeeded"), what="refund 2")
    assert shop.v1.refunds.retrieve(full.id)["sbtc"]["txid"]

    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        shop.v1.refunds.create(params={"payment_intent": pi.id})
    assert excinfo.value.code == "charge_already_refunded"
    listed = shop.v1.refunds.list(params={"payment_intent": pi.id})
    assert {r.id for r in listed.data} == {partial.id, full.id}
    async with sessions() as session:
        rows = await session.scalars(
            select(Event.type).where(Event.object_id.in_([partial.id, full.id]))
        )
        types = list(rows)
    assert types.count("refund.created") == 2
    assert types.count("refund.updated") == 2


async def test_refund_of_an_unpaid_intent_is_refused(
    shop: stripe.StripeClient, chain_env: ChainEnv
) -> None:
    pi = new_intent(shop, chain_env)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        shop.v1.refunds.create(params={"payment_intent": pi.id})
    assert excinfo.value.code == "charge_not_refundable"
    assert excinfo.value.param == "payment_intent"


# --- settlements ----------------------------------------------------------------------------------


async def test_settlements_add_up_payments_fees_and_refunds(
    live_server: ServerThread,
    chain_env: ChainEnv,
    watcher: Watcher,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        signup = await http.post(
            "/v1/merchants",
            data={
                "business_name": "Settled Shop",
                "email": f"settle-{uuid.uuid4().hex[:10]}@example.com",
                "stacks_address": chain_env.merchant,
            },
        )
    secret = signup.json()["secret_key"]
    shop = stripe.StripeClient(secret, base_addresses={"api": live_server.url})
    await watcher.run_round()
    paid = []
    for amount in (25_000, 40_000):
        pi = new_intent(shop, chain_env, amount)
        chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict())
        paid.append(pi)
    await run_until(
        watcher,
        chain_env,
        lambda: all(status_is(shop, p.id, "succeeded")() for p in paid),
        what="both succeeded",
    )
    refund = shop.v1.refunds.create(params={"payment_intent": paid[0].id, "amount": 5_000})
    chain_env.pay(
        refund.next_action["sbtc_contract_call"].to_dict(), key=chain_env.merchant_key_hex
    )
    await run_until(watcher, chain_env, refund_is(shop, refund.id, "succeeded"), what="refund")
    fees = sum(p.application_fee_amount for p in paid)
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as http:
        body = (await http.get("/v1/settlements")).json()
        csv_text = (await http.get("/v1/settlements/export")).text
    assert len(body["data"]) == 1
    day = body["data"][0]
    assert day["object"] == "settlement"
    assert (day["count"], day["gross"], day["fees"], day["refunds"]) == (2, 65_000, fees, 5_000)
    assert day["net"] == 65_000 - fees - 5_000
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,period,period_start")
    header = lines[0].split(",")
    row = dict(zip(header, lines[1].split(","), strict=True))
    assert (row["count"], row["gross"], row["fees"], row["refunds"]) == (
        "2",
        "65000",
        str(fees),
        "5000",
    )
    assert row["net"] == str(65_000 - fees - 5_000)
    assert row["livemode"] == "false"
    assert row["period_start_date"].endswith("T00:00:00Z")


# --- fees -----------------------------------------------------------------------------------------


async def test_a_fee_reaches_the_recipient_in_the_payment_itself(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
    api: StacksApiClient,
) -> None:
    """ADR 0100: the customer's transaction pays the fee to the fee recipient; the intent's fee
    is `distributed` by that transaction and no operator call is queued for it."""
    from sbtc_gateway.operator import service as operator
    from sbtc_gateway.payments import fees

    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    txid = chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict())
    await run_until(watcher, chain_env, status_is(shop, pi.id, "succeeded"), what="succeeded")
    sbtc = shop.v1.payment_intents.retrieve(pi.id)["sbtc"]
    assert (sbtc["fee_status"], sbtc["fee_txid"]) == ("distributed", txid.removeprefix("0x"))
    async with sessions.begin() as session:
        await fees.enqueue_fee_calls(session, fee_settings(), livemode=False, batch=25)
    async with sessions() as session:
        assert await operator.calls_for_intent(session, pi.id) == []
    tx = await api.get_transaction(txid)
    recipient = chain_env.deployer.address(DEVNET.single_sig_version)
    moved = [(e.recipient, e.amount) for e in tx.events if e.event_type == "fungible_token_asset"]
    assert (recipient, pi.application_fee_amount) in moved


async def test_a_held_fee_is_distributed_by_the_operator_and_recorded(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
    api: StacksApiClient,
) -> None:
    """The fee recipient (on the devnet: the deployer) paying an intent: the contract holds the
    fee, and the operator's outbox pays it out with `distribute-fees`."""
    from sbtc_gateway.operator import service as operator
    from sbtc_gateway.operator import worker as outbox
    from sbtc_gateway.payments import fees

    await watcher.run_round()
    deployer = chain_env.deployer.address(DEVNET.single_sig_version)
    pi = new_intent(shop, chain_env, payer=deployer)
    chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict(), key=chain_env.deployer_key_hex)
    await run_until(watcher, chain_env, status_is(shop, pi.id, "succeeded"), what="succeeded")
    # the operator (on the devnet: the deployer) sends the held fees out through its outbox, in
    # batches; the intent shows the call as pending once it is signed
    account = outbox.OperatorAccount(DEVNET, chain_env.deployer)
    sent = 0
    for _ in range(20):
        async with sessions.begin() as session:
            await fees.enqueue_fee_calls(session, fee_settings(), livemode=False, batch=25)
        result = await outbox.run_once(
            sessions, api, account, worker_id="fee-test", on_change=fees.record_call
        )
        sent += result.broadcast
        async with sessions() as session:
            row = await session.get(PaymentIntent, pi.id)
            if row is not None and row.fee_status is not None:
                break
    assert sent >= 1
    assert row is not None
    assert row.fee_status == "pending"

    def distributed() -> bool:
        return shop.v1.payment_intents.retrieve(pi.id)["sbtc"]["fee_status"] == "distributed"

    await run_until(watcher, chain_env, distributed, what="fee distributed")
    kinds = {(e.kind, e.status) for e in await inbox_for(sessions, pi.id)}
    assert ("fees-distributed", "applied") in kinds
    record = await api.call_read_only(CONTRACT, "get-signed-intent", [StringAscii(pi.id)])
    assert "(fee-distributed true)" in repr(record)
    assert "(fee-held true)" in repr(record)
    async with sessions() as session:
        (call,) = await operator.calls_for_intent(session, pi.id)
    assert (call.function, call.status) == ("distribute-fees", "confirmed")
    assert shop.v1.payment_intents.retrieve(pi.id)["sbtc"]["fee_txid"] == call.txid


# --- pushes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "path"), [("chainhook", "/chain/chainhook"), ("event_observer", "/chain")]
)
async def test_a_devnet_push_wakes_the_watcher(
    settings: Settings,
    chain_env: ChainEnv,
    sessions: async_sessionmaker[AsyncSession],
    api: StacksApiClient,
    fmt: str,
    path: str,
) -> None:
    """The watcher polls only every 10 minutes here: the push alone brings the payment in."""
    pushed = settings.model_copy(update={"chain_push_token": SecretStr("e2e-push")})
    with ServerThread(pushed) as server:
        shop = sign_up_shop(server.url, chain_env.merchant)
        watcher = Watcher(sessions, target(settings), api, poll_interval=600, reconcile_every=10**6)
        await watcher.run_round()
        loop = asyncio.get_running_loop()

        async def on_push(message: bytes) -> None:  # runs on the server's loop
            loop.call_soon_threadsafe(watcher.wake.set)

        server.server.config.app.state.gateway.shared.pubsub.subscribe("chain-wake", on_push)
        async with httpx.AsyncClient(base_url=chain_env.url) as dn:
            observer = (
                await dn.post(
                    "/devnet/observers",
                    json={"url": server.url + path, "format": fmt, "token": "e2e-push"},
                )
            ).json()
            stop = asyncio.Event()
            task = asyncio.create_task(watcher.run(stop))
            try:
                await asyncio.sleep(0.2)  # the task's first round, then it waits for a push
                pi = new_intent(shop, chain_env)
                chain_env.pay(pi.next_action["sbtc_contract_call"].to_dict())
                await dn.post("/devnet/mine", json={"blocks": 1})
                t0 = time.monotonic()
                while time.monotonic() - t0 < DEADLINE:  # the database: no API cache
                    async with sessions() as session:
                        row = await session.get(PaymentIntent, pi.id)
                        if row is not None and row.status == "succeeded":
                            break
                    await asyncio.sleep(0.02)
                took = time.monotonic() - t0
                print(f"push ({fmt}): block mined → succeeded in {took * 1000:.0f} ms")
                assert took < DEADLINE
            finally:
                stop.set()
                await task
                await dn.delete(f"/devnet/observers/{observer.get('id')}")


async def test_a_replaced_transaction_is_noticed(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
    api: StacksApiClient,
) -> None:
    await watcher.run_round()
    pi = new_intent(shop, chain_env)
    call = pi.next_action["sbtc_contract_call"].to_dict()
    nonce = (await api.get_nonces(chain_env.payer)).possible_next_nonce
    first = chain_env.pay(call, nonce=nonce)
    await run_until(
        watcher, chain_env, status_is(shop, pi.id, "processing"), mine=False, what="processing"
    )
    second = chain_env.pay(call, nonce=nonce, fee=20_000)  # same nonce, higher fee: replaces
    assert (await api.get_transaction(first)).status.value == "dropped_replace_by_fee"
    # the drop is noticed (back to requires_action, transaction_dropped); the replacement,
    # still in the mempool, makes it processing again; once mined it succeeds, once
    for _ in range(2):
        await watcher.run_round()
    await run_until(watcher, chain_env, status_is(shop, pi.id, "succeeded"), what="replacement")
    types = await events_for(sessions, pi.id)
    tail = types[types.index("payment_intent.processing") :]
    assert tail == [
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.processing",
        "payment_intent.succeeded",
    ]
    done = shop.v1.payment_intents.retrieve(pi.id)
    assert done["sbtc"]["txid"] == second.removeprefix("0x")
    assert done.amount_received == 25_000
    assert (await events_for(sessions, pi.id)).count("payment_intent.succeeded") == 1
