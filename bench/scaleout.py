"""Benchmark: PaymentIntent creation through nginx with N API replicas against one replica.

Each setup is started by `scripts/scaleout.py` (separate `sbtc-gateway api` processes behind
nginx on one fresh PostgreSQL database and one Redis; no watchers), then driven with wrk exactly
as `bench.create_intents` drives one server: `POST /v1/payment_intents` with a secret key and a
unique Idempotency-Key per request (same Lua script). Afterwards it checks that every success
wrote one intent and one event, and prints req/s, p50/p90/p99, the replicas' and nginx's memory,
and the load average.

    python -m bench.scaleout                            # 1 vs 3 replicas, 32 connections, 15 s
    python -m bench.scaleout --replicas 2 --duration 30 --connections 64
    python -m bench.scaleout --direct                   # also: one replica without nginx
    make bench-scaleout

The rate limiter runs (on Redis) but is set high enough never to refuse. Needs nginx and wrk
(Debian packages; `scripts/ensure-debian-tool nginx|wrk` installs them when we are root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.create_intents import ADDRESS, LUA, count_rows, ensure_wrk, parse_wrk, rss_kib
from scripts.scaleout import ScaleOut, nginx_binary


@dataclass
class Run:
    label: str
    figures: dict[str, str]
    replicas_rss_mib: float
    nginx_rss_mib: float
    load: tuple[float, float, float]
    consistent: str
    command: list[str]


def measure(label: str, replicas: int, direct: bool, args: argparse.Namespace, wrk: str) -> Run:
    env = {
        "SBTC_LOG_LEVEL": "WARNING",
        "SBTC_RATE_LIMIT_PER_MINUTE": "100000000",
        "SBTC_DB_POOL_SIZE": str(max(4, args.connections // replicas)),
    }
    # API replicas only: no watcher or worker competes for the two cores being measured
    with ScaleOut(
        replicas=replicas, watchers=0, workers=0, env=env, nginx_workers=args.nginx_workers
    ) as deployment:
        base = deployment.replica_urls[0] if direct else deployment.url
        merchant = httpx.post(
            f"{base}/v1/merchants",
            data={
                "business_name": "Bench",
                "email": "bench@example.com",
                "stacks_address": ADDRESS,
            },
            timeout=10,
        ).json()
        script = deployment.workdir / "create.lua"
        script.write_text(
            LUA.replace("__KEY__", merchant["secret_key"]).replace("__IDEMPOTENCY__", "true")
        )
        subprocess.run(  # warm up every replica's pool and caches
            [wrk, "-t1", "-c8", "-d3s", "-s", str(script), base], capture_output=True, check=True
        )
        assert deployment.database_url is not None
        before = asyncio.run(count_rows(deployment.database_url))
        command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
                   "--latency", "-s", str(script), base]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        load = os.getloadavg()
        replicas_rss = sum(rss_kib(p.pid) for p in deployment.replica_processes)
        nginx_rss = rss_kib(deployment.proxy.pid) if deployment.proxy else 0
        time.sleep(1)
        after = asyncio.run(count_rows(deployment.database_url))
    figures = parse_wrk(result.stdout)
    ok = int(figures["requests"]) - int(figures["non-2xx"])
    created, events = after[0] - before[0], after[1] - before[1]
    verdict = "OK" if created == events >= ok else "MISMATCH"
    return Run(
        label,
        figures,
        replicas_rss / 1024,
        0.0 if direct else nginx_rss / 1024,
        load,
        f"{created} intents, {events} events for {ok} successes -> {verdict}",
        command,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=15, help="seconds per setup")
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument("--direct", action="store_true", help="also one replica without nginx")
    args = parser.parse_args()
    if nginx_binary() is None:
        sys.exit("nginx is needed: scripts/ensure-debian-tool nginx")
    wrk = ensure_wrk()

    setups = [
        ("1 replica via nginx", 1, False),
        (f"{args.replicas} replicas via nginx", args.replicas, False),
    ]
    if args.direct:
        setups.append(("1 replica direct", 1, True))
    runs = [measure(label, n, direct, args, wrk) for label, n, direct in setups]

    print("create PaymentIntent benchmark: scale-out behind nginx")
    print(f"  command     : python -m bench.scaleout {' '.join(sys.argv[1:])}".rstrip())
    load = runs[0].command
    print(f"  load        : {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(load))}"
          "  (URL: nginx, or the replica for 'direct')")  # fmt: skip
    print(f"  machine     : {os.cpu_count()} cores; replicas, nginx ({args.nginx_workers} worker), "
          "PostgreSQL, Redis and wrk share them")  # fmt: skip
    print("  database    : PostgreSQL (one fresh database per setup); Redis for shared state; "
          "unique Idempotency-Key per request")  # fmt: skip
    print()
    print(f"  {'setup':<22} {'req/s':>9} {'p50':>9} {'p90':>9} {'p99':>9} "
          f"{'replicas RSS':>13} {'nginx RSS':>10} {'load avg (1/5/15)':>18}")  # fmt: skip
    for run in runs:
        f = run.figures
        print(f"  {run.label:<22} {f['req/s']:>9} {f['p50']:>9} {f['p90']:>9} {f['p99']:>9} "
              f"{run.replicas_rss_mib:>9.0f} MiB {run.nginx_rss_mib:>6.0f} MiB "
              f"{'/'.join(f'{x:.1f}' for x in run.load):>18}")  # fmt: skip
    print()
    for run in runs:
        f = run.figures
        print(f"  {run.label:<22} requests {f['requests']} ({f['non-2xx']} non-2xx, socket "
              f"errors: {f['socket errors']}); {run.consistent}")  # fmt: skip
    if len(runs) >= 2:
        one, many = float(runs[0].figures["req/s"]), float(runs[1].figures["req/s"])
        print(f"\n  {args.replicas} replicas / 1 replica: {many / one:.2f}x" if one else "")


if __name__ == "__main__":
    main()
