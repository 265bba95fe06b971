"""The database commands (`cli/database.py`): `backup` and `restore`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sbtc_gateway.cli import main
from tests.conftest import TEST_ADDRESS


def test_backup_and_restore_commands(
    env: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    created = runner.invoke(
        main,
        ["merchants", "create", "--business-name", "Backed up", "--email", "b@example.com",
         "--stacks-address", TEST_ADDRESS, "--json"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    file = env / "gateway.backup"
    done = runner.invoke(main, ["backup", "--output", str(file)])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["rows"]["merchants"] == 1
    other = tmp_path_factory.mktemp("restored")
    monkeypatch.setenv("SBTC_DATA_DIR", str(other))
    loaded = runner.invoke(main, ["restore", "--input", str(file)])
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["rows"]["merchants"] == 1
    refused = runner.invoke(main, ["restore", "--input", str(file)])
    assert refused.exit_code != 0
    assert "already has tables" in refused.output
