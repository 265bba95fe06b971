"""Scale-out on one machine: N API replicas behind nginx, on one PostgreSQL and one Redis, with
a worker and two chain watchers (one active, one standing by).

    python -m scripts.scaleout                       # 3 replicas, nginx on a free port
    python -m scripts.scaleout --replicas 2 --port 8080
    python -m scripts.scaleout --database-url postgresql+asyncpg://postgres@127.0.0.1/gw
    make scaleout

Each piece is a separate process started the way a deployment starts it: `sbtc-gateway migrate`
once, `sbtc-gateway api` per replica (on its own loopback port), `sbtc-gateway worker` once,
`sbtc-gateway watcher` twice, and nginx (Debian package; `scripts/ensure-debian-tool nginx`)
in the foreground, unprivileged paths only: its configuration, pid file, logs and temp files
live in the run's temp directory. nginx spreads requests round robin and sends
`X-Forwarded-For`; the replicas believe it from 127.0.0.1 (SBTC_TRUSTED_PROXIES), so per-IP
limits see the real client.

Without `--database-url` a fresh database is created on the PostgreSQL server of
TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and dropped at the end;
Redis is SBTC_REDIS_URL or TEST_REDIS_URL (default redis://127.0.0.1:6379/0), with a key prefix
of this run's own (deleted at the end). Secrets come from SBTC_* variables when set, else are
generated for the run; every other SBTC_* variable of the environment reaches every process (for
example SBTC_RATE_LIMIT_PER_MINUTE). The Stacks API is SBTC_TEST_STACKS_API_URL, else
STACKS_DEVNET_URL, else the default devnet URL. Ctrl-C or SIGTERM stops everything.

The test (`tests/scripts/test_scaleout.py`) and the benchmark (`bench/scaleout.py`) use `ScaleOut`;
`compose.yaml` runs the same topology in containers (`ScaleOut.topology()`, compared by
`tests/deploy/test_compose.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SBTC_REDIS_URL") or os.environ.get(
    "TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
)
READY_TIMEOUT = 60.0
ADDRESS = "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG"  # a devnet address, for the example


class ScaleOutError(RuntimeError):
    """The deployment could not start (the message says which process and shows its log)."""


def nginx_binary() -> str | None:
    """nginx from PATH, or Debian's /usr/sbin/nginx (not on a non-root user's PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_config(workdir: Path, port: int, upstreams: list[str], *, workers: int = 1) -> str:
    """An nginx configuration that runs from `workdir` only (no system paths, any user)."""
    servers = "\n".join(f"        server {u};" for u in upstreams)
    temp = "\n".join(
        f"    {kind}_temp_path {workdir / (kind + '_temp')};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx would switch its workers to `nobody`, which cannot enter our temp dir.
    user = f"user {pwd.getpwuid(0).pw_name};\n" if os.geteuid() == 0 else ""
    return f"""# Written by scripts/scaleout.py: round robin over the API replicas.
{user}worker_processes {workers};
pid {workdir / "nginx.pid"};
error_log {workdir / "nginx-error.log"} warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
{temp}
    upstream gateway {{
{servers}
        keepalive 64;
        # below uvicorn's 5 s keep-alive: never send a request on a connection the replica is
        # closing (nginx does not retry a POST elsewhere, the client would get a 502)
        keepalive_timeout 4s;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 1m;
        location / {{
            proxy_pass http://gateway;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # POSTs are never retried on another replica (nginx's default since 1.9.13).
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


@dataclass
class Process:
    """One process of the deployment, its log file and (for replicas and nginx) its URL."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        self.send(sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.send(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def send(self, sig: int) -> None:
        """To its process group (its children too), or to it alone if it has none of its own."""
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)


def _pg_asyncpg_url(url: str) -> str:
    return re.sub(r"^postgresql(\+asyncpg)?://", "postgresql+asyncpg://", url)


def _pg_plain_url(url: str) -> str:
    return re.sub(r"^postgresql\+asyncpg://", "postgresql://", url)


