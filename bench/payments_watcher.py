"""Benchmark: from the block that contains a payment to the PaymentIntent being `succeeded`.

Starts its own devnet (on-demand mining) and an in-process gateway on a fresh SQLite (or
PostgreSQL) database, sets the contract up (gateway key, merchant), then:

1. latency (polling): one payment at a time — broadcast, mine the block (t0), and measure until
   the intent reads `succeeded` in the database, with the watcher looping at `--poll` seconds;
2. absorption: `--batch` payments mined into ONE block, and how long one watcher round takes to
   take them all to `succeeded` (payments per second per block).

Push latency is measured by `tests/watcher/test_devnet.py -k push` (it needs a real HTTP server
the devnet can post to); run it with `-s` to see the figures.
Payments are signed by the Python builder from `next_action` (the E2E tests pay with
@stacks/transactions; the bench wants many payments quickly).

    python -m bench.payments_watcher          # SQLite, 10 payments, poll 0.5 s, batch 50
    python -m bench.payments_watcher --poll 2 --latency-runs 5 --batch 100
    python -m bench.payments_watcher --database postgresql+asyncpg://postgres@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from sbtc_gateway.chain import DEVNET, PrivateKey, StacksApiClient, deserialize, make_contract_call
from sbtc_gateway.chain.postconditions import PostConditionMode, deserialize_post_condition
from sbtc_gateway.config import Settings
from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.devnet import DevnetProcess
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.runtime.app import create_app
from sbtc_gateway.watcher import setup as chain_setup
from sbtc_gateway.watcher.runner import Watcher
from sbtc_gateway.watcher.target import WatchTarget

CONTRACT = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.sbtc-payment-gateway"


def _tx_from_call(call: dict[str, Any], key: PrivateKey, nonce: int) -> bytes:
    args = [deserialize(bytes.fromhex(h.removeprefix("0x"))) for h in call["function_args"]]
    pcs = [
        deserialize_post_condition(bytes.fromhex(h.removeprefix("0x")))
        for h in call["post_conditions"]
    ]
    tx = make_contract_call(
        DEVNET, key, call["contract_id"], call["function_name"], args,
        nonce=nonce, fee=10_000, post_conditions=pcs, post_condition_mode=PostConditionMode.DENY,
    )  # fmt: skip
    return tx.serialize()


async def main(args: argparse.Namespace) -> None:
    from sbtc_gateway.core.logging import configure_logging

    configure_logging("WARNING", json=False)
    devnet = DevnetProcess(port=0, block_time_ms=0, burn_block_time_ms=0).start()
    data = Path(tempfile.mkdtemp(prefix="bench-pay-"))
    db = args.database or f"sqlite+aiosqlite:///{data / 'gateway.db'}"
    try:
        await upgrade(db)
        settings = Settings(
            database_url=db, data_dir=data, api_key_secret=SecretStr("b" * 40),
            gateway_signing_key=SecretStr("22" * 32), test_stacks_api_url=devnet.url,
            rate_limit_enabled=False, log_json=False, log_level="WARNING", intent_cache_seconds=0,
        )  # fmt: skip
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as gw,
            httpx.AsyncClient(base_url=devnet.url, timeout=60) as dn,
            StacksApiClient(devnet.url, timeout=60) as api,
        ):
            await _run(args, app, gw, dn, api, devnet.url)
    finally:
        devnet.stop()


async def _run(
    args: argparse.Namespace,
    app: Any,
    gw: httpx.AsyncClient,
    dn: httpx.AsyncClient,
    api: StacksApiClient,
    url: str,
) -> None:
    state = app.state.gateway
    accounts = {a["name"]: a for a in (await dn.get("/devnet/accounts")).json()}
    deployer = PrivateKey.from_hex(accounts["deployer"]["private_key"])
    payers = [PrivateKey.from_hex(accounts[f"wallet_{i}"]["private_key"]) for i in range(1, 8)]
    for p in payers:
        addr = p.address(DEVNET.single_sig_version)
        await dn.post("/devnet/faucet", json={"address": addr, "stx": 10**11, "sbtc": 10**11})
    gateway_key = PrivateKey.from_hex(state.settings.secret("gateway_signing_key"))
    # the only set-up on chain: the merchant (wallet_8) needs none
    await chain_setup.set_gateway_key(api, DEVNET, CONTRACT, deployer, gateway_key.public_key)
    await dn.post("/devnet/mine", json={"blocks": 1})
    body = (
        await gw.post(
            "/v1/merchants",
            data={"business_name": "Bench", "email": "bench@example.com",
                  "stacks_address": accounts["wallet_8"]["address"]},
        )
    ).json()  # fmt: skip
    headers = {"Authorization": f"Bearer {body['secret_key']}"}
    nonces = {i: 0 for i in range(len(payers))}

    async def intent() -> dict[str, Any]:
        pi = (await gw.post("/v1/payment_intents", data={"amount": 25_000, "currency": "sbtc"},
                            headers=headers)).json()  # fmt: skip
        pi = (await gw.post(f"/v1/payment_intents/{pi['id']}/confirm", headers=headers)).json()
        call: dict[str, Any] = pi["next_action"]["sbtc_contract_call"]
        return {"id": pi["id"], "call": call}

    async def pay(item: dict[str, Any], n: int) -> None:
        i = n % len(payers)
        raw = _tx_from_call(item["call"], payers[i], nonces[i])
        nonces[i] += 1
        await api.broadcast(raw)

    async def status(pi_id: str) -> str:
        async with state.sessions() as session:
            pi = await session.get(PaymentIntent, pi_id)
            return pi.status if pi else "?"

    target = WatchTarget(DEVNET, CONTRACT, livemode=False)
    watcher = Watcher(state.sessions, target, api, after_commit=state.after_commit,
                      poll_interval=args.poll, reconcile_every=10_000)  # fmt: skip
    await watcher.run_round()

    # 1. latency with the watcher looping
    stop = asyncio.Event()
    loop_task = asyncio.create_task(watcher.run(stop))
    latencies = []
    for n in range(args.latency_runs):
        item = await intent()
        await pay(item, n)
        await asyncio.sleep(args.poll * 1.5)  # let the mempool sighting happen first
        t0 = time.perf_counter()
        await dn.post("/devnet/mine", json={"blocks": 1})
        while await status(item["id"]) != "succeeded":  # noqa: ASYNC110 - polls the database
            await asyncio.sleep(0.01)
        latencies.append(time.perf_counter() - t0)
    stop.set()
    await loop_task

    # 2. many payments in one block, one watcher round
    items = [await intent() for _ in range(args.batch)]
    for n, item in enumerate(items):
        await pay(item, n)
    await watcher.run_round()  # mempool sightings: processing
    await dn.post("/devnet/mine", json={"blocks": 1})
    t0 = time.perf_counter()
    result = await watcher.run_round()
    absorb = time.perf_counter() - t0
    done = [await status(i["id"]) for i in items]

    lat_ms = sorted(x * 1000 for x in latencies)
    print(f"database: {state.settings.resolved_database_url.split(':')[0]}, poll {args.poll} s")
    print(
        f"block → succeeded (polling), {len(lat_ms)} payments: "
        f"p50 {statistics.median(lat_ms):.0f} ms, max {lat_ms[-1]:.0f} ms, "
        f"min {lat_ms[0]:.0f} ms"
    )
    print(
        f"one block with {args.batch} payments: {done.count('succeeded')} succeeded in one round "
        f"of {absorb * 1000:.0f} ms ({args.batch / absorb:.0f} payments/s; round: {result})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None)
    parser.add_argument("--poll", type=float, default=0.5)
    parser.add_argument("--latency-runs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
