"""The WAL archive's contract (what PostgreSQL's documentation asks of an archive command) and
the retention rule for base backups and WAL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sbtc_gateway.db.pitr import list_backups, prune
from sbtc_gateway.db.wal import ArchiveError, DirectoryArchive, open_archive

SEG = "000000010000000000000003"
DAY = 86400.0


def test_push_is_atomic_and_idempotent(tmp_path: Path) -> None:
    archive = DirectoryArchive(tmp_path / "wal")
    segment = tmp_path / SEG
    segment.write_bytes(b"x" * 1000)
    archive.push(segment, SEG)
    archive.push(segment, SEG)  # the same bytes again (a retry after a crash): fine
    segment.write_bytes(b"y" * 1000)
    with pytest.raises(ArchiveError, match="different contents"):
        archive.push(segment, SEG)
    assert [f.name for f in archive.list()] == [SEG]
    assert not [p for p in (tmp_path / "wal").iterdir() if p.name.startswith(".")]
    with pytest.raises(ArchiveError):
        archive.push(segment, "../../etc/passwd")
    out = tmp_path / "restored"
    assert archive.fetch(SEG, out)
    assert out.read_bytes() == b"x" * 1000
    assert not archive.fetch("00000002.history", tmp_path / "h")


def test_the_commands_postgres_runs(tmp_path: Path) -> None:
    segment = tmp_path / SEG
    segment.write_bytes(b"z" * 10)

    def run(*args: str) -> int:
        argv = [sys.executable, "-m", "sbtc_gateway.db.wal", *args]
        return subprocess.run(argv, capture_output=True).returncode

    assert run("push", "--archive", str(tmp_path / "wal"), str(segment), SEG) == 0
    assert run("fetch", "--archive", str(tmp_path / "wal"), SEG, str(tmp_path / "p")) == 0
    assert run("fetch", "--archive", str(tmp_path / "wal"), "00000002.history", "x") == 1
    assert open_archive(f"file://{tmp_path / 'wal'}").list()[0].name == SEG
    with pytest.raises(ArchiveError, match="s3://"):
        open_archive("s3://bucket/wal")


def _backup(root: Path, label: str, finished: float, start_wal: str) -> None:
    (root / label).mkdir(parents=True)
    meta = {"path": "", "label": label, "started": finished - 60, "finished": finished,
            "start_wal": start_wal, "revision": "0007o", "rows": {}}  # fmt: skip
    (root / label / "meta.json").write_text(json.dumps(meta))


def test_retention_keeps_the_window_restorable(tmp_path: Path) -> None:
    now = 100 * DAY
    backups, wal = tmp_path / "base", DirectoryArchive(tmp_path / "wal")
    _backup(backups, "b1", now - 20 * DAY, "000000010000000000000010")
    _backup(backups, "b2", now - 9 * DAY, "000000010000000000000020")
    _backup(backups, "b3", now - 3 * DAY, "000000010000000000000030")
    (backups / ".b4.partial").mkdir()  # an unfinished backup is never listed
    source = tmp_path / "seg"
    source.write_bytes(b"w")
    for log in ("0F", "10", "1F", "20", "2F", "30"):
        wal.push(source, f"0000000100000000000000{log}")
    wal.push(source, "000000020000000000000021")  # another timeline, after b2's start
    wal.push(source, "00000002.history")

    done = prune(backups, wal, retention_days=7, now=now)
    # b2 is older than the window but the newest such: the window's first moment needs it
    assert done.backups_removed == ["b1"]
    assert [b.label for b in list_backups(backups)] == ["b2", "b3"]
    assert done.kept_from_segment == "000000010000000000000020"
    assert [f.name for f in wal.list()] == sorted([
        "000000010000000000000020", "00000001000000000000002F", "000000010000000000000030",
        "000000020000000000000021", "00000002.history",
    ])  # fmt: skip
    again = prune(backups, wal, retention_days=7, now=now)
    assert again.backups_removed == []
    assert again.wal_removed == 0
