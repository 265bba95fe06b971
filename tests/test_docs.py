"""Every setting is documented in the README's configuration table (cross-cutting: the
settings against the docs, so it stays at the top of tests/)."""

from __future__ import annotations

from pathlib import Path

from sbtc_gateway.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text()
    missing = [name for name in Settings.model_fields if f"`SBTC_{name.upper()}`" not in text]
    assert not missing, missing
