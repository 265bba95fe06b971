"""A throwaway PostgreSQL cluster of its own (Debian's initdb/pg_ctl) for recovery tests.

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to and
runs as `postgres` (its directory, the WAL archive and the backups are handed to that user).
1 MB WAL segments and `archive_timeout = 1` keep the archive small and its lag short.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sbtc_gateway.db.pitr import postgres_tool
from sbtc_gateway.db.wal import archive_command

OS_USER = "postgres"


def available() -> str | None:
    """Why a cluster cannot be made here, or None."""
    try:
        postgres_tool("initdb")
        postgres_tool("pg_ctl")
        postgres_tool("pg_basebackup")
    except Exception as exc:
        return str(exc)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return "running as root and there is no postgres user to run the cluster"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_as_server(args: list[str]) -> subprocess.CompletedProcess[str]:
    user = OS_USER if os.geteuid() == 0 else None
    return subprocess.run(args, capture_output=True, text=True, check=True, user=user)


def hand_over(path: Path) -> None:
    """Give `path` (and everything under it) to the user that runs the servers."""
    if os.geteuid() != 0:
        return
    for entry in [path, *path.rglob("*")]:
        shutil.chown(entry, OS_USER, OS_USER)


@dataclass
class Cluster:
    data: Path
    port: int

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        run_as_server([postgres_tool("pg_ctl"), "-D", str(self.data), "-l",
                       str(self.data / "server.log"), "-w", "-t", "120", "start"])  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            run_as_server([postgres_tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                           "stop"])  # fmt: skip


def workdir() -> Path:
    """A temp directory the server user can enter (pytest's tmp_path is root's, 0700)."""
    path = Path(tempfile.mkdtemp(prefix="sbtc-pitr-"))
    path.chmod(0o755)
    return path


def new_cluster(root: Path, archive: Path) -> Cluster:
    data = root / "primary"
    archive.mkdir(parents=True, exist_ok=True)
    hand_over(root)
    run_as_server([postgres_tool("initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
                   "-E", "UTF8", "--wal-segsize=1", "--no-instructions"])  # fmt: skip
    port = free_port()
    settings = {
        "port": str(port),
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(data),
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": archive_command(str(archive)),
        "archive_timeout": "1",
        "max_wal_senders": "4",
        "fsync": "off",  # a throwaway cluster: its loss is what the test simulates anyway
        "max_connections": "50",
    }
    with (data / "postgresql.auto.conf").open("a") as conf:
        conf.writelines(f"{k} = '{v}'\n" for k, v in settings.items())
    cluster = Cluster(data, port)
    cluster.start()
    return cluster
