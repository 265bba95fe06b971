"""Receipt e-mails from the events outbox, on both databases, against a real SMTP server
(aiosmtpd) the test starts: one mail per succeeded event with a `receipt_email`, none without,
never twice, and a server that is down is retried later (the row stays pending)."""

from __future__ import annotations

import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from sbtc_gateway.core.origin import SYSTEM
from sbtc_gateway.events import service as events
from sbtc_gateway.receipts.models import ReceiptEmail
from sbtc_gateway.runtime.worker import send_receipts
from tests.conftest import free_port, make_settings, sign_up


class Sink:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)


def succeeded(pi_id: str, merchant_id: str, email: str | None, created: int) -> dict[str, Any]:
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": 42_000,
        "amount_received": 42_000,
        "description": "Tea",
        "receipt_email": email,
        "status": "succeeded",
        "sbtc": {"txid": "ab" * 32, "payer": "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG"},
    }


async def record(gateway: Any, merchant_id: str, obj: dict[str, Any]) -> None:
    async with gateway.sessions.begin() as session:
        events.record(
            session,
            merchant_id=merchant_id,
            livemode=False,
            type="payment_intent.succeeded",
            obj=obj,
            origin=SYSTEM,
        )


async def test_one_receipt_per_succeeded_payment_with_an_address(
    database_url: str, tmp_path: Path, make_instance: Any
) -> None:
    sink = Sink()
    sink.controller.start()
    try:
        settings = make_settings(
            database_url,
            tmp_path,
            smtp_url=SecretStr(f"smtp://127.0.0.1:{sink.port}"),
            smtp_from="shop@example.com",
            public_url="https://pay.example",
        )
        gw = await make_instance(settings)
        shop = await sign_up(gw.client, business_name="Tea Shop")
        now = int(time.time())
        stamp = time.time_ns()
        with_email = succeeded(f"pi_A{stamp}", shop.id, f"a{stamp}@example.com", now)
        without = succeeded(f"pi_B{stamp}", shop.id, None, now)
        await record(gw.gateway, shop.id, with_email)
        await record(gw.gateway, shop.id, without)

        assert await send_receipts(gw.gateway) >= 1
        mine = [m for m in sink.messages if m["To"] == with_email["receipt_email"]]
        assert len(mine) == 1
        mail = mine[0]
        assert mail["From"] == "shop@example.com"
        assert mail["Subject"] == "Your receipt from Tea Shop"
        text = mail.get_content()
        assert "0.00042000 sBTC (42,000 sats)" in text
        assert "For: Tea" in text
        secret = gw.gateway.payments.client_secret(with_email["id"])
        assert f"Receipt: https://pay.example/receipts/{with_email['id']}#{secret}" in text

        # never twice, and the intent without an address is recorded as skipped
        await send_receipts(gw.gateway)
        assert len([m for m in sink.messages if m["To"] == with_email["receipt_email"]]) == 1
        async with gw.gateway.sessions() as session:
            rows = {
                r.intent_id: r
                for r in await session.scalars(
                    select(ReceiptEmail).where(ReceiptEmail.merchant_id == shop.id)
                )
            }
        assert rows[with_email["id"]].status == "sent"
        assert rows[without["id"]].status == "skipped"
    finally:
        sink.controller.stop()


async def test_an_smtp_server_that_is_down_is_retried_later(
    database_url: str, tmp_path: Path, make_instance: Any
) -> None:
    settings = make_settings(
        database_url, tmp_path, smtp_url=SecretStr(f"smtp://127.0.0.1:{free_port()}")
    )
    gw = await make_instance(settings)
    shop = await sign_up(gw.client)
    stamp = time.time_ns()
    obj = succeeded(f"pi_C{stamp}", shop.id, f"c{stamp}@example.com", int(time.time()))
    await record(gw.gateway, shop.id, obj)
    assert await send_receipts(gw.gateway) == 0
    async with gw.gateway.sessions() as session:
        row = await session.scalar(select(ReceiptEmail).where(ReceiptEmail.intent_id == obj["id"]))
    assert row is not None
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.last_error
    assert "Connection" in row.last_error
    assert row.next_attempt_at > int(time.time())
    assert row.lease_until is None
