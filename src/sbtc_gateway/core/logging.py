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
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    # Standard-library records (the chain client, uvicorn, SQLAlchemy warnings) go through the
    # same renderer, with the request id bound in the context: a Stacks API retry made while
    # serving a request carries that request's id, like the gateway's own lines.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(),
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet_third_party_loggers()
    # httpx logs every request at INFO; webhook attempts have their own log (webhook_attempts).
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
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
