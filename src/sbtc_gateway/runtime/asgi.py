"""Module-level app for `uvicorn --workers N` (each worker process builds its own)."""

from sbtc_gateway.config import load_settings
from sbtc_gateway.core.logging import configure_logging
from sbtc_gateway.runtime.app import create_app

settings = load_settings()
# Worker processes start from this module, not from the CLI: configure their logging here.
configure_logging(settings.log_level, json=settings.log_json)
app = create_app(settings)
