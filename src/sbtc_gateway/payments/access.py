"""Who may act on one intent from a browser: a publishable key, or the client secret alone.

A browser holds no secret key. Stripe.js sends the merchant's publishable key *and* the
intent's client secret; the hosted checkout page (`/checkout/pi_…#pi_…_secret_…`) has only the
client secret, which the merchant's server got from the gateway and passed on in the page's
URL fragment (ADR 0017). The client secret is an HMAC of the intent id under the server's key
(`onchain.client_secret`), so holding it proves a right to this one intent and nothing else:
`authorize_intent` then acts as the intent's merchant's publishable key would, for this intent.
With an `Authorization` header, the usual rules apply (a publishable key must also send the
client secret; a secret key or a dashboard user need not).
"""

from __future__ import annotations

import hmac

from fastapi import Request

from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.context import HttpContext
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.payments import repository
from sbtc_gateway.payments.service import PaymentSettings, check_client_secret

CLIENT_SECRET_SCOPE = "cs:"  # noqa: S105 — the idempotency and rate-limit scope of a client-secret caller


async def authorize_intent(
    request: Request,
    gw: HttpContext,
    permission: str,
    intent_id: str,
    client_secret: str | None,
) -> AuthenticatedKey:
    cfg = gw.get(PaymentSettings)
    if request.headers.get("authorization"):
        caller = await authorize(request, gw, permission, publishable=True)
        if caller.kind == "publishable":
            check_client_secret(cfg, intent_id, client_secret)
        return caller
    if client_secret is None:
        raise codes.API_KEY_MISSING()
    if not hmac.compare_digest(client_secret.encode(), cfg.client_secret(intent_id).encode()):
        raise codes.RESOURCE_MISSING(param="client_secret", object="payment_intent", id=intent_id)
    async with gw.sessions() as session:
        scope = await repository.scope_of(session, intent_id)
    if scope is None:  # a valid secret of an id that was never stored: cannot happen
        raise codes.RESOURCE_MISSING(object="payment_intent", id=intent_id)
    merchant_id, livemode = scope
    return AuthenticatedKey(
        api_key_id=CLIENT_SECRET_SCOPE + intent_id,
        merchant_id=merchant_id,
        livemode=livemode,
        kind="publishable",
        expires_at=None,
    )
