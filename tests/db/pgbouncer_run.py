"""A throwaway PgBouncer (Debian package) with deploy/pgbouncer/pgbouncer.ini's settings.

Only what must differ on a test machine is changed: where it listens, which database it fronts,
the auth file (the local server trusts `postgres`), the files it writes, and the pool sizes the
caller asks for. Pool mode, reset query and the lock_timeout connect_query come from the file.
PgBouncer refuses to run as root: started as root, it is told to switch to `postgres` (`-u`).
"""

from __future__ import annotations

import configparser
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEPLOY_INI = Path(__file__).resolve().parents[2] / "deploy" / "pgbouncer" / "pgbouncer.ini"


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deploy_settings() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(inline_comment_prefixes=None, interpolation=None)
    parser.read(DEPLOY_INI)
    return parser


@dataclass
class PgBouncer:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]
    alias: str

    def url(self, user: str = "postgres") -> str:
        return f"postgresql+asyncpg://{user}@127.0.0.1:{self.port}/{self.alias}"

    def admin(self, command: str) -> list[dict[str, str]]:
        """A `SHOW …` on the admin console (simple query protocol only: psql)."""
        done = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "pgbouncer",
             "-X", "-A", "-F", "\t", "-P", "footer=off", "-c", command],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        lines = done.stdout.strip().splitlines()
        header = lines[0].split("\t")
        return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:]]

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.workdir / "pgbouncer.log").read_text(errors="replace")
        return ""


@contextlib.contextmanager
def run_pgbouncer(
    database: str, *, pool_size: int, max_db_connections: int, alias: str = "gateway"
) -> Iterator[PgBouncer]:
    binary = pgbouncer_binary()
    assert binary is not None
    workdir = Path(tempfile.mkdtemp(prefix="sbtc-pgbouncer-"))
    settings = deploy_settings()
    connect_query = settings["databases"]["gateway"].split("connect_query=", 1)[1]
    port = free_port()
    settings["databases"] = {
        alias: f"host=127.0.0.1 port=5432 dbname={database} connect_query={connect_query}"
    }
    ours = settings["pgbouncer"]
    ours.update(
        {
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "auth_type": "trust",
            "auth_file": str(workdir / "userlist.txt"),
            "default_pool_size": str(pool_size),
            "reserve_pool_size": "0",
            "max_db_connections": str(max_db_connections),
            "logfile": str(workdir / "pgbouncer.log"),
            "pidfile": str(workdir / "pgbouncer.pid"),
            "admin_users": "postgres",
            "stats_users": "postgres",
        }
    )
    (workdir / "userlist.txt").write_text('"postgres" ""\n')
    with (workdir / "pgbouncer.ini").open("w") as fh:
        settings.write(fh)
    argv = [binary]
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in [workdir, *workdir.iterdir()]:
            os.chown(path, user.pw_uid, user.pw_gid)
        argv += ["-u", "postgres"]
    process = subprocess.Popen(
        [*argv, str(workdir / "pgbouncer.ini")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bouncer = PgBouncer(port, workdir, process, alias)
    try:
        for _ in range(200):
            if process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited:\n{bouncer.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
