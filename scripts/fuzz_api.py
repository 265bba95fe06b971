"""Fuzz the HTTP API from its own OpenAPI document with schemathesis: no request may get a 500.

    python -m scripts.fuzz_api                 # 100 examples per operation, seed printed
    python -m scripts.fuzz_api --examples 300 --seed 52074745335786131888226979966355135475
    make fuzz

Starts `sbtc-gateway dev` on a temporary data directory (SQLite, rate limits off so the fuzzer
reaches the handlers), signs up a merchant with a dashboard password, then runs schemathesis's
`not_a_server_error` check over every operation twice: as the secret API key, and as the
owner's dashboard access token. Operations that end the caller's own session are left out.
schemathesis lives in a virtualenv of its own (`.venv-fuzz`, created on first use from PyPI), so
the gateway's dependencies do not carry it. Exit status: schemathesis's (non-zero on a failure,
with a `curl` line to reproduce it). This is how the 500s fixed on 2026-11-25 were found.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from scripts.scaleout import free_port

ROOT = Path(__file__).resolve().parent.parent
FUZZ_VENV = ROOT / ".venv-fuzz"
SCHEMATHESIS = "schemathesis>=4.3,<5"
SKIP = "/v1/users/me/password|/v1/auth/logout"
PASSWORD = "fuzzing passphrase " + secrets.token_hex(4)


def schemathesis() -> Path:
    binary = FUZZ_VENV / "bin" / "schemathesis"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(FUZZ_VENV)], check=True)
        pip = [str(FUZZ_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, SCHEMATHESIS], check=True)
    return binary


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("sbtc-gateway dev exited")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("sbtc-gateway dev did not start")


def credentials(url: str) -> dict[str, str]:
    email = f"fuzz-{secrets.token_hex(4)}@example.com"
    account = httpx.post(
        f"{url}/v1/merchants",
        data={
            "business_name": "Fuzz",
            "email": email,
            "stacks_address": "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG",
            "password": PASSWORD,
        },
    ).json()
    session = httpx.post(f"{url}/v1/auth/login", data={"email": email, "password": PASSWORD}).json()
    return {"secret key": account["secret_key"], "owner token": session["access_token"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", default=None)
    args = parser.parse_args(argv)
    fuzzer = schemathesis()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="sbtc-fuzz-") as data:
        env = {**os.environ, "SBTC_RATE_LIMIT_ENABLED": "false"}
        dev = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "sbtc-gateway"), "dev", "--port", str(port),
             "--data-dir", data],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(data) / "dev.log", "wb"),  # noqa: SIM115 - closed with the dir
        )  # fmt: skip
        status = 0
        try:
            wait_ready(url, dev)
            for who, secret in credentials(url).items():
                print(f"== as the {who}", flush=True)
                command = [
                    str(fuzzer), "run", f"{url}/openapi.json",
                    "--header", f"Authorization: Bearer {secret}",
                    "--checks", "not_a_server_error",
                    "--max-examples", str(args.examples),
                    "--workers", "2",
                    "--exclude-path-regex", SKIP,
                ]  # fmt: skip
                if args.seed:
                    command += ["--seed", args.seed]
                # cwd: schemathesis keeps its reports in ./.schemathesis
                done = subprocess.run(command, check=False, cwd=data)
                status = done.returncode or status
        finally:
            dev.terminate()
            dev.wait(60)
            if status:
                log = (Path(data) / "dev.log").read_text(errors="replace")
                print("\n".join(line for line in log.splitlines()[-60:]), file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
