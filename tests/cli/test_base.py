"""What every command shares (`cli/base.py`): no start in live mode without its secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sbtc_gateway.cli import main


def test_live_mode_refuses_to_start_without_secrets(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SBTC_MODE", "live")
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code != 0
    assert "refusing to start" in result.output
    assert not (env / "dev-secrets.json").exists()
