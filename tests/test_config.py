import json
import stat
from pathlib import Path
from typing import Any

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
        "encryption_keys",
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


OTHER_KEYS = "k2:" + "B" * 43 + "="


def _live(tmp_path: Path) -> dict[str, Any]:
    return {
        "mode": "live",
        "data_dir": tmp_path,
        "database_url": "postgresql+asyncpg://x/y",
        "live_gateway_contract": "SP2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXHVVQFKE.gw",
        "api_key_secret": SecretStr("s" * 40),
        "gateway_signing_key": SecretStr("11" * 32),
        "jwt_private_key": SecretStr(JWT_KEY),
    }


def test_the_keyring_is_read_under_either_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SBTC_ENCRYPTION_KEYS", "SBTC_WEBHOOK_ENCRYPTION_KEYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SBTC_ENCRYPTION_KEYS", WEBHOOK_KEYS)
    assert ensure_secrets(Settings(**_live(tmp_path))).keyring_keys() == WEBHOOK_KEYS
    monkeypatch.delenv("SBTC_ENCRYPTION_KEYS")
    monkeypatch.setenv("SBTC_WEBHOOK_ENCRYPTION_KEYS", WEBHOOK_KEYS)
    former = ensure_secrets(Settings(**_live(tmp_path)))
    assert former.keyring_keys() == WEBHOOK_KEYS
    assert former.secret("encryption_keys") == WEBHOOK_KEYS
    monkeypatch.setenv("SBTC_ENCRYPTION_KEYS", WEBHOOK_KEYS)  # both, the same keys: fine
    assert ensure_secrets(Settings(**_live(tmp_path))).keyring_keys() == WEBHOOK_KEYS


@pytest.mark.parametrize("mode", ["live", "test"])
def test_two_different_keyrings_refuse_to_start(tmp_path: Path, mode: str) -> None:
    both = {
        **_live(tmp_path),
        "mode": mode,
        "encryption_keys": SecretStr(WEBHOOK_KEYS),
        "webhook_encryption_keys": SecretStr(OTHER_KEYS),
    }
    with pytest.raises(ConfigurationError, match="both set and differ"):
        ensure_secrets(Settings(**both))
    with pytest.raises(ConfigurationError, match="both set and differ"):
        Settings(**both).keyring_keys()


def test_live_mode_refuses_to_start_without_a_keyring(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="without SBTC_ENCRYPTION_KEYS"):
        ensure_secrets(Settings(**_live(tmp_path)))
    with pytest.raises(ConfigurationError, match=r"SBTC_ENCRYPTION_KEYS: .*32 bytes"):
        ensure_secrets(Settings(**_live(tmp_path), encryption_keys=SecretStr("k1:c2hvcnQ=")))


def test_test_mode_keeps_keys_generated_under_the_former_name(tmp_path: Path) -> None:
    path = tmp_path / "dev-secrets.json"
    path.write_text(json.dumps({"webhook_encryption_keys": WEBHOOK_KEYS}))
    settings = ensure_secrets(Settings(data_dir=tmp_path))
    assert settings.keyring_keys() == WEBHOOK_KEYS  # webhook secrets stored before still decrypt
    stored = json.loads(path.read_text())
    assert stored["encryption_keys"] == stored["webhook_encryption_keys"] == WEBHOOK_KEYS


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
