import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from sbtc_gateway.config import ConfigurationError, Settings, ensure_secrets

WEBHOOK_KEYS = "k1:" + "A" * 43 + "="


def test_live_mode_refuses_without_secrets(tmp_path: Path) -> None:
    settings = Settings(mode="live", data_dir=tmp_path, database_url="postgresql+asyncpg://x/y")
    with pytest.raises(ConfigurationError, match="SBTC_API_KEY_SECRET"):
        ensure_secrets(settings)
    assert not (tmp_path / "dev-secrets.json").exists()


def test_live_mode_needs_database_and_contract(tmp_path: Path) -> None:
    secrets = {
        "api_key_secret": SecretStr("s" * 40),
        "gateway_signing_key": SecretStr("11" * 32),
        "webhook_encryption_keys": SecretStr(WEBHOOK_KEYS),
    }
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        ensure_secrets(Settings(mode="live", data_dir=tmp_path, **secrets))
    with pytest.raises(ConfigurationError, match="LIVE_GATEWAY_CONTRACT"):
        ensure_secrets(
            Settings(
                mode="live", data_dir=tmp_path, database_url="postgresql+asyncpg://x/y", **secrets
            )
        )
    with pytest.raises(ConfigurationError, match="at least 32"):
        ensure_secrets(
            Settings(
                mode="live",
                data_dir=tmp_path,
                database_url="postgresql+asyncpg://x/y",
                live_gateway_contract="SP2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXHVVQFKE.gw",
                api_key_secret=SecretStr("short"),
                gateway_signing_key=SecretStr("11" * 32),
                webhook_encryption_keys=SecretStr(WEBHOOK_KEYS),
            )
        )


def test_test_mode_generates_and_keeps_secrets(tmp_path: Path) -> None:
    first = ensure_secrets(Settings(data_dir=tmp_path))
    second = ensure_secrets(Settings(data_dir=tmp_path))
    assert first.secret("api_key_secret") == second.secret("api_key_secret")
    path = tmp_path / "dev-secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) == {
        "api_key_secret",
        "gateway_signing_key",
        "webhook_encryption_keys",
    }


def test_secrets_do_not_leak_in_repr(tmp_path: Path) -> None:
    settings = ensure_secrets(Settings(data_dir=tmp_path))
    assert settings.secret("api_key_secret") not in repr(settings)


def test_webhook_encryption_keys_are_checked(tmp_path: Path) -> None:
    base = {
        "mode": "live",
        "data_dir": tmp_path,
        "database_url": "postgresql+asyncpg://x/y",
        "live_gateway_contract": "SP2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXHVVQFKE.gw",
        "api_key_secret": SecretStr("s" * 40),
        "gateway_signing_key": SecretStr("11" * 32),
    }
    with pytest.raises(ConfigurationError, match="SBTC_WEBHOOK_ENCRYPTION_KEYS"):
        ensure_secrets(Settings(**base))
    with pytest.raises(ConfigurationError, match="32 bytes"):
        ensure_secrets(Settings(**base, webhook_encryption_keys=SecretStr("k1:c2hvcnQ=")))
    ok = ensure_secrets(Settings(**base, webhook_encryption_keys=SecretStr(WEBHOOK_KEYS)))
    assert ok.secret("webhook_encryption_keys") == WEBHOOK_KEYS
