"""structlog configuration: JSON lines in production, readable lines in a terminal.

Nothing secret is ever passed to a logger: keys, secrets and signatures stay out of log calls by
construction (NewKey's repr hides the key; settings hold secrets as SecretStr). What other code
would print is kept out here, whatever SBTC_LOG_LEVEL says:
- the database drivers' and SQLAlchemy's statement logs stay off (`QUIET_LOGGERS`), and the
  engine hides parameters from its log and from its errors' messages (`db/engine.py`);
- httpx (every request URL at INFO) and httpcore (header lists at DEBUG) stay at WARNING;
- tracebacks are plain, without the frames' local variables (a pretty console traceback would
  print every header, key and body a frame held);
- uvicorn's access log shows the path without its query string (a publishable-key retrieve
  carries the intent's client secret as `?client_secret=…`).
"""

from __future__ import annotations

import logging
import sys

import structlog

# Third-party loggers and the lowest level each may log at, whatever SBTC_LOG_LEVEL says:
# - the drivers' DEBUG lines print every statement with its parameters (key digests, lookup
#   prefixes, bodies);
# - SQLAlchemy's INFO is its echo (every statement; parameters are hidden by the engine anyway);
# - httpx logs every request's URL at INFO, httpcore every header list at DEBUG (webhook
#   attempts have their own log, webhook_attempts).
QUIET_LOGGERS = {
    "aiosqlite": logging.INFO,
    "asyncpg": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "sqlalchemy.pool": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
}
ACCESS_LOGGER = "uvicorn.access"


def quiet_third_party_loggers() -> None:
    for name, floor in QUIET_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < floor:
            logger.setLevel(floor)


class PathWithoutQuery(logging.Filter):
    """On uvicorn's access logger: its line is `'%s - "%s %s HTTP/%s" %d'` with the client, the
    method, the path *with* its query string, the version and the status; keep the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def strip_access_log_queries() -> None:
    """A filter on the logger itself: it stays when uvicorn (re)configures its handlers, before
    or after this runs."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, PathWithoutQuery) for f in access.filters):
        access.addFilter(PathWithoutQuery())


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        # plain tracebacks: the default (rich, when installed) shows every frame's locals
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
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
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,  # a plain traceback, as structlog's own
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet_third_party_loggers()
    strip_access_log_queries()
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
