"""One receipt e-mail through SMTP (the standard library's client, in a worker thread).

`SBTC_SMTP_URL`: `smtp://[user:password@]host[:port]` (port 25 by default; `?starttls=1`
upgrades the connection), or `smtps://…` (TLS from the start, port 465). The URL holds a
password: it is a secret setting and never logged.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool
    starttls: bool
    user: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SBTC_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
        tls = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            tls=tls,
            starttls=query.get("starttls", ["0"])[0] in ("1", "true"),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _send(target: SmtpTarget, message: EmailMessage, timeout: float) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if target.tls:
        smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=timeout)
    with smtp:
        if target.starttls:
            smtp.starttls(context=context)
        if target.user is not None:
            smtp.login(target.user, target.password or "")
        smtp.send_message(message)


SMTP_TIMEOUT_SECONDS = 20.0


async def send(target: SmtpTarget, message: EmailMessage) -> None:
    await asyncio.to_thread(_send, target, message, SMTP_TIMEOUT_SECONDS)
