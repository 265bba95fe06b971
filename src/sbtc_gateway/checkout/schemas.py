"""Parameters of the browser endpoints and the objects they answer."""

from __future__ import annotations

from typing import Annotated

from sbtc_gateway.core.params import OptStr, Params, StrList, Text


class CheckoutParams(Params):
    # In the body (never a query string or a path): the page reads it from its URL fragment.
    client_secret: OptStr = None
    expand: StrList = []


class PayerBalanceParams(Params):
    client_secret: OptStr = None
    # required, but checked after the caller is (the client secret is in the same body)
    payer: Annotated[str | None, Text(64)] = None
    expand: StrList = []


CHECKOUT_FIELDS = [
    "object", "livemode", "now", "payment_intent", "merchant", "network", "time_left",
    "return_url", "receipt",
]  # fmt: skip
MERCHANT_FIELDS = ["business_name", "logo_url", "accent_color"]
RECEIPT_FIELDS = [
    "object", "payment_intent", "livemode", "merchant", "description", "amount", "amount_sbtc",
    "currency", "payer", "txid", "block_height", "paid_at", "network", "explorer_url",
]  # fmt: skip
PAYER_BALANCE_FIELDS = ["object", "payer", "network", "sufficient", "sbtc", "stx"]
