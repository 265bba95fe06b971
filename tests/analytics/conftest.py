"""The generated history, made once per database and folded into the analytics tables."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest_asyncio

from sbtc_gateway.runtime.worker import consume_analytics
from tests.analytics.history import DAY, Generated, generate
from tests.conftest import Merchant, sign_up

DAYS = 75


@pytest_asyncio.fixture(scope="session")
async def history(app: Any, client: httpx.AsyncClient) -> tuple[Generated, list[Merchant]]:
    gw = app.state.gateway
    shops = [await sign_up(client, business_name=f"History {i}") for i in range(3)]
    end = int(time.time()) // DAY * DAY - DAY
    made = await generate(gw, [m.id for m in shops], days=DAYS, end=end)
    await consume_analytics(gw)
    return made, shops
