"""Logs of a full request cycle: JSON lines carrying the request id, and no key, secret or
signature anywhere in them."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

from sbtc_gateway.config import Settings
from sbtc_gateway.core import request_signing
from sbtc_gateway.core.logging import quiet_third_party_loggers
from sbtc_gateway.merchants import keys
from tests.conftest import OTHER_ADDRESS, Merchant, sign_up
from tests.webhooks.helpers import dispatcher, eventually
from tests.webhooks.receiver import Receiver


@pytest.fixture
def json_logs(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    """Every structlog line rendered as the production JSON, plus the stdlib records of the
    gateway's process (not those of the test's own HTTP client, httpx)."""
    lines: list[str] = []
    saved = structlog.get_config()

    def keep(_: Any, __: str, event: Any) -> Any:
        lines.append(event)
        raise structlog.DropEvent

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
            keep,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        cache_logger_on_first_use=False,
    )
    caplog.set_level(logging.DEBUG)
    quiet_third_party_loggers()  # what configure_logging does in production

    def collected() -> list[str]:
        stdlib = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
        return lines + stdlib

    try:
        yield collected
    finally:
        structlog.configure(**saved)


async def test_full_cycle_logs_carry_request_ids_and_no_secrets(
    sqlite_settings: Settings, make_instance: Any, json_logs: Callable[[], list[str]]
) -> None:
    gw = await make_instance(sqlite_settings.model_copy(update={"require_request_signing": True}))
    m = await sign_up(gw.client)
    receiver = Receiver().start()
    hook = await m.post(
        "/v1/webhook_endpoints",
        {"url": receiver.url, "enabled_events[]": "payment_intent.created"},
        signed=True,
    )
    assert hook.status_code == 200, hook.text
    pi = await m.create_intent(**{"metadata[order]": "42"})
    try:
        async with dispatcher(gw.app):
            await eventually(
                lambda: _delivered(receiver, pi["id"]), what="the webhook for the new intent"
            )
    finally:
        receiver.stop()
    confirmed = await m.post(
        f"/v1/payment_intents/{pi['id']}/confirm",
        {"payment_method_data[type]": "sbtc", "payment_method_data[sbtc][payer]": OTHER_ADDRESS},
    )
    assert confirmed.status_code == 200, confirmed.text
    seen = await m.get(
        f"/v1/payment_intents/{pi['id']}", {"client_secret": pi["client_secret"]}, key=m.pk
    )
    assert seen.status_code == 200
    signature = request_signing.sign_header(
        m.signing_secrets[m.sk], "POST", "/v1/api_keys/rotate", b"expires_in=0"
    )
    rotated = await gw.client.post(
        "/v1/api_keys/rotate",
        content=b"expires_in=0",
        headers={
            **m.headers(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Sbtc-Signature": signature,
        },
    )
    assert rotated.status_code == 200, rotated.text
    new_key = rotated.json()["secret"]
    assert (await m.get("/v1/account")).status_code == 401  # a failed auth is logged too
    assert (
        await Merchant(gw.client, {**m.body, "secret_key": new_key}).get("/v1/events")
    ).is_success

    secrets = {
        "secret key": m.sk,
        "publishable key": m.pk,
        "rotated key": new_key,
        "client secret": pi["client_secret"],
        "signature": signature.rsplit("v1=", 1)[1],
        "key digest": keys.digest(gw.gateway.key_secret, m.sk),
        "server secret": gw.gateway.key_secret,
        "signing secret": m.signing_secrets[m.sk],
        "rotated signing secret": rotated.json()["signing_secret"],
        "webhook signing secret": hook.json()["secret"],
    }
    logged = json_logs()
    text = "\n".join(logged)
    assert text, "the cycle wrote no logs"
    for what, value in secrets.items():
        assert value not in text, f"{what} found in the logs"
    assert "sk_test_" not in text
    assert "pk_test_" not in text

    structured = [json.loads(line) for line in logged if line.startswith('{"')]
    requests = [e for e in structured if e["event"] == "request"]
    assert len(requests) >= 7
    assert all(e["request_id"].startswith("req_") for e in requests)
    recorded = [e for e in structured if e["event"] == "event recorded"]
    assert recorded
    # the event lines carry the id of the request that caused them
    request_ids = {e["request_id"] for e in requests}
    assert all(e.get("request_id") in request_ids for e in recorded)

    # and the webhook attempt is logged with the id of the request that created the intent
    (created,) = [e for e in requests if e["route"] == "/v1/payment_intents"]
    attempts = [
        e
        for e in structured
        if e["event"] == "webhook attempt" and e["endpoint"] == hook.json()["id"]
    ]
    assert [a["request_id"] for a in attempts] == [created["request_id"]]
    assert attempts[0]["outcome"] == "succeeded"


async def _delivered(receiver: Receiver, intent_id: str) -> bool:
    return any(intent_id.encode() in r.body for r in receiver.requests)


def test_standard_library_records_are_json_with_the_request_id() -> None:
    """The chain client logs through the standard library: its lines come out as the same JSON,
    carrying the id of the request being served (run in a child: logging config is global)."""
    import subprocess
    import sys

    script = (
        "import logging, structlog\n"
        "from sbtc_gateway.core.logging import configure_logging\n"
        "configure_logging('INFO', json=True)\n"
        "structlog.contextvars.bind_contextvars(request_id='req_follow')\n"
        "logging.getLogger('sbtc_gateway.chain.client').info(\n"
        "    'stacks api retry', extra={'path': '/v2/info', 'retry': 1})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["event"] == "stacks api retry"
    assert line["request_id"] == "req_follow"
    assert line["logger"] == "sbtc_gateway.chain.client"
    assert line["path"] == "/v2/info"


async def test_login_and_refresh_cycle_logs_no_token_password_or_hash(
    sqlite_settings: Settings, make_instance: Any, json_logs: Callable[[], list[str]]
) -> None:
    from sqlalchemy import select

    from sbtc_gateway.users.models import User
    from sbtc_gateway.users.tokens import refresh_digest

    gw = await make_instance(sqlite_settings)
    password, new_password = "first long passphrase", "second long passphrase"
    m = await sign_up(gw.client, password=password)
    email = m.body["email"]
    bad = await gw.client.post("/v1/auth/login", data={"email": email, "password": "wrong" * 3})
    assert bad.status_code == 401
    first = (
        await gw.client.post("/v1/auth/login", data={"email": email, "password": password})
    ).json()
    second = (
        await gw.client.post("/v1/auth/refresh", data={"refresh_token": first["refresh_token"]})
    ).json()
    reused = await gw.client.post(
        "/v1/auth/refresh", data={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    third = (
        await gw.client.post("/v1/auth/login", data={"email": email, "password": password})
    ).json()
    token = third["access_token"]
    assert (await m.get("/v1/payment_intents", key=token)).status_code == 200
    assert (await m.get("/v1/payment_intents", key=token[:-4] + "AAAA")).status_code == 401
    changed = await m.post(
        "/v1/users/me/password",
        {"current_password": password, "new_password": new_password},
        key=token,
    )
    assert changed.status_code == 200, changed.text
    assert (await m.post("/v1/auth/logout", key=token)).status_code == 200
    async with gw.gateway.sessions() as session:
        stored_hash = await session.scalar(select(User.password_hash).where(User.email == email))
    assert stored_hash

    secrets = {
        "password": password,
        "new password": new_password,
        "password hash": stored_hash,
        "jwt private key": sqlite_settings.secret("jwt_private_key").splitlines()[1],
    }
    for n, body in enumerate((first, second, third)):
        secrets[f"access token {n}"] = body["access_token"]
        secrets[f"access token signature {n}"] = body["access_token"].rsplit(".", 1)[1]
        secrets[f"refresh token {n}"] = body["refresh_token"]
        secrets[f"refresh digest {n}"] = refresh_digest(
            gw.gateway.key_secret, body["refresh_token"]
        )
    text = "\n".join(json_logs())
    assert "/v1/auth/refresh" in text, "the cycle wrote no logs"
    for what, value in secrets.items():
        assert value not in text, f"{what} found in the logs"
    assert "$argon2id$" not in text
    assert "eyJ" not in text


def _child_output(script: str) -> str:
    """Run `script` in a fresh interpreter (logging configuration is global); all it wrote."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize("json_lines", [True, False])
