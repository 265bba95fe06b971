"""What the command-line suites share: a clean environment with a data directory of its own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (
        "SBTC_MODE",
        "SBTC_DATABASE_URL",
        "SBTC_API_KEY_SECRET",
        "SBTC_GATEWAY_SIGNING_KEY",
        "SBTC_ENCRYPTION_KEYS",
        "SBTC_WEBHOOK_ENCRYPTION_KEYS",
        "SBTC_JWT_PRIVATE_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SBTC_DATA_DIR", str(tmp_path))
    return tmp_path
