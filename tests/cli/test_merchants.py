"""The operator commands for merchants (`cli/merchants.py`): `create` and `activate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sbtc_gateway.cli import main
from tests.conftest import MAINNET_ADDRESS, TEST_ADDRESS


def test_merchants_create_json(env: Path) -> None:
    runner = CliRunner()
    args = ["merchants", "create", "--business-name", "CLI Shop", "--email", "cli@example.com",
            "--stacks-address", TEST_ADDRESS, "--json"]  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["secret_key"].startswith("sk_test_")
    assert body["id"].startswith("acct_")
    again = runner.invoke(main, args)
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert (env / "gateway.db").exists()
    assert (env / "dev-secrets.json").exists()


def test_merchants_create_rejects_bad_address(env: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["merchants", "create", "--business-name", "X", "--email", "x@example.com",
         "--stacks-address", MAINNET_ADDRESS],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "stacks_address" in result.output


def test_activate_refuses_in_test_mode(env: Path) -> None:
    result = CliRunner().invoke(
        main, ["merchants", "activate", "acct_x", "--live-stacks-address", MAINNET_ADDRESS]
    )
    assert result.exit_code != 0
    assert "test mode" in result.output


def test_activation_issues_live_keys(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    created = runner.invoke(
        main,
        ["merchants", "create", "--business-name", "Live", "--email", "live@example.com",
         "--stacks-address", TEST_ADDRESS, "--json"],
    )  # fmt: skip
    merchant = json.loads(created.stdout)
    secrets = json.loads((env / "dev-secrets.json").read_text())
    monkeypatch.setenv("SBTC_MODE", "live")
    monkeypatch.setenv("SBTC_DATABASE_URL", f"sqlite+aiosqlite:///{env / 'gateway.db'}")
    monkeypatch.setenv("SBTC_API_KEY_SECRET", secrets["api_key_secret"])
    monkeypatch.setenv("SBTC_GATEWAY_SIGNING_KEY", secrets["gateway_signing_key"])
    monkeypatch.setenv("SBTC_ENCRYPTION_KEYS", secrets["encryption_keys"])
    monkeypatch.setenv("SBTC_JWT_PRIVATE_KEY", secrets["jwt_private_key"])
    monkeypatch.setenv("SBTC_LIVE_GATEWAY_CONTRACT", f"{MAINNET_ADDRESS}.sbtc-payment-gateway")
    bad = runner.invoke(
        main, ["merchants", "activate", merchant["id"], "--live-stacks-address", TEST_ADDRESS]
    )
    assert bad.exit_code != 0
    result = runner.invoke(
        main,
        [
            "merchants",
            "activate",
            merchant["id"],
            "--live-stacks-address",
            MAINNET_ADDRESS,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["secret_key"].startswith("sk_live_")
    assert body["publishable_key"].startswith("pk_live_")
    twice = runner.invoke(
        main, ["merchants", "activate", merchant["id"], "--live-stacks-address", MAINNET_ADDRESS]
    )
    assert twice.exit_code != 0
    assert "already activated" in twice.output