def test_tracebacks_never_show_local_values(json_lines: bool) -> None:
    """An exception logged through the standard library (uvicorn's "Exception in ASGI
    application", say) is rendered as a plain traceback: no frame's local variables, which hold
    headers, keys and bodies (a pretty console traceback prints them all)."""
    output = _child_output(
        "import logging\n"
        "from sbtc_gateway.core.logging import configure_logging\n"
        f"configure_logging('DEBUG', json={json_lines})\n"
        "def handle(scope):\n"
        "    authorization = 'Bearer sk_test_LOCALSENTINEL'\n"
        "    raise RuntimeError('boom')\n"
        "try:\n"
        "    handle({'headers': [(b'authorization', b'Bearer sk_test_ARGSENTINEL')]})\n"
        "except RuntimeError:\n"
        "    logging.getLogger('uvicorn.error').exception('Exception in ASGI application')\n"
        "    import structlog\n"
        "    structlog.get_logger('x').exception('unhandled error')\n"
    )
    assert "RuntimeError: boom" in output
    assert "Traceback" in output
    assert "SENTINEL" not in output
    if json_lines:
        (stdlib,) = [json.loads(line) for line in output.splitlines() if "ASGI" in line]
        assert "RuntimeError: boom" in stdlib["exception"]


def test_debug_level_keeps_http_and_database_client_internals_out() -> None:
    """At SBTC_LOG_LEVEL=DEBUG: no SQL statements or parameters (aiosqlite, asyncpg, SQLAlchemy's
    echo, which DEBUG used to turn on), no header lists (httpcore), no request URLs (httpx)."""
    output = _child_output(
        "import logging\n"
        "from sbtc_gateway.core.logging import configure_logging\n"
        "configure_logging('DEBUG', json=True)\n"
        "import sqlalchemy\n"  # imported after, as `sbtc-gateway api` does
        "for name in ('aiosqlite', 'asyncpg'):\n"
        "    logging.getLogger(name).debug('SENTINEL %s', name)\n"
        "for name in ('sqlalchemy.engine.Engine', 'sqlalchemy.pool', 'httpcore.http11',\n"
        "             'httpcore.connection', 'httpx'):\n"
        "    logging.getLogger(name).debug('SENTINEL %s', name)\n"
        "    logging.getLogger(name).info('SENTINEL %s', name)\n"
        "logging.getLogger('sbtc_gateway.x').debug('gateway debug line')\n"
    )
    assert "gateway debug line" in output
    assert "SENTINEL" not in output


