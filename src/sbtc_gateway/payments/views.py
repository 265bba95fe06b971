"""What an API caller is shown of an intent: the stored rendering plus its credentials.

A rendered intent (`schemas.render_payment_intent`) is what the database, the intent cache and
event payloads hold, and it carries no credential: `client_secret` is null and
`next_action.sbtc_contract_call` (which holds the gateway's signature) is absent. `present`
adds both back for the API response: the client secret is derived from the server's key, and
the signed call is rebuilt from the intent's own fields (RFC 6979 signatures are
deterministic, so it is the same call every time).
"""

from __future__ import annotations

from typing import Any

from sbtc_gateway.payments import onchain
from sbtc_gateway.payments.schemas import publishable_view
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.payments.state import Status


def present(
    obj: dict[str, Any], cfg: PaymentSettings, *, publishable: bool = False
) -> dict[str, Any]:
    shown = dict(obj)
    secret = cfg.client_secret(obj["id"])
    shown["client_secret"] = secret
    next_action = obj.get("next_action")
    if (
        isinstance(next_action, dict)
        and next_action.get("type") == "sbtc_contract_call"
        and obj.get("status") == Status.REQUIRES_ACTION
    ):
        shown["next_action"] = {**next_action, "sbtc_contract_call": _call(obj, cfg)}
        redirect = next_action.get("redirect_to_url")
        if isinstance(redirect, dict) and redirect.get("url"):
            # The hosted checkout reads the client secret from its URL fragment, which a
            # browser never sends to a server (ADR 0017): the link works as it is.
            url = str(redirect["url"]).split("#", 1)[0] + "#" + secret
            shown["next_action"]["redirect_to_url"] = {**redirect, "url": url}
    return publishable_view(shown) if publishable else shown


def _call(obj: dict[str, Any], cfg: PaymentSettings) -> dict[str, Any] | None:
    sbtc = obj["sbtc"]
    contract = cfg.contract_of(obj["livemode"], sbtc.get("contract_id"))
    if cfg.signing_key is None or contract is None or sbtc.get("expires_at_block") is None:
        return None
    return onchain.contract_call(
        network=onchain.network_for(cfg.network(obj["livemode"])),
        contract_id=contract,
        key=cfg.signing_key,
        intent_id=obj["id"],
        merchant=sbtc["payout_address"],
        payer=sbtc["payer"],
        amount=obj["amount"],
        fee=obj["application_fee_amount"],
        expires_at_block=sbtc["expires_at_block"],
    )
