"""The watcher's money rules (`watcher/service.py`), without a wallet: crafted chain records."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain import (
    DEVNET,
    Bool,
    StringAscii,
    TransactionInfo,
    Tuple,
    UInt,
    principal,
)
from sbtc_gateway.chainstate import repository
from sbtc_gateway.watcher import reorgs
from sbtc_gateway.watcher import service as watch
from sbtc_gateway.watcher.target import WatchTarget
from tests.conftest import TEST_ADDRESS, Merchant

CONTRACT = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.sbtc-payment-gateway"
PAYER = "ST2NEB84ASENDXKYGJPQW86YXQCEFEX2ZQPG87ND"
TARGET = WatchTarget(network=DEVNET, contract_id=CONTRACT, livemode=False)
needs_devnet = pytest.mark.skipif(
    not os.environ.get("STACKS_DEVNET_URL"), reason="confirm reads the devnet's tip"
)


def paid_tx(
    intent_id: str,
    *,
    amount: int,
    fee: int,
    merchant: str,
    height: int,
    function: str = "pay-signed-intent",
) -> TransactionInfo:
    event = Tuple(
        {
            "event": StringAscii("intent-paid"),
            "signed": Bool(function == "pay-signed-intent"),
            "intent-id": StringAscii(intent_id),
            "merchant": principal(merchant),
            "payer": principal(PAYER),
            "amount": UInt(amount),
            "fee": UInt(fee),
            "merchant-amount": UInt(amount - fee),
            "token": principal(DEVNET.sbtc_token),
        }
    )
    data: dict[str, Any] = {
        "tx_id": "0x" + os.urandom(32).hex(),
        "tx_status": "success",
        "tx_type": "contract_call",
        "block_height": height,
        "block_hash": "0x" + os.urandom(32).hex(),
        "canonical": True,
        "contract_call": {
            "contract_id": CONTRACT,
            "function_name": function,
            "function_args": [],
        },
        "event_count": 1,
        "events": [
            {
                "event_index": 0,
                "event_type": "smart_contract_log",
                "contract_log": {
                    "contract_id": CONTRACT,
                    "topic": "print",
                    "value": {"hex": event.to_hex(), "repr": repr(event)},
                },
            }
        ],
    }
    return TransactionInfo.from_json(data)


class Sessions:
    """The app's own sessions, with its after-commit hook (so its intent cache is invalidated)."""

    def __init__(self, app: Any) -> None:
        self.gw = app.state.gateway

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        async with self.gw.sessions.begin() as session:
            yield session
        await self.gw.after_commit(session)

    def __call__(self) -> AsyncSession:
        session: AsyncSession = self.gw.sessions()
        return session


@pytest.fixture
def sessions(app: Any) -> Sessions:
    return Sessions(app)


async def _confirmed(merchant: Merchant) -> dict[str, Any]:
    pi = await merchant.create_intent(25_000)
    response = await merchant.post(f"/v1/payment_intents/{pi['id']}/confirm", {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@needs_devnet
@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", 20_000), ("fee", 0), ("merchant", "ST2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXH4HF6PF")],
)
async def test_a_payment_that_does_not_match_is_reported_never_credited(
    merchant: Merchant,
    sessions: Sessions,
    field: str,
    value: Any,
) -> None:
    pi = await _confirmed(merchant)
    terms = {"amount": 25_000, "fee": pi["application_fee_amount"], "merchant": TEST_ADDRESS}
    terms[field] = value
    tx = paid_tx(pi["id"], height=10, **terms)
    async with sessions.begin() as session:
        assert await watch.handle_mined(session, TARGET, tx, tip_height=10, source="poll") == 1
    async with sessions.begin() as session:  # seen again: nothing new
        assert await watch.handle_mined(session, TARGET, tx, tip_height=11, source="poll") == 0
    after = (await merchant.get(f"/v1/payment_intents/{pi['id']}")).json()
    assert after["status"] == "requires_action"
    assert after["amount_received"] == 0
    assert after["last_payment_error"]["code"] == "payment_mismatch"
    assert field in after["last_payment_error"]["message"]
    async with sessions() as session:
        entries = await repository.inbox_for(session, "devnet", pi["id"])
    assert [(e.status, e.kind) for e in entries] == [("mismatch", "intent-paid")]
    events = (await merchant.get("/v1/events", {"type": "payment_intent.payment_failed"})).json()
    assert any(e["data"]["object"]["id"] == pi["id"] for e in events["data"])


@needs_devnet
async def test_a_merchants_own_on_chain_intent_of_the_same_id_is_not_the_gateways(
    merchant: Merchant, sessions: Sessions
) -> None:
    """A merchant's own intents (`process-payment`) live in another namespace of the contract
    than the gateway's signed ones: one that reuses a gateway intent's id, even with its very
    terms, pays that merchant intent, never the gateway's (which stays payable)."""
    pi = await _confirmed(merchant)
    tx = paid_tx(
        pi["id"],
        amount=25_000,
        fee=pi["application_fee_amount"],
        merchant=TEST_ADDRESS,
        height=12,
        function="process-payment",
    )
    async with sessions.begin() as session:
        assert await watch.handle_mined(session, TARGET, tx, tip_height=12, source="poll") == 0
    after = (await merchant.get(f"/v1/payment_intents/{pi['id']}")).json()
    assert (after["status"], after["amount_received"]) == ("requires_action", 0)
    async with sessions() as session:
        assert await repository.inbox_for(session, "devnet", pi["id"]) == []


@needs_devnet
async def test_a_large_payment_waits_for_confirmations(
    merchant: Merchant, sessions: Sessions
) -> None:
    target = WatchTarget(
        DEVNET, CONTRACT, False, large_payment_sats=20_000, large_payment_confirmations=3
    )
    pi = await _confirmed(merchant)
    tx = paid_tx(
        pi["id"], amount=25_000, fee=pi["application_fee_amount"], merchant=TEST_ADDRESS, height=50
    )
    async with sessions.begin() as session:
        await watch.handle_mined(session, target, tx, tip_height=50, source="poll")
    assert (await merchant.get(f"/v1/payment_intents/{pi['id']}")).json()["status"] == "processing"
    async with sessions.begin() as session:
        assert await reorgs.promote_deep(session, target, 51) == 0
    async with sessions.begin() as session:
        assert await reorgs.promote_deep(session, target, 52) == 1
    done = (await merchant.get(f"/v1/payment_intents/{pi['id']}")).json()
    assert done["status"] == "succeeded"
    assert done["amount_received"] == 25_000