@pytest.mark.parametrize("uvicorn_first", [True, False])
def test_uvicorn_access_log_shows_paths_without_query_strings(uvicorn_first: bool) -> None:
    """`uvicorn sbtc_gateway.api.asgi:app` (uvicorn configures its loggers, then the app) or
    `sbtc-gateway api` (the other way round): a publishable-key retrieve's access line shows
    the path, never `?client_secret=…`."""
    uvicorn_config = "uvicorn.Config('sbtc_gateway.api.asgi:app', log_level='info')\n"
    ours = "configure_logging('DEBUG', json=True)\n"
    output = _child_output(
        "import logging, uvicorn\n"
        "from sbtc_gateway.core.logging import configure_logging\n"
        + (uvicorn_config + ours if uvicorn_first else ours + uvicorn_config)
        + "logging.getLogger('uvicorn.access').info('%s - \"%s %s HTTP/%s\" %d', '127.0.0.1:5',\n"
        "    'GET', '/v1/payment_intents/pi_1?client_secret=pi_1_secret_SENTINEL', '1.1', 200)\n"
    )
    assert "/v1/payment_intents/pi_1" in output
    assert "SENTINEL" not in output
    assert "client_secret" not in output


async def test_sql_parameters_are_never_shown(settings: Settings) -> None:
    """Neither in a database error's message (which an unhandled error's traceback prints) nor
    in the engine's own log (when someone turns `sqlalchemy.engine` up)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from sbtc_gateway.db.engine import make_engine

    engine = make_engine(settings.resolved_database_url)
    sql_log = logging.getLogger("sqlalchemy.engine.Engine")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    sql_log.addHandler(keep)
    saved = sql_log.level
    sql_log.setLevel(logging.INFO)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT :a AS a"), {"a": "sk_test_PARAMSENTINEL"})
            with pytest.raises(DBAPIError) as failed:
                await conn.execute(
                    text("SELECT * FROM no_such_table WHERE x = :secret"),
                    {"secret": "sk_test_PARAMSENTINEL"},
                )
    finally:
        sql_log.setLevel(saved)
        sql_log.removeHandler(keep)
        await engine.dispose()
    assert "no_such_table" in str(failed.value)
    assert "PARAMSENTINEL" not in str(failed.value)
    assert records, "the engine logged no statement"
    assert not [r for r in records if "PARAMSENTINEL" in r.getMessage()]
