"""Point-in-time recovery on PostgreSQL: base backups, restores to a moment, retention.

With WAL archiving on (`archive_mode = on`, an `archive_command` into a `WalArchive`, db/wal.py),
a base backup plus every segment archived after it can rebuild the database as it was at any
moment since the backup ended:

- `sbtc-gateway backup --base` runs `pg_basebackup` (tar, gzip, the WAL it needs included) into
  `SBTC_BACKUP_DIR/<label>/`, with `meta.json` (when, the start segment, the schema revision and
  row counts at that moment), renamed into place only when whole;
- `sbtc-gateway restore --to-time T --target-dir D` unpacks the newest base backup that ended
  before T into an empty directory D, sets `restore_command` (from the archive),
  `recovery_target_time` and `recovery_target_action = promote`, and with `--start` starts
  PostgreSQL on it and waits until recovery has finished. Every transaction committed at or
  before T is there, none after;
- `sbtc-gateway backup --prune` keeps every base backup younger than the retention window plus
  the newest older one (so every moment of the window stays restorable), and the WAL from that
  oldest kept backup's start segment on.

`pg_ctl` refuses to run as root: started by root, the restored server runs as
SBTC_POSTGRES_OS_USER (default `postgres`), who then owns the data directory. The RPO is about
`archive_timeout` (a partly filled segment is archived when that much time has passed); the
RTO is the time to unpack plus the replay, which the daily verification (db/verify.py)
measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from sbtc_gateway.db.backup import BackupError, DatabaseSummary, _libpq, summarize
from sbtc_gateway.db.wal import WalArchive, restore_command, segment_key

META = "meta.json"
START_WAL = re.compile(r"^START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)$", re.M)


@dataclass(frozen=True)
class BaseBackup:
    path: Path
    label: str
    started: float
    finished: float
    start_wal: str
    revision: str | None
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


def postgres_tool(name: str) -> str:
    """A PostgreSQL program: on PATH, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise BackupError(f"{name} is not installed (Debian package postgresql-15)")
    return str(candidates[-1])


def server_user() -> str | None:
    """Who runs a restored server: PostgreSQL refuses root, so root hands it to this user."""
    return os.environ.get("SBTC_POSTGRES_OS_USER", "postgres") if os.geteuid() == 0 else None


