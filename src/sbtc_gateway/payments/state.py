"""The PaymentIntent status machine, in one place.

Statuses and their meaning follow Stripe's PaymentIntent. For sBTC:
- `requires_payment_method`: created, no payer yet (or a payment failed and may be retried);
- `requires_confirmation`: the payer's wallet is known, not yet confirmed;
- `requires_action`: confirmed; `next_action` holds the contract call the wallet must sign;
- `processing`: the payment transaction has been seen (mempool or an unconfirmed block);
- `succeeded`: the transaction succeeded in a canonical block (and enough confirmations);
- `canceled`: by the merchant, or by the system (`expired`, …). Final.

`processing` cannot be canceled: the customer's money is already moving on chain. The chain can
move an intent out of any open status (a payment lands whatever the intent says); `succeeded`
goes back only when its payment is lost for good (ADR 0011: `payment_intent.payment_reversed`),
never for a reorg that re-mines it, so `payment_intent.succeeded` is sent once per payment.
"""

from __future__ import annotations

from enum import StrEnum

from sbtc_gateway.core import error_codes as codes


class Status(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


S = Status
ALLOWED: dict[Status, frozenset[Status]] = {
    # A payment sent with a signed call that is still valid can land after a failed attempt.
    S.REQUIRES_PAYMENT_METHOD: frozenset(
        {S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION, S.PROCESSING, S.SUCCEEDED, S.CANCELED}
    ),
    S.REQUIRES_CONFIRMATION: frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_ACTION, S.CANCELED}),
    # Re-confirming refreshes the signed terms, hence requires_action -> requires_action.
    S.REQUIRES_ACTION: frozenset(
        {S.REQUIRES_ACTION, S.REQUIRES_PAYMENT_METHOD, S.PROCESSING, S.SUCCEEDED, S.CANCELED}
    ),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_ACTION}),
    S.REQUIRES_CAPTURE: frozenset({S.SUCCEEDED, S.CANCELED}),
    # Only a payment lost for good takes it back (never a reorg that re-mines it).
    S.SUCCEEDED: frozenset({S.REQUIRES_PAYMENT_METHOD}),
    # Final: money that arrives later is recorded beside it (`paid_late`), not by reopening it.
    S.CANCELED: frozenset(),
}

CONFIRMABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION})
CANCELABLE = frozenset(
    {S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION, S.REQUIRES_CAPTURE}
)
AMOUNT_EDITABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION})
EXPIRABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION})

# The event each status change announces.
EVENT_FOR: dict[Status, str] = {
    S.REQUIRES_ACTION: "payment_intent.requires_action",
    S.PROCESSING: "payment_intent.processing",
    S.SUCCEEDED: "payment_intent.succeeded",
    S.CANCELED: "payment_intent.canceled",
}
PAYMENT_FAILED = "payment_intent.payment_failed"
PAYMENT_REVERSED = "payment_intent.payment_reversed"
PAID_LATE = "payment_intent.paid_late"
# A payment transaction can be seen (and can land) for an intent in any of these.
PAYABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_ACTION, S.PROCESSING})

USER_CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
SYSTEM_CANCELLATION_REASONS = ("automatic", "expired", "failed_invoice", "void_invoice")


def check_transition(intent_id: str, current: str, target: Status, action: str) -> None:
    if target not in ALLOWED[Status(current)]:
        raise codes.PAYMENT_INTENT_UNEXPECTED_STATE(
            action=action,
            status=current,
            extra={"payment_intent": {"id": intent_id, "status": current}},
        )