async def _pg_execute(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_plain_url(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_fetch(url: str, sql: str) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(_pg_plain_url(url))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def _generated_secrets() -> dict[str, str]:
    return {
        "SBTC_API_KEY_SECRET": secrets.token_hex(32),
        "SBTC_GATEWAY_SIGNING_KEY": secrets.token_hex(32),
        "SBTC_ENCRYPTION_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }


@dataclass
class ScaleOut:
    """N API replicas + nginx + watchers on one PostgreSQL and one Redis (a context manager)."""

    replicas: int = 3
    watchers: int = 2
    workers: int = 1
    port: int | None = None
    database_url: str | None = None
    redis_url: str = REDIS_URL
    admin_url: str = PG_ADMIN_URL
    # Extra environment for every gateway process (wins over everything else).
    env: dict[str, str] = field(default_factory=dict)
    nginx_workers: int = 1
    nginx: str | None = None
    workdir: Path = field(init=False)
    processes: list[Process] = field(default_factory=list, init=False)
    proxy: Process | None = field(default=None, init=False)
    redis_prefix: str = field(default="", init=False)
    _own_database: str | None = field(default=None, init=False)
    _secrets: dict[str, str] = field(default_factory=_generated_secrets, init=False)

    # --- the pieces ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """nginx: where clients go."""
        assert self.proxy is not None
        return self.proxy.url

    @property
    def replica_processes(self) -> list[Process]:
        return [p for p in self.processes if p.name.startswith("replica-")]

    @property
    def replica_urls(self) -> list[str]:
        return [p.url for p in self.replica_processes]

    @property
    def worker_processes(self) -> list[Process]:
        return [p for p in self.processes if p.name.startswith("worker-")]

    def topology(self) -> dict[str, tuple[int, str | None]]:
        """Each role of the deployment: how many processes, and the `sbtc-gateway` command
        they run (None: not a gateway process). compose.yaml's services carry the same roles."""
        return {
            "load_balancer": (1, None),
            "migrate": (1, "migrate"),
            "api": (self.replicas, "api"),
            "worker": (self.workers, "worker"),
            "watcher": (self.watchers, "watcher"),
        }

    @property
    def watcher_processes(self) -> list[Process]:
        return [p for p in self.processes if p.name.startswith("watcher-")]

    def gateway_env(self) -> dict[str, str]:
        """What every gateway process (migrate, api, watcher) runs with."""
        assert self.database_url is not None
        env = {k: v for k, v in os.environ.items() if k != "SBTC_PORT"}
        for name, value in self._secrets.items():
            env.setdefault(name, value)  # one set for the whole deployment
        if (
            "SBTC_WEBHOOK_ENCRYPTION_KEYS" in os.environ
            and "SBTC_ENCRYPTION_KEYS" not in os.environ
        ):
            del env["SBTC_ENCRYPTION_KEYS"]  # the keyring under its former name
        if "SBTC_TEST_STACKS_API_URL" not in env and os.environ.get("STACKS_DEVNET_URL"):
            env["SBTC_TEST_STACKS_API_URL"] = os.environ["STACKS_DEVNET_URL"]
        env.update(
            {
                "SBTC_MODE": env.get("SBTC_MODE", "test"),
                "SBTC_DATABASE_URL": self.database_url,
                "SBTC_DATA_DIR": str(self.workdir / "data"),
                "SBTC_REDIS_URL": self.redis_url,
                "SBTC_REDIS_KEY_PREFIX": self.redis_prefix,
                "SBTC_HOST": "127.0.0.1",
                # nginx on this machine is the only load balancer whose X-Forwarded-For counts.
                "SBTC_TRUSTED_PROXIES": "127.0.0.1/32",
                "SBTC_DB_POOL_SIZE": env.get("SBTC_DB_POOL_SIZE", "8"),
            }
        )
        if self.port:
            env.setdefault("SBTC_PUBLIC_URL", f"http://127.0.0.1:{self.port}")  # checkout links
        env.update(self.env)
        return env

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], url: str = "") -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # its own process group: Ctrl-C reaches only us, and stop() signals the group
                start_new_session=True,
            )
        process = Process(name, popen, log, url)
        self.processes.append(process)
        return process

    def _gateway(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "sbtc_gateway.cli", *args]

    def start_replica(self, index: int) -> Process:
        port = free_port()
        env = {**self.gateway_env(), "SBTC_PORT": str(port)}
        return self._spawn(
            f"replica-{index}", self._gateway("api"), env, url=f"http://127.0.0.1:{port}"
        )

    def start_worker(self, index: int) -> Process:
        return self._spawn(f"worker-{index}", self._gateway("worker"), self.gateway_env())

    def start_watcher(self, index: int) -> Process:
        env = self.gateway_env()
        env.setdefault("SBTC_LOG_LEVEL", "INFO")
        if env["SBTC_LOG_LEVEL"].upper() not in ("DEBUG", "INFO"):
            env["SBTC_LOG_LEVEL"] = "INFO"  # its "watcher active" line tells who holds the lock
        return self._spawn(f"watcher-{index}", self._gateway("watcher"), env)

    def _start_nginx(self) -> Process:
        binary = self.nginx or nginx_binary()
        if binary is None:
            raise ScaleOutError("nginx is not installed (scripts/ensure-debian-tool nginx)")
        port = self.port or free_port()
        conf = self.workdir / "nginx.conf"
        conf.write_text(
            nginx_config(
                self.workdir,
                port,
                [u.removeprefix("http://") for u in self.replica_urls],
                workers=self.nginx_workers,
            )
        )
        # -e: the error log before the configuration is read (not /var/log/nginx)
        argv = [binary, "-e", str(self.workdir / "nginx-error.log"), "-p", str(self.workdir)]
        argv += ["-c", str(conf), "-g", "daemon off;"]
        proxy = self._spawn("nginx", argv, dict(os.environ), url=f"http://127.0.0.1:{port}")
        self.processes.remove(proxy)
        self.proxy = proxy
        return proxy

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> ScaleOut:
        self.workdir = Path(tempfile.mkdtemp(prefix="sbtc-scaleout-"))
        (self.workdir / "data").mkdir()
        self.redis_prefix = f"sbtc-scaleout-{secrets.token_hex(6)}:"
        self.port = self.port or free_port()  # known before the replicas: their SBTC_PUBLIC_URL
        try:
            if self.database_url is None:
                self._own_database = f"sbtc_scaleout_{secrets.token_hex(4)}"
                asyncio.run(_pg_execute(self.admin_url, f'CREATE DATABASE "{self._own_database}"'))
                base = _pg_asyncpg_url(self.admin_url).rsplit("/", 1)[0]
                self.database_url = f"{base}/{self._own_database}"
            migrate = subprocess.run(
                self._gateway("migrate"), env=self.gateway_env(), capture_output=True, text=True
            )
            if migrate.returncode != 0:
                raise ScaleOutError(f"migrate failed:\n{migrate.stdout}{migrate.stderr}")
            for index in range(1, self.replicas + 1):
                self.start_replica(index)
            for process in self.replica_processes:
                self.wait_ready(process)
            self.wait_ready(self._start_nginx())
            for index in range(1, self.workers + 1):
                self.start_worker(index)
            for index in range(1, self.watchers + 1):
                self.start_watcher(index)
            if self.watchers:
                self.wait_watchers()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, process: Process, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive():
                raise ScaleOutError(f"{process.name} exited:\n{process.log_text()[-3000:]}")
            try:
                if httpx.get(f"{process.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ScaleOutError(f"{process.name} not ready in {timeout:.0f} s")

    def wait_watchers(self, timeout: float = 30.0) -> None:
        """Until one watcher is active and every other one stands by."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.watcher_processes:
                if not process.alive():
                    raise ScaleOutError(f"{process.name} exited:\n{process.log_text()[-3000:]}")
            states = [watcher_state(p) for p in self.watcher_processes]
            if None not in states and states.count("active") == 1:
                return
            time.sleep(0.1)
        raise ScaleOutError("the watchers did not settle (one active, the others standing by)")

    def advisory_locks(self) -> int:
        """How many advisory locks are granted in this deployment's database (the watcher's)."""
        assert self.database_url is not None
        rows = asyncio.run(
            pg_fetch(
                self.database_url,
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
        )
        return int(rows[0][0])

    def stop(self) -> None:
        everything = ([self.proxy] if self.proxy else []) + list(reversed(self.processes))
        for process in everything:
            if process.alive():
                process.send(signal.SIGTERM)
        for process in everything:
            process.stop()
        if self._own_database:
            with contextlib.suppress(Exception):
                asyncio.run(
                    _pg_execute(
                        self.admin_url,
                        f'DROP DATABASE IF EXISTS "{self._own_database}" WITH (FORCE)',
                    )
                )
            self._own_database = None
        if self.redis_prefix:
            with contextlib.suppress(Exception):
                delete_redis_keys(self.redis_url, self.redis_prefix)
        if os.environ.get("SBTC_SCALEOUT_KEEP_LOGS") is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ScaleOut:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def watcher_state(process: Process) -> str | None:
    """`active`, `standby` (by the last of those lines in its log), or None (not yet)."""
    text = process.log_text()
    active, standby = text.rfind("watcher active"), text.rfind("watcher standing by")
    if active < 0 and standby < 0:
        return None
    return "active" if active > standby else "standby"


def delete_redis_keys(url: str, prefix: str) -> None:
    """Delete every key under `prefix` (a deployment's or a test's own namespace)."""
    from redis import Redis

    client = Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def requests_served(replica_url: str, route: str, method: str = "GET") -> int:
    """Requests a replica answered on a route template, from its own /metrics."""
    text = httpx.get(f"{replica_url}/metrics", timeout=5).text
    total = 0
    for line in text.splitlines():
        if (
            line.startswith("sbtc_http_request_duration_seconds_count{")
            and f'route="{route}"' in line
            and f'method="{method}"' in line
        ):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.scaleout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--watchers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=None, help="nginx port (default: free)")
    parser.add_argument("--database-url", default=None, help="use (and migrate) this database")
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args(argv)

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    deployment = ScaleOut(
        replicas=args.replicas,
        watchers=args.watchers,
        workers=args.workers,
        port=args.port,
        database_url=args.database_url,
        redis_url=args.redis_url,
    )
    try:
        deployment.start()
        print(f"\n  sBTC gateway: {args.replicas} replicas behind nginx on {deployment.url}")
        for process in deployment.replica_processes:
            print(f"    {process.name}: {process.url} (pid {process.pid})")
        for process in deployment.worker_processes:
            print(f"    {process.name}: pid {process.pid}")
        for process in deployment.watcher_processes:
            print(f"    {process.name}: {watcher_state(process)} (pid {process.pid})")
        print(f"  database: {deployment.database_url}")
        print(f"  redis:    {deployment.redis_url} (prefix {deployment.redis_prefix})")
        print(f"  logs:     {deployment.workdir}")
        print(f"  sign up:  curl {deployment.url}/v1/merchants -d business_name=Shop \\")
        print(f"              -d email=me@example.com -d stacks_address={ADDRESS}")
        print("  Ctrl-C stops everything.\n", flush=True)
        while all(p.alive() for p in [*deployment.processes, deployment.proxy] if p):
            time.sleep(0.5)
        dead = [p.name for p in deployment.processes if not p.alive()]
        print(f"stopping: {', '.join(dead) or 'nginx'} exited", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    except ScaleOutError as exc:
        sys.exit(f"scale-out failed: {exc}")
    finally:
        deployment.stop()


if __name__ == "__main__":
    main()
