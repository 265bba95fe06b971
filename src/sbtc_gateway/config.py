"""All configuration, from environment variables (prefix `SBTC_`) and the command line.

A test-mode gateway (the default, for `make run` and development) may generate its secrets and
keep them in the data directory. A live-mode gateway serves mainnet money and refuses to start
unless every secret is given explicitly: there are no default secrets.
"""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    TEST = "test"
    LIVE = "live"


# Secrets a live-mode gateway must be given; test mode generates what is missing.
SECRET_FIELDS = (
    "api_key_secret",
    "gateway_signing_key",
    "encryption_keys",
    "jwt_private_key",
)
# The environment variables named in messages (the keyring also answers to its former name).
SECRET_VARIABLES = {"encryption_keys": "SBTC_ENCRYPTION_KEYS (or SBTC_WEBHOOK_ENCRYPTION_KEYS)"}


class ConfigurationError(RuntimeError):
    """The gateway cannot start with this configuration."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SBTC_", extra="ignore")

    mode: Mode = Mode.TEST
    data_dir: Path = Path("./var")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None

    api_key_secret: SecretStr | None = None
    gateway_signing_key: SecretStr | None = None
    # The keyring for data at rest (core/crypto.py): `kid:base64(32 bytes),…`, the first
    # encrypts, all decrypt. It encrypts webhook signing secrets and stored idempotent responses.
    encryption_keys: SecretStr | None = None
    # Its former name, from when it only encrypted webhook secrets: still read (`keyring_keys`).
    webhook_encryption_keys: SecretStr | None = None
    # Dashboard users: the RSA private key (PEM, ≥ 2048 bits) that signs RS256 access tokens;
    # the public half is served at /.well-known/jwks.json. Access and refresh token lifetimes.
    jwt_private_key: SecretStr | None = None
    jwt_access_ttl_seconds: int = Field(default=3600, ge=60, le=24 * 3600)
    jwt_refresh_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=3600, le=90 * 24 * 3600)
    # A dashboard session ends this long after its login, however often it is refreshed.
    jwt_session_max_seconds: int = Field(default=30 * 24 * 3600, ge=3600, le=365 * 24 * 3600)

    # Chain: test-mode intents pay on `test_network`, live-mode ones on mainnet.
    test_network: Literal["devnet", "testnet"] = "devnet"
    test_stacks_api_url: str = "http://127.0.0.1:3999"
    live_stacks_api_url: str = "https://api.hiro.so"
    test_gateway_contract: str = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.sbtc-payment-gateway"
    live_gateway_contract: str | None = None
    # Earlier deployments of the contract the watcher still follows, oldest first, comma
    # separated (an upgrade, ADR 0101): their intents are paid, refunded and their held fees
    # paid out there. New intents are signed for the *_gateway_contract only.
    test_previous_gateway_contracts: str = ""
    live_previous_gateway_contracts: str = ""
    # Average Stacks block time, to turn an intent's remaining lifetime into an expiry height.
    stacks_block_time_seconds: float = Field(default=5.0, gt=0)
    # The chain watcher: poll interval, and how many Stacks blocks must bury a payment of at
    # least `large_payment_sats` before it counts as succeeded (smaller ones: 1 block).
    watcher_poll_interval_seconds: float = Field(default=2.0, gt=0)
    # A standby watcher tries the leader's lock this often: the longest a failover waits.
    watcher_standby_seconds: float = Field(default=5.0, gt=0)
    large_payment_sats: int = Field(default=10_000_000, ge=1)
    large_payment_confirmations: int = Field(default=6, ge=1)
    # A credited payment (or refund) whose block is rolled back and that is not mined again
    # within this many blocks is lost for good: reversed, and the merchant told (ADR 0011).
    reorg_reinclusion_blocks: int = Field(default=20, ge=1, le=10_000)
    # How often the worker compares the ledger with the contract's counters (ADR 0010).
    reconcile_interval_seconds: float = Field(default=300.0, gt=0)
    # The operator account (ADR 0012): the worker signs with this key (hex; never logged)
    # `distribute-fees` for paid intents and `revoke-signed-intent` for canceled confirmed
    # ones (owner only: it must be the contract owner's key). Unset: fees stay in the contract
    # and canceled terms stay payable until their expiry height.
    operator_key: SecretStr | None = None
    fee_batch_size: int = Field(default=25, ge=1, le=25)
    # How long a worker owns the calls it claimed (then another takes them over), and how often
    # a broadcast call is looked up until it is mined or dropped.
    operator_lease_seconds: int = Field(default=120, ge=5)
    operator_recheck_seconds: int = Field(default=30, ge=1)
    # Bearer token Chainhook / the node's event observer must send to /chain/chainhook and
    # /chain/new_block. Unset: pushes are refused (the watcher polls).
    chain_push_token: SecretStr | None = None

    min_amount_sats: int = Field(default=1_000, ge=1)
    max_amount_sats: int = Field(default=1_000_000_000, ge=1)
    default_expiry_seconds: int = Field(default=1_800, ge=60, le=7 * 24 * 3600)
    key_rotation_grace_seconds: int = Field(default=24 * 3600, ge=0)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    idempotency_retention_seconds: int = Field(default=24 * 3600, ge=3600)
    auth_cache_seconds: float = Field(default=1.0, ge=0, le=1.0)
    sweep_interval_seconds: float = Field(default=15.0, gt=0)
    db_pool_size: int = Field(default=20, ge=1)
    # Point-in-time recovery (db/pitr.py): base backups here, WAL in this archive (a directory
    # or file:// URL, db/wal.py), both pruned past the window; the daily restore check works in
    # SBTC_DATA_DIR. Events and webhook attempts older than their window are dropped with their
    # monthly partitions on PostgreSQL (db/partitions.py; 0 keeps them).
    backup_dir: Path | None = None
    wal_archive: str | None = None
    backup_retention_days: int = Field(default=7, ge=1, le=3650)
    event_retention_days: int = Field(default=90, ge=0, le=3650)
    # PostgreSQL through PgBouncer in transaction pooling mode: no prepared-statement cache,
    # statement names unique per prepare, no startup parameters (db/engine.py).
    db_pgbouncer: bool = False
    db_lock_timeout_ms: int = Field(default=2_000, ge=50, le=60_000)

    # Webhook delivery (see docs/adr/0006-webhook-delivery.md).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=1024)
    webhook_concurrency: int = Field(default=64, ge=1)
    webhook_endpoint_concurrency: int = Field(default=8, ge=1)
    webhook_poll_interval_seconds: float = Field(default=0.5, gt=0)
    webhook_batch_size: int = Field(default=500, ge=1)
    webhook_test_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_test_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    webhook_test_retry_window_seconds: float = Field(default=3 * 3600.0, gt=0)
    webhook_disable_after_seconds: int = Field(default=5 * 24 * 3600, ge=1)
    webhook_secret_overlap_seconds: int = Field(default=24 * 3600, ge=0, le=7 * 24 * 3600)

    # Analytics (ADR 0016): reads go to this database when set (a read replica of the primary,
    # opened read-only), to the primary otherwise. The worker folds the events outbox into the
    # analytics tables in batches of `analytics_batch_size`, polling this often when idle.
    analytics_database_url: str | None = None
    analytics_batch_size: int = Field(default=500, ge=1, le=10_000)
    analytics_poll_interval_seconds: float = Field(default=1.0, gt=0)
    # How long the realtime figures are kept in the shared cache (`metrics:realtime`).
    analytics_realtime_cache_seconds: float = Field(default=30.0, ge=0, le=300)
    # Report runs: where the local file store keeps generated reports (default: the data
    # directory's `files/`), and how long a worker owns a run it claimed.
    reports_dir: Path | None = None
    report_lease_seconds: int = Field(default=600, ge=10)
    # Platform operators (`/v1/platform/*`): only from these comma-separated CIDRs.
    platform_allowed_ips: str = "127.0.0.1/32,::1/128"

    log_level: str = "INFO"
    log_json: bool = True

    # Shared state (rate limits, caches, nonces, pub/sub): Redis when set, else in-process.
    redis_url: str | None = None
    redis_key_prefix: str = "sbtc:"
    # Rate limits (sliding window). Per API key: `rate_limit_per_minute` times the tier's
    # multiplier (merchants/tiers.py); per client IP for unauthenticated requests.
    rate_limit_enabled: bool = True
    rate_limit_per_minute: int = Field(default=1_500, ge=1)
    anonymous_rate_limit_per_minute: int = Field(default=120, ge=1)
    signup_rate_limit_per_hour: int = Field(default=20, ge=1)
    key_rotation_rate_limit_per_hour: int = Field(default=20, ge=1)
    # Dashboard logins per minute, counted per client IP and per email separately.
    login_rate_limit_per_minute: int = Field(default=10, ge=1)
    # Comma-separated CIDRs whose X-Forwarded-For is believed (the load balancers).
    trusted_proxies: str = ""
    # Comma-separated origins allowed by CORS, or `*` (keys travel in headers, not cookies).
    cors_origins: str = "*"
    # None: signatures required for live keys only; True: for every key; False: never.
    require_request_signing: bool | None = None
    intent_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # The built front end (`web/dist`, made by `make setup`): checkout, widget, docs. Unset:
    # the `web/dist` folder of the source tree this package runs from (the image sets
    # /opt/sbtc-gateway/web).
    web_dist_dir: Path | None = None
    # Receipt e-mails (sent by the worker from the events outbox): smtp://[user:pass@]host:port
    # (smtps:// for TLS from the start; `?starttls=1` to upgrade). Unset: no e-mails.
    smtp_url: SecretStr | None = None
    smtp_from: str = "receipts@localhost"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    def previous_contracts(self, livemode: bool) -> tuple[str, ...]:
        """The earlier deployments a mode's watcher follows, oldest first."""
        raw = (
            self.live_previous_gateway_contracts
            if livemode
            else self.test_previous_gateway_contracts
        )
        return tuple(c.strip() for c in raw.split(",") if c.strip())

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def signing_required(self, livemode: bool) -> bool:
        if self.require_request_signing is None:
            return livemode
        return self.require_request_signing

    @property
    def live(self) -> bool:
        return self.mode is Mode.LIVE

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'gateway.db').resolve()}"

    @property
    def resolved_reports_dir(self) -> Path:
        return self.reports_dir if self.reports_dir is not None else self.data_dir / "files"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            raise ConfigurationError(f"SBTC_{name.upper()} is not set")
        secret: str = value.get_secret_value()
        return secret

    def keyring_keys(self) -> str:
        """The keyring's `kid:key,…` list, from SBTC_ENCRYPTION_KEYS or its former name
        SBTC_WEBHOOK_ENCRYPTION_KEYS (either; both only if they agree)."""
        current, former = self.encryption_keys, self.webhook_encryption_keys
        if current is None:
            if former is None:
                raise ConfigurationError(f"{SECRET_VARIABLES['encryption_keys']} is not set")
            keys: str = former.get_secret_value()
            return keys
        keys = current.get_secret_value()
        if former is not None and former.get_secret_value() != keys:
            raise ConfigurationError(
                "SBTC_ENCRYPTION_KEYS and SBTC_WEBHOOK_ENCRYPTION_KEYS are both set and differ: "
                "set SBTC_ENCRYPTION_KEYS only"
            )
        return keys