def _run(
    args: list[str],
    env: dict[str, str] | None = None,
    timeout: float = 3600,
    user: str | None = None,
) -> str:
    done = subprocess.run(  # noqa: S603 - an argument list, no shell
        args, env=env, capture_output=True, text=True, check=False, timeout=timeout, user=user
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _label(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _start_wal(base_tar: Path) -> str:
    with tarfile.open(base_tar, "r:gz") as tar:
        member = tar.extractfile("backup_label")
        if member is None:
            raise BackupError(f"{base_tar} has no backup_label")
        found = START_WAL.search(member.read().decode())
    if not found:
        raise BackupError(f"{base_tar}: no START WAL LOCATION in backup_label")
    return found.group(1)


async def base_backup(database_url: str, backup_dir: Path) -> BaseBackup:
    """`pg_basebackup` of the server behind `database_url` (a direct connection with the
    REPLICATION privilege; PgBouncer cannot carry the replication protocol)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BackupError("base backups and WAL archiving are PostgreSQL's (SQLite: `backup`)")
    summary = await summarize(database_url)
    return await asyncio.to_thread(_base_backup, url, backup_dir, summary)


def _base_backup(url: URL, backup_dir: Path, summary: DatabaseSummary) -> BaseBackup:
    started = time.time()
    label = _label(started)
    partial = backup_dir / f".{label}.partial"
    final = backup_dir / label
    backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    libpq, env = _libpq(url)
    try:
        _run(
            [postgres_tool("pg_basebackup"), f"--dbname={libpq}", f"--pgdata={partial}",
             "--format=tar", "--gzip", "--wal-method=fetch", "--checkpoint=fast",
             f"--label=sbtc-gateway {label}", "--no-password"],
            env,
        )  # fmt: skip
        backup = BaseBackup(
            final,
            label,
            started,
            time.time(),
            _start_wal(partial / "base.tar.gz"),
            summary.revision,
            summary.rows,
        )
        (partial / META).write_text(json.dumps(backup.as_dict(), indent=1))
        for entry in partial.iterdir():
            os.chmod(entry, 0o600)
        os.replace(partial, final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return backup


def list_backups(backup_dir: Path) -> list[BaseBackup]:
    """Complete base backups, oldest first."""
    found: list[BaseBackup] = []
    if not backup_dir.is_dir():
        return found
    for entry in backup_dir.iterdir():
        meta = entry / META
        if entry.name.startswith(".") or not meta.is_file():
            continue
        data = json.loads(meta.read_text())
        data["path"] = entry
        found.append(BaseBackup(**data))
    return sorted(found, key=lambda b: b.finished)


def choose_backup(backup_dir: Path, to_time: datetime | None) -> BaseBackup:
    backups = list_backups(backup_dir)
    if to_time is not None:
        backups = [b for b in backups if b.finished <= to_time.timestamp()]
    if not backups:
        when = f" that ended before {to_time.isoformat()}" if to_time else ""
        raise BackupError(f"no base backup{when} in {backup_dir}")
    return backups[-1]


def _unpack(archive_path: Path, target: Path) -> None:
    with tarfile.open(archive_path, "r:gz") as tar:
        tar.extractall(target, filter="data")


@dataclass
class Restored:
    target_dir: Path
    backup: BaseBackup
    to_time: str | None
    port: int | None
    unpacked_seconds: float
    ready_seconds: float | None = None  # unpack + replay + promotion, with --start

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["target_dir"] = str(self.target_dir)
        out["backup"] = self.backup.label
        return out


def prepare_restore(
    backup: BaseBackup,
    archive_address: str,
    target_dir: Path,
    *,
    to_time: datetime | None = None,
    port: int | None = None,
    socket_dir: Path | None = None,
    archiving: bool = True,
    scratch: bool = False,
) -> None:
    """Unpack `backup` into the empty `target_dir` and set it to recover from the archive (to
    `to_time`, or to the end of the archive), then promote. `archiving=False` turns archiving
    off in the restored cluster (a scratch copy must not write into the live archive);
    `scratch` also makes it reachable only on a socket in `target_dir`, trusted locally."""
    if target_dir.exists() and any(target_dir.iterdir()):
        raise BackupError(f"{target_dir} is not empty: restore into a fresh directory")
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(target_dir, 0o700)
    _unpack(backup.path / "base.tar.gz", target_dir)
    wal_tar = backup.path / "pg_wal.tar.gz"
    if wal_tar.exists():
        _unpack(wal_tar, target_dir / "pg_wal")
    (target_dir / "pg_wal").mkdir(mode=0o700, exist_ok=True)
    settings = {
        "restore_command": restore_command(archive_address),
        "recovery_target_action": "promote",
        "recovery_target_timeline": "latest",
    }
    if to_time is not None:
        settings["recovery_target_time"] = to_time.astimezone(UTC).isoformat(sep=" ")
        settings["recovery_target_inclusive"] = "on"
    if port is not None:
        settings["port"] = str(port)
        settings["listen_addresses"] = "127.0.0.1"
    if socket_dir is not None:
        settings["unix_socket_directories"] = str(socket_dir)
    if not archiving or scratch:
        settings["archive_mode"] = "off"
    if scratch:
        settings["listen_addresses"] = ""
        settings["unix_socket_directories"] = str(target_dir)
        # the socket lives in the server's own 0700 directory: only its user (and root) reach it
        (target_dir / "pg_hba.conf").write_text("local all all trust\n")
    # Debian keeps postgresql.conf and pg_hba.conf in /etc, outside the data directory that
    # pg_basebackup copies: the restored cluster then starts from defaults plus the settings here
    if not (target_dir / "postgresql.conf").exists():
        (target_dir / "postgresql.conf").write_text("# written by sbtc-gateway restore\n")
    if not (target_dir / "pg_hba.conf").exists():
        (target_dir / "pg_hba.conf").write_text("local all all peer\n")
    lines = "".join(f"{k} = '{v}'\n" for k, v in settings.items())
    with (target_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"# sbtc-gateway restore of {backup.label}\n{lines}")
    (target_dir / "recovery.signal").touch()
    for stale in ("postmaster.pid", "postmaster.opts"):
        (target_dir / stale).unlink(missing_ok=True)
    owner = server_user()
    if owner is not None:
        for path in [target_dir, *target_dir.rglob("*")]:
            shutil.chown(path, owner, owner)


def start_cluster(target_dir: Path, timeout: float = 4 * 3600) -> None:
    """`pg_ctl start` and wait until the server accepts connections (recovery may go on)."""
    _run(
        [postgres_tool("pg_ctl"), "-D", str(target_dir), "-l", str(target_dir / "restore.log"),
         "-w", "-t", str(int(timeout)), "start"],
        timeout=timeout + 60,
        user=server_user(),
    )  # fmt: skip


def stop_cluster(target_dir: Path, mode: str = "fast") -> None:
    with contextlib.suppress(BackupError, subprocess.TimeoutExpired):
        _run(
            [postgres_tool("pg_ctl"), "-D", str(target_dir), "-m", mode, "-w", "stop"],
            None,
            120,
            user=server_user(),
        )


async def wait_promoted(dsn: str, limit_seconds: float = 4 * 3600) -> None:
    """Until the restored server has finished recovery and accepts writes."""
    import asyncpg

    deadline = time.monotonic() + limit_seconds
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            try:
                if not await conn.fetchval("SELECT pg_is_in_recovery()"):
                    return
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError):
            pass  # starting up, or recovery not yet consistent
        if time.monotonic() > deadline:
            raise BackupError(
                f"the restored server did not finish recovery in {limit_seconds:.0f} s"
            )
        await asyncio.sleep(0.1)


async def restore(
    backup_dir: Path,
    archive_address: str,
    target_dir: Path,
    *,
    to_time: datetime | None = None,
    start: bool = False,
    port: int | None = None,
    socket_dir: Path | None = None,
    archiving: bool = True,
    scratch: bool = False,
    wait_dsn: str | None = None,
) -> Restored:
    """Restore into `target_dir`; with `start`, run the server there on `port` until it has
    recovered to `to_time` (or the end of the archive) and been promoted (checked on
    `wait_dsn`, by default postgres@127.0.0.1:port)."""
    began = time.monotonic()
    backup = choose_backup(backup_dir, to_time)
    await asyncio.to_thread(
        prepare_restore,
        backup,
        archive_address,
        target_dir,
        to_time=to_time,
        port=port,
        socket_dir=socket_dir,
        archiving=archiving,
        scratch=scratch,
    )
    result = Restored(
        target_dir,
        backup,
        to_time.isoformat() if to_time else None,
        port,
        time.monotonic() - began,
    )
    if start:
        if port is None:
            raise BackupError("--start needs --port (where the restored server listens)")
        await asyncio.to_thread(start_cluster, target_dir)
        await wait_promoted(wait_dsn or f"postgresql://postgres@127.0.0.1:{port}/postgres")
        result.ready_seconds = time.monotonic() - began
    return result


@dataclass(frozen=True)
class Pruned:
    backups_removed: list[str]
    wal_removed: int
    kept_from_segment: str | None


def prune(
    backup_dir: Path, archive: WalArchive, retention_days: float, *, now: float | None = None
) -> Pruned:
    """Drop base backups older than the window (keeping the newest of those, so the window's
    first moment stays restorable) and the WAL before the oldest kept backup's start."""
    now = time.time() if now is None else now
    cutoff = now - retention_days * 86400
    backups = list_backups(backup_dir)
    if not backups:
        return Pruned([], 0, None)
    older = [b for b in backups if b.finished < cutoff]
    keep_from = older[-1] if older else backups[0]
    removed = []
    for backup in older[:-1]:
        shutil.rmtree(backup.path)
        removed.append(backup.label)
    first = segment_key(keep_from.start_wal)
    wal_removed = 0
    for archived in archive.list():
        if archived.name.endswith(".history"):
            continue  # tiny, and a restore may need any timeline's history
        if segment_key(archived.name) < first:
            archive.remove(archived.name)
            wal_removed += 1
    return Pruned(removed, wal_removed, keep_from.start_wal)
