"""Pure functions: an event → its `payment_events` row, and a payment's rows → its summary.

No I/O here, so the consumer and the rebuild cannot disagree on what a row says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sbtc_gateway.analytics.models import PaymentEvent

INTENT = "payment_intent."
CHARGE = "charge."
REFUND = "refund."


def _str(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _payer(obj: Mapping[str, Any]) -> str | None:
    sbtc = obj.get("sbtc")
    if isinstance(sbtc, dict) and isinstance(sbtc.get("payer"), str):
        return str(sbtc["payer"])
    details = obj.get("payment_method_details")
    if isinstance(details, dict) and isinstance(details.get("sbtc"), dict):
        payer = details["sbtc"].get("payer")
        return payer if isinstance(payer, str) else None
    return None


def _reason(type_: str, obj: Mapping[str, Any]) -> str | None:
    if type_ == "payment_intent.canceled":
        return _str(obj.get("cancellation_reason"), 64)
    if type_ == "payment_intent.payment_failed":
        error = obj.get("last_payment_error")
        return _str(error.get("code"), 64) if isinstance(error, dict) else None
    if type_.startswith(CHARGE):
        return _str(obj.get("failure_code"), 64)
    if type_.startswith(REFUND):
        return _str(obj.get("failure_reason") or obj.get("reason"), 64)
    return None


def payment_event(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `payment_events` row of an `events` row (given as a mapping of its columns), or
    None for events that are not about a payment (endpoints, accounts, reports)."""
    type_: str = event["type"]
    data = event["data"] or {}
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return None
    details: dict[str, Any] = {"object_id": obj.get("id")}
    if type_.startswith(INTENT):
        payment_id, charge_id = obj.get("id"), obj.get("latest_charge")
        details["intent_created"] = _int(obj.get("created"))
        details["amount_received"] = _int(obj.get("amount_received"))
    elif type_.startswith(CHARGE):
        payment_id, charge_id = obj.get("payment_intent"), obj.get("id")
        details["late"] = bool(
            (obj.get("payment_method_details") or {}).get("sbtc", {}).get("late")
        )
    elif type_.startswith(REFUND):
        payment_id, charge_id = obj.get("payment_intent"), obj.get("charge")
    else:
        return None
    if not isinstance(payment_id, str):
        return None
    details["payer"] = _payer(obj)
    metadata = obj.get("metadata")
    return {
        "id": event["id"],
        "merchant_id": event["merchant_id"],
        "livemode": event["livemode"],
        "payment_id": payment_id,
        "charge_id": charge_id if isinstance(charge_id, str) else None,
        "event_type": type_,
        "status": _str(obj.get("status"), 32),
        "reason": _reason(type_, obj),
        "amount": _int(obj.get("amount")),
        "timestamp": event["created"],
        "metadata_": dict(metadata) if isinstance(metadata, dict) else {},
        "details": details,
        "ip_address": event.get("request_ip"),
        "user_agent": event.get("request_user_agent"),
    }


def summarize(rows: Iterable[PaymentEvent]) -> dict[str, Any] | None:
    """A payment's `analytics_payments` row from all its `payment_events`, oldest first
    (None while no intent event has been seen: its creation time is not known yet)."""
    s: dict[str, Any] = {
        "amount_received": 0,
        "confirmed_at": None,
        "processing_at": None,
        "succeeded_at": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "failure_code": None,
        "failed_attempts": 0,
        "reversals": 0,
        "paid_late": False,
        "payer": None,
    }
    created: int | None = None
    for row in sorted(rows, key=lambda r: (r.timestamp, r.id)):
        t, ts, details = row.event_type, row.timestamp, row.details or {}
        s.update(id=row.payment_id, merchant_id=row.merchant_id, livemode=row.livemode)
        if t.startswith(INTENT):
            created = details.get("intent_created") or created or ts
            s["amount"] = row.amount
        if details.get("payer"):
            s["payer"] = details["payer"]
        if t == "payment_intent.requires_action" and s["confirmed_at"] is None:
            s["confirmed_at"] = ts
        elif t in ("payment_intent.processing", "charge.pending") and s["processing_at"] is None:
            s["processing_at"] = ts
        elif t == "payment_intent.succeeded":
            s["succeeded_at"], s["amount_received"] = ts, _int(details.get("amount_received"))
        elif t == "payment_intent.payment_reversed":
            s["reversals"] += 1
            s["succeeded_at"], s["amount_received"] = None, 0
        elif t == "payment_intent.canceled":
            s["canceled_at"], s["cancellation_reason"] = ts, row.reason
        elif t == "payment_intent.paid_late":
            s["paid_late"] = True
        elif t == "charge.failed":
            s["failed_attempts"] += 1
            s["failure_code"] = row.reason
        elif t == "payment_intent.payment_failed" and row.reason:
            s["failure_code"] = row.reason
    if created is None or "amount" not in s:
        return None
    s["created"] = created
    return s