def load_settings(**overrides: object) -> Settings:
    """Read settings, then make sure every secret is present (or refuse to start).

    With SBTC_SECRETS_DIR (compose and Kubernetes mount secrets as files), any setting may be
    a file there named like its variable in lower case (`sbtc_api_key_secret`); a variable
    that is set wins over its file."""
    values: dict[str, object] = dict(overrides)
    secrets_dir = os.environ.get("SBTC_SECRETS_DIR")
    if secrets_dir:
        if not Path(secrets_dir).is_dir():
            raise ConfigurationError(f"SBTC_SECRETS_DIR {secrets_dir} is not a directory")
        values["_secrets_dir"] = secrets_dir
    settings = Settings(**values)  # type: ignore[arg-type]
    return ensure_secrets(settings)


def ensure_secrets(settings: Settings) -> Settings:
    settings = _one_keyring_name(settings)
    missing = [name for name in SECRET_FIELDS if getattr(settings, name) is None]
    if settings.live:
        if missing:
            names = ", ".join(SECRET_VARIABLES.get(n, f"SBTC_{n.upper()}") for n in missing)
            raise ConfigurationError(f"live mode refuses to start without {names}")
        if not settings.database_url:
            raise ConfigurationError("live mode needs SBTC_DATABASE_URL (no embedded database)")
        if not settings.live_gateway_contract:
            raise ConfigurationError("live mode needs SBTC_LIVE_GATEWAY_CONTRACT")
        if len(settings.secret("api_key_secret")) < 32:
            raise ConfigurationError("SBTC_API_KEY_SECRET must be at least 32 characters")
        _check_keyring(settings)
        _check_jwt_key(settings)
        return settings
    if not missing:
        _check_keyring(settings)
        return settings
    generated = _load_or_create_dev_secrets(settings.data_dir, missing)
    return settings.model_copy(update={n: SecretStr(generated[n]) for n in missing})


