"""structlog configuration: JSON lines in production, readable lines in a terminal.

Nothing secret is ever passed to a logger: keys, secrets and signatures stay out of log calls by
construction (NewKey's repr hides the key; settings hold secrets as SecretStr).
"""

from __future__ import annotations

import logging
import sys

import structlog

# Third-party loggers whose DEBUG lines carry SQL parameters (key digests, lookup prefixes):
# never below INFO, whatever SBTC_LOG_LEVEL says.
QUIET_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg")


def quiet_third_party_loggers() -> None:
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    quiet_third_party_loggers()
    # httpx logs every request at INFO; webhook attempts have their own log (webhook_attempts).
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
