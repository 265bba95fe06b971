"""The WAL archive: where PostgreSQL's finished write-ahead-log segments go, and where a
point-in-time restore takes them back from.

`WalArchive` is the interface (push, fetch, list, remove); `DirectoryArchive` keeps one file per
segment in a directory (a local disk, an NFS or object-store mount). An object store (S3, GCS)
is another implementation of the same four methods; `open_archive` picks one by its address.

PostgreSQL calls this module as its `archive_command` and `restore_command`, so it imports only
the standard library and starts fast:

    archive_command = 'python -m sbtc_gateway.db.wal push --archive /backups/wal %p %f'
    restore_command = 'python -m sbtc_gateway.db.wal fetch --archive /backups/wal %f %p'

(`sbtc-gateway wal push|fetch` are the same commands for people.) A push is atomic (written
under a temporary name, flushed, renamed) and idempotent: pushing a segment that is already
archived with the same bytes succeeds, with different bytes fails — what PostgreSQL's
documentation asks of an archive command. The directory layout is the contract: a shell
`archive_command` that copies `%p` to `DIR/%f.partial` and renames it to `DIR/%f` (compose.yaml)
writes the same archive.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# 24 hex digits (timeline, log, segment), optionally a backup-history or partial suffix; or a
# timeline history file.
SEGMENT = re.compile(r"^[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?$")
HISTORY = re.compile(r"^[0-9A-F]{8}\.history$")


class ArchiveError(Exception):
    """The archive refused an operation (the message says why)."""


@dataclass(frozen=True)
class ArchivedFile:
    name: str
    size: int
    modified: float  # unix seconds


class WalArchive(Protocol):
    def push(self, source: Path, name: str) -> None:
        """Store `source` as `name`; idempotent for the same bytes, an error for other bytes."""

    def fetch(self, name: str, target: Path) -> bool:
        """Copy `name` to `target`; False when the archive does not have it."""

    def list(self) -> list[ArchivedFile]:
        """Every archived file, oldest name first."""

    def remove(self, name: str) -> None:
        """Delete one archived file (retention)."""


def check_name(name: str) -> str:
    if not (SEGMENT.match(name) or HISTORY.match(name)):
        raise ArchiveError(f"{name!r} is not a WAL segment or timeline history file name")
    return name


class DirectoryArchive:
    """One file per WAL segment in `root` (created 0700 if missing)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def push(self, source: Path, name: str) -> None:
        target = self.root / check_name(name)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if target.exists():
            if filecmp.cmp(source, target, shallow=False):
                return  # archived before (PostgreSQL retries after a crash): success
            raise ArchiveError(f"{name} is already archived with different contents")
        partial = self.root / f".{name}.{os.getpid()}.tmp"
        try:
            with source.open("rb") as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            os.chmod(partial, 0o600)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself is durable before PostgreSQL recycles %p
        finally:
            os.close(directory)

    def fetch(self, name: str, target: Path) -> bool:
        source = self.root / check_name(name)
        if not source.is_file():
            return False
        partial = target.with_name(target.name + ".fetching")
        shutil.copyfile(source, partial)
        os.replace(partial, target)
        return True

    def list(self) -> list[ArchivedFile]:
        if not self.root.is_dir():
            return []
        found = []
        for entry in os.scandir(self.root):
            if entry.is_file() and (SEGMENT.match(entry.name) or HISTORY.match(entry.name)):
                stat = entry.stat()
                found.append(ArchivedFile(entry.name, stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda f: f.name)

    def remove(self, name: str) -> None:
        (self.root / check_name(name)).unlink(missing_ok=True)


def open_archive(address: str) -> WalArchive:
    """A directory path or `file://` URL; other schemes need their own `WalArchive`."""
    if address.startswith("file://"):
        return DirectoryArchive(Path(address.removeprefix("file://")))
    if "://" in address:
        scheme = address.split("://", 1)[0]
        raise ArchiveError(f"no WAL archive implementation for {scheme}:// (mount it instead)")
    return DirectoryArchive(Path(address))


def segment_key(name: str) -> str:
    """The log and segment numbers of a segment name, without its timeline: segments of every
    timeline before a backup's start segment are older than it (pg_archivecleanup's rule)."""
    return name[8:24]


def _usable_by_anyone(path: Path) -> bool:
    """Whether any user can run `path`: the server runs as `postgres`, and an interpreter in
    a home directory of mode 0700 (a pyenv under /root) is out of its reach."""
    path = path.resolve()
    if not path.is_file() or not path.stat().st_mode & 0o001:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in path.parents)


def _module_command() -> str:
    """`python -m sbtc_gateway.db.wal` as the database server can run it: this interpreter if
    every user may run it, else the system's python3 (the module needs only the standard
    library) with this package on its PYTHONPATH."""
    package_root = Path(__file__).resolve().parents[2]
    for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if candidate and _usable_by_anyone(Path(candidate)):
            python = candidate
            break
    else:
        python = sys.executable
    return (
        f"PYTHONPATH={shlex.quote(str(package_root))} {shlex.quote(python)} -m sbtc_gateway.db.wal"
    )


def archive_command(archive: str) -> str:
    """The `archive_command` that pushes into `archive`."""
    return f"{_module_command()} push --archive {shlex.quote(archive)} %p %f"


def restore_command(archive: str) -> str:
    return f"{_module_command()} fetch --archive {shlex.quote(archive)} %f %p"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sbtc_gateway.db.wal")
    parser.add_argument("action", choices=["push", "fetch"])
    parser.add_argument("--archive", default=os.environ.get("SBTC_WAL_ARCHIVE"))
    parser.add_argument("first", help="push: %%p (path); fetch: %%f (name)")
    parser.add_argument("second", help="push: %%f (name); fetch: %%p (path)")
    args = parser.parse_args(argv)
    if not args.archive:
        print("no archive: pass --archive or set SBTC_WAL_ARCHIVE", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        archive = open_archive(args.archive)
        if args.action == "push":
            archive.push(Path(args.first), args.second)
            return 0
        # PostgreSQL asks for files that may not exist (the next timeline's history): a
        # missing file is a quiet non-zero exit, not an error.
        return 0 if archive.fetch(args.first, Path(args.second)) else 1
    except (ArchiveError, OSError) as exc:
        print(f"wal {args.action} failed after {time.monotonic() - started:.1f}s: {exc}",
              file=sys.stderr)  # fmt: skip
        return 3


if __name__ == "__main__":
    sys.exit(main())
