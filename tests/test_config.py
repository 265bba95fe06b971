import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from sbtc_gateway.config import ConfigurationError, Settings, ensure_secrets
from tests.conftest import TEST_JWT_KEY

WEBHOOK_KEYS = "k1:" + "A" * 43 + "="
JWT_KEY = TEST_JWT_KEY


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
        "jwt_private_key": SecretStr(JWT_KEY),
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
                jwt_private_key=SecretStr(JWT_KEY),
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
        "jwt_private_key",
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
        "jwt_private_key": SecretStr(JWT_KEY),
    }
    with pytest.raises(ConfigurationError, match="SBTC_WEBHOOK_ENCRYPTION_KEYS"):
        ensure_secrets(Settings(**base))
    with pytest.raises(ConfigurationError, match="32 bytes"):
        ensure_secrets(Settings(**base, webhook_encryption_keys=SecretStr("k1:c2hvcnQ=")))
    ok = ensure_secrets(Settings(**base, webhook_encryption_keys=SecretStr(WEBHOOK_KEYS)))
    assert ok.secret("webhook_encryption_keys") == WEBHOOK_KEYS


def test_live_mode_needs_a_usable_jwt_key(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    base = {
        "mode": "live",
        "data_dir": tmp_path,
        "database_url": "postgresql+asyncpg://x/y",
        "live_gateway_contract": "SP2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXHVVQFKE.gw",
        "api_key_secret": SecretStr("s" * 40),
        "gateway_signing_key": SecretStr("11" * 32),
        "webhook_encryption_keys": SecretStr(WEBHOOK_KEYS),
    }
    with pytest.raises(ConfigurationError, match="SBTC_JWT_PRIVATE_KEY"):
        ensure_secrets(Settings(**base))

    def pem(key: object) -> SecretStr:
        return SecretStr(
            key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
        )

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    for bad, why in [
        (SecretStr("not a key"), "not a PEM"),
        (pem(ec.generate_private_key(ec.SECP256R1())), "not an RSA key"),
        (pem(small), "at least 2048"),
    ]:
        with pytest.raises(ConfigurationError, match=why):
            ensure_secrets(Settings(**base, jwt_private_key=bad))
    assert ensure_secrets(Settings(**base, jwt_private_key=SecretStr(JWT_KEY)))
