"""Charges, refunds and balance transactions through the official Stripe SDKs (Python and
Node), on a payment really made on the devnet: the SDKs parse our objects as their own."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess

import httpx
import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.watcher.runner import Watcher
from tests.chain_fixtures import CHAIN_MARKS as chain_marks
from tests.chain_fixtures import JS_DIR, ChainEnv, new_intent, refund_is, run_until, status_is
from tests.conftest import ServerThread

pytestmark = chain_marks


async def _paid_with_a_refund(
    shop: stripe.StripeClient, env: ChainEnv, watcher: Watcher
) -> tuple[stripe.PaymentIntent, stripe.Refund]:
    await watcher.run_round()
    pi = new_intent(shop, env, 40_000)
    env.pay(pi.next_action["sbtc_contract_call"].to_dict())
    await run_until(watcher, env, status_is(shop, pi.id, "succeeded"), what="succeeded")
    refund = shop.v1.refunds.create(params={"payment_intent": pi.id, "amount": 15_000})
    env.pay(refund.next_action["sbtc_contract_call"].to_dict(), key=env.merchant_key_hex)
    await run_until(watcher, env, refund_is(shop, refund.id, "succeeded"), what="refunded")
    return shop.v1.payment_intents.retrieve(pi.id), shop.v1.refunds.retrieve(refund.id)


async def test_python_sdk_reads_charges_and_the_ledger(
    shop: stripe.StripeClient,
    chain_env: ChainEnv,
    watcher: Watcher,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pi, refund = await _paid_with_a_refund(shop, chain_env, watcher)
    assert isinstance(pi.latest_charge, str)
    charge = shop.v1.charges.retrieve(pi.latest_charge)
    assert isinstance(charge, stripe.Charge)
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert charge.payment_intent == pi.id
    assert (charge.amount_captured, charge.amount_refunded) == (40_000, 15_000)
    assert charge.payment_method_details is not None
    sbtc = charge.payment_method_details["sbtc"]
    assert sbtc["payer"] == chain_env.payer
    assert sbtc["txid"] == pi["sbtc"]["txid"]
    assert sbtc["block_height"] == pi["sbtc"]["block_height"]
    assert charge.refunds is not None
    assert [r.id for r in charge.refunds.data] == [refund.id]
    assert refund.charge == charge.id
    listed = shop.v1.charges.list(params={"payment_intent": pi.id})
    assert [c.id for c in listed.data] == [charge.id]
    found = shop.v1.charges.search(params={"query": f"payment_intent:'{pi.id}'"})
    assert [c.id for c in found.data] == [charge.id]

    assert isinstance(charge.balance_transaction, str)
    txn = shop.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert isinstance(txn, stripe.BalanceTransaction)
    fee = pi.application_fee_amount
    assert (txn.type, txn.amount, txn.fee, txn.net) == ("charge", 40_000, fee, 40_000 - fee)
    assert txn.source == charge.id
    assert txn.status == "available"
    assert txn.fee_details[0].type == "application_fee"
    assert isinstance(refund.balance_transaction, str)
    back = shop.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert (back.type, back.amount, back.net) == ("refund", -15_000, -15_000)
    refunds = shop.v1.balance_transactions.list(params={"type": "refund", "limit": 100})
    assert refund.balance_transaction in [t.id for t in refunds.data]
    assert pi["sbtc"]["payer"] == chain_env.payer

    def intent_shows_refund() -> bool:  # (the API's intent cache may hold the older copy)
        return shop.v1.payment_intents.retrieve(pi.id)["sbtc"]["amount_refunded"] == 15_000

    await run_until(watcher, chain_env, intent_shows_refund, mine=False, what="amount_refunded")


def _sign_up(server: ServerThread, payout: str) -> str:
    signup = httpx.post(
        f"{server.url}/v1/merchants",
        data={
            "business_name": "Node Money Shop",
            "email": f"node-money-{os.urandom(5).hex()}@example.com",
            "stacks_address": payout,
        },
    )
    key: str = signup.json()["secret_key"]
    return key


def _run_node(server: ServerThread, key: str, intent_id: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node is not None
    env = {**os.environ, "GATEWAY_URL": server.url, "SECRET_KEY": key, "PAID_INTENT": intent_id}
    return subprocess.run(
        [node, "stripe_money.mjs"], cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=120
    )


async def test_node_sdk_reads_charges_and_the_ledger(
    live_server: ServerThread, chain_env: ChainEnv, watcher: Watcher
) -> None:
    key = await asyncio.to_thread(_sign_up, live_server, chain_env.merchant)
    node_shop = stripe.StripeClient(key, base_addresses={"api": live_server.url})
    pi, _ = await _paid_with_a_refund(node_shop, chain_env, watcher)
    result = await asyncio.to_thread(_run_node, live_server, key, pi.id)
    assert result.returncode == 0, result.stderr + result.stdout
    assert json.loads(result.stdout.strip().splitlines()[-1])["ok"] is True
