"""Operator accounts (tokens shown once, kept as HMAC digests) and the platform's health.
Takes a session, never commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chainstate.models import ChainCursor
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.platform.models import PlatformOperator
from sbtc_gateway.webhooks.models import WebhookDelivery

PREFIX = "sbtcop_"


def digest(key_secret: str, token: str) -> str:
    return hmac.new(key_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def parse(token: str) -> str | None:
    """The lookup part of an operator token (`sbtcop_<lookup>_<secret>`), or None."""
    if not token.startswith(PREFIX):
        return None
    lookup, _, rest = token[len(PREFIX) :].partition("_")
    return lookup if len(lookup) == 12 and rest else None


async def create_operator(
    session: AsyncSession, key_secret: str, email: str, name: str | None
) -> tuple[PlatformOperator, str]:
    lookup = secrets.token_hex(6)
    token = f"{PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    operator = PlatformOperator(
        id=new_id("opr"), email=email.strip().lower(), name=name, token_lookup=lookup,
        token_digest=digest(key_secret, token), created=int(time.time()),
    )  # fmt: skip
    session.add(operator)
    await session.flush()
    return operator, token


async def authenticate(
    session: AsyncSession, key_secret: str, token: str
) -> PlatformOperator | None:
    lookup = parse(token)
    if lookup is None:
        return None
    candidate = digest(key_secret, token)
    rows = (
        await session.scalars(
            select(PlatformOperator).where(PlatformOperator.token_lookup == lookup)
        )
    ).all()
    for operator in rows:
        if hmac.compare_digest(operator.token_digest, candidate) and operator.disabled_at is None:
            return operator
    return None


async def disable(session: AsyncSession, email: str) -> bool:
    operator = await session.scalar(
        select(PlatformOperator).where(PlatformOperator.email == email.strip().lower())
    )
    if operator is None:
        return False
    operator.disabled_at = int(time.time())
    return True


async def list_operators(session: AsyncSession) -> list[PlatformOperator]:
    return list(
        (await session.scalars(select(PlatformOperator).order_by(PlatformOperator.id))).all()
    )


async def backlogs(session: AsyncSession) -> dict[str, Any]:
    """What the workers and the watcher still have to do (platform health)."""
    from sbtc_gateway.analytics import repository as analytics
    from sbtc_gateway.reporting import repository as reports

    now = int(time.time())
    webhooks = (
        await session.execute(
            select(func.count(), func.min(WebhookDelivery.next_attempt_ms)).where(
                WebhookDelivery.status == "pending"
            )
        )
    ).one()
    pending, oldest = await analytics.pending_backlog(session)
    cursors = (await session.execute(select(ChainCursor.network, ChainCursor.height))).all()
    return {
        "webhooks": {
            "pending": int(webhooks[0] or 0),
            "oldest_due_seconds": max(0, now - int(webhooks[1]) // 1000) if webhooks[1] else 0,
        },
        "analytics": {
            "pending_events": pending,
            "oldest_seconds": max(0, now - oldest) if oldest is not None else 0,
        },
        "reports": {"pending": await reports.pending_count(session)},
        "watcher": {str(n): int(h) for n, h in cursors},
    }
