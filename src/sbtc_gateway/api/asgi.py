"""Module-level app for `uvicorn --workers N` (each worker process builds its own)."""

from sbtc_gateway.api.app import create_app
from sbtc_gateway.config import load_settings

app = create_app(load_settings())