def _one_keyring_name(settings: Settings) -> Settings:
    """The keyring under its current name too (refusing two names that disagree)."""
    if settings.encryption_keys is None and settings.webhook_encryption_keys is None:
        return settings
    return settings.model_copy(update={"encryption_keys": SecretStr(settings.keyring_keys())})


def _check_keyring(settings: Settings) -> None:
    from sbtc_gateway.core.crypto import KeyringError, parse_keys

    try:
        parse_keys(settings.keyring_keys())
    except KeyringError as exc:
        raise ConfigurationError(f"SBTC_ENCRYPTION_KEYS: {exc}") from None


def _check_jwt_key(settings: Settings) -> None:
    from sbtc_gateway.core.rsa_keys import InvalidSigningKeyError, load_private_key

    try:
        load_private_key(settings.secret("jwt_private_key"))
    except InvalidSigningKeyError as exc:
        raise ConfigurationError(f"SBTC_JWT_PRIVATE_KEY: {exc}") from None


def _generate_secret(name: str) -> str:
    if name == "jwt_private_key":
        from sbtc_gateway.core.rsa_keys import generate_private_key_pem

        return generate_private_key_pem()
    if name == "encryption_keys":
        from sbtc_gateway.core.crypto import generate_key_entry

        return generate_key_entry()
    return secrets.token_hex(32)


def _load_or_create_dev_secrets(data_dir: Path, names: list[str]) -> dict[str, str]:
    """Development secrets, generated once and kept (0600) so keys survive restarts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "dev-secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    if "encryption_keys" not in stored and "webhook_encryption_keys" in stored:
        # generated under the keyring's former name: the same keys (kept under both names)
        stored["encryption_keys"] = stored["webhook_encryption_keys"]
        changed = True
    for name in names:
        if name not in stored:
            stored[name] = _generate_secret(name)
            changed = True
    if changed:
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh)
        tmp.replace(path)
    return stored
