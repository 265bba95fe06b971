"""The catalogue: every error the gateway answers, with its status and what it means.

Raise an entry by calling it: `raise codes.AMOUNT_TOO_SMALL(param="amount", minimum=100)`
(`from sbtc_gateway.core import error_codes as codes`). A code, once shipped, is a contract
with every integration that switches on it: change its wording, never its code or status.

`catalogue()` renders the entries for the developer portal; `PLACEHOLDERS` says what each
`{name}` in a template stands for. Errors of the Stacks toolkit (`chain/errors.py`) are
exceptions of the client library, not answers, and are not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .errors import ErrorCode

# --- request parsing and parameter validation ------------------------------------------------

PARAMETER_UNKNOWN = ErrorCode(
    "parameter_unknown",
    400,
    "Received unknown parameter: {param}",
    "The request sent a parameter this endpoint does not take (`param` names it in bracket "
    "notation, e.g. `metadata[order]` is fine but `metdata[order]` is not). Check the spelling "
    "against the API reference; the gateway rejects unknown parameters rather than ignoring "
    "them, so a typo never silently drops a value.",
    validation=True,
)
PARAMETER_MISSING = ErrorCode(
    "parameter_missing",
    400,
    "Missing required param: {param}.",
    "A parameter the call needs was not sent, or was sent empty (an empty value means unset). "
    "`param` names it. Send it and retry; the same Idempotency-Key may be reused because "
    "nothing was stored for the failed request.",
    validation=True,
)
PARAMETER_INVALID_INTEGER = ErrorCode(
    "parameter_invalid_integer",
    400,
    "Invalid integer: {value}",
    "The parameter named by `param` must be a whole number (amounts are integers in "
    "satoshis, never decimals), and within the range the message gives. Send digits only.",
    validation=True,
)
PARAMETER_INVALID_BOOLEAN = ErrorCode(
    "parameter_invalid_boolean",
    400,
    "Invalid boolean: {value}",
    "The parameter named by `param` must be `true` or `false`.",
    validation=True,
)
PARAMETER_INVALID = ErrorCode(
    "parameter_invalid",
    400,
    "Invalid {param}: {reason}.",
    "The parameter named by `param` was understood but its value is not acceptable: out of "
    "range, not one of the allowed values, badly formed, or in conflict with another "
    "parameter. The message says which rule it broke. Fix the value and retry; nothing was "
    "stored, so the same Idempotency-Key may be reused.",
    validation=True,
)
PARAMETER_INVALID_STRING = ErrorCode(
    "parameter_invalid_string",
    400,
    "Invalid string for {param}: it {reason}.",
    "A text parameter (or a parameter's name) holds what no text field can: a NUL byte, a "
    "lone UTF-16 surrogate, bytes that are not UTF-8, or more characters than the field "
    "takes (the API reference gives each one's `maxLength`). `param` names it; nothing was "
    "stored. Send valid UTF-8 text within the length.",
    validation=True,
)
PARAMETERS_EXCLUSIVE = ErrorCode(
    "parameters_exclusive",
    400,
    "You may only specify one of {other} and {param}.",
    "Two parameters that cannot be combined were both sent (for lists: a page starts after "
    "one object or ends before one, not both). Send only one of them.",
    validation=True,
)
REQUEST_TOO_LARGE = ErrorCode(
    "request_too_large",
    413,
    "Request body exceeds {limit} bytes.",
    "The request body is larger than the gateway accepts (SBTC_MAX_BODY_BYTES). No API call "
    "needs a body this large: look for a runaway metadata value or a repeated parameter.",
)
CLIENT_CLOSED_REQUEST = ErrorCode(
    "client_closed_request",
    499,
    "The client closed the connection.",
    "The client went away before sending its whole request body, so nothing was done and "
    "nobody reads this answer (nginx's 499). It is not a server error. Retry with the same "
    "Idempotency-Key.",
)
REQUEST_BODY_INVALID_JSON = ErrorCode(
    "request_body_invalid_json",
    400,
    "The request body is not valid JSON.",
    "The request said `Content-Type: application/json` but its body does not parse as JSON. "
    "Check the encoding of the body, or send it form-encoded as the Stripe SDKs do.",
)
REQUEST_BODY_NOT_OBJECT = ErrorCode(
    "request_body_not_object",
    400,
    "The JSON request body must be an object.",
    'A JSON body must be an object of parameters (`{"amount": 1000}`), not an array, a '
    "string or a number.",
)
REQUEST_BODY_INVALID_UTF8 = ErrorCode(
    "request_body_invalid_utf8",
    400,
    "The request body is not valid UTF-8.",
    "A form-encoded body must decode as UTF-8 after percent-decoding. Encode non-ASCII text "
    "as UTF-8 before percent-encoding it.",
)
CONTENT_TYPE_UNSUPPORTED = ErrorCode(
    "content_type_unsupported",
    400,
    "Unsupported content type {content_type!r}: send application/x-www-form-urlencoded or "
    "application/json.",
    "The body was sent with a content type the gateway does not read (multipart, XML, …). "
    "Send parameters form-encoded, as the Stripe SDKs do, or as a JSON object.",
)
REQUEST_INVALID = ErrorCode(
    "request_invalid",
    400,
    "{detail}",
    "The web framework refused the request before it reached an endpoint (a body it could not "
    "parse, for instance). The message is the framework's own; check the request's shape.",
)
METHOD_NOT_ALLOWED = ErrorCode(
    "method_not_allowed",
    405,
    "Unrecognized request URL ({method}: {path}).",
    "The URL exists but not with this HTTP method (a GET on a create-only path, say). Check "
    "the method in the API reference.",
)
EMAIL_INVALID = ErrorCode(
    "email_invalid",
    400,
    "Invalid email address: {value}",
    "The email address is not of the form `name@domain.tld`, or is longer than 254 characters.",
    validation=True,
)
URL_INVALID = ErrorCode(
    "url_invalid",
    400,
    "Invalid url: {reason}",
    "A webhook endpoint's URL must be an absolute `http://` or `https://` URL of at most 2048 "
    "characters. On a live-mode gateway, live endpoints must use `https://`, and no endpoint "
    "may resolve to a private, loopback, link-local or cloud-metadata address, so a webhook "
    "cannot be aimed at the gateway's own network.",
    validation=True,
)

# --- API keys, sessions and permissions ------------------------------------------------------

API_KEY_MISSING = ErrorCode(
    "api_key_missing",
    401,
    "You did not provide an API key. Provide it in the Authorization header (Authorization: "
    "Bearer sk_test_…).",
    "The request carried no credentials. Send a secret key (`sk_test_…`, `sk_live_…`) as "
    "`Authorization: Bearer <key>`, or as the user name of HTTP Basic auth (`curl -u sk_…:`).",
)
API_KEY_INVALID = ErrorCode(
    "api_key_invalid",
    401,
    "Invalid API Key provided: {key}",
    "The key is not one the gateway issued, or it was revoked, or its rotation grace period "
    "has ended. Copy the current key from the dashboard; a rotated key keeps working only "
    "until the `expires_in` chosen at rotation. Chain pushes (`/chain/*`) without the "
    "configured push token get it too.",
)
LIVEMODE_DISABLED = ErrorCode(
    "livemode_disabled",
    401,
    "Live {credential} are not accepted: this gateway runs in test mode.",
    "A live key or live-mode token was sent to a gateway started without live payments "
    "configured. Use test-mode credentials, or configure live mode on the gateway.",
)
SECRET_KEY_REQUIRED = ErrorCode(
    "secret_key_required",
    403,
    "This API call cannot be made with a publishable API key. Please use a secret API key.",
    "Publishable keys (`pk_…`) are for the browser and make only the few calls a checkout "
    "needs (retrieving and confirming a PaymentIntent with its client secret). Make this call "
    "from your server with a secret key.",
)
INSUFFICIENT_PERMISSIONS = ErrorCode(
    "insufficient_permissions",
    403,
    "This call needs the `{permission}` permission, which the {role} role does not have in "
    "{mode} mode.",
    "The dashboard user's role does not allow this call in this mode (roles are listed in the "
    "dashboard documentation), or only an owner may change what was asked. Ask an owner of the "
    "account to do it or to change the role.",
)
STRIPE_ACCOUNT_UNSUPPORTED = ErrorCode(
    "stripe_account_unsupported",
    400,
    "The Stripe-Account header (Connect) is not supported by this gateway.",
    "Stripe Connect is not implemented: every key belongs to one merchant account. Remove the "
    "`Stripe-Account` header (or the `stripe_account` option of your SDK).",
)
RATE_LIMIT = ErrorCode(
    "rate_limit",
    429,
    "Too many requests hit the API too quickly. Retry after {retry_after} seconds.",
    "Too many requests came from this key, IP address or email in a short time. Wait the "
    "number of seconds in the `Retry-After` header and retry; the `RateLimit-*` headers show "
    "how much of the budget is left.",
)
REQUEST_SIGNATURE_MISSING = ErrorCode(
    "request_signature_missing",
    401,
    "This operation must be signed: send the Sbtc-Signature header (see docs/request-signing.md).",
    "Sensitive operations made with a live key (or any key, if the gateway requires it) must "
    "carry an `Sbtc-Signature` header computed with the signing secret issued with the key.",
)
REQUEST_SIGNATURE_INVALID = ErrorCode(
    "request_signature_invalid",
    401,
    "The request signature does not match (HMAC-SHA256 keyed with the signing secret, "
    "sksig_…, issued with this secret key).",
    "The `Sbtc-Signature` header is malformed, or its HMAC does not match the request. Sign "
    "the exact method, path with query string and body bytes you send, with the `sksig_…` "
    "secret issued alongside this secret key.",
)
REQUEST_SIGNATURE_EXPIRED = ErrorCode(
    "request_signature_expired",
    401,
    "The request signature's timestamp is more than 5 minutes from the server's clock.",
    "The signature's `t=` is too far from the gateway's clock. Sign each request when you send "
    "it, and keep your server's clock synchronised (NTP).",
)
REQUEST_SIGNATURE_REPLAYED = ErrorCode(
    "request_signature_replayed",
    401,
    "This request signature's nonce has already been used.",
    "Each signed request needs a fresh nonce (`n=`). To retry a request, sign it again with a "
    "new nonce; the Idempotency-Key, not the signature, makes the retry safe.",
)

OPERATOR_TOKEN_INVALID = ErrorCode(
    "operator_token_invalid",
    401,
    "This call needs a platform operator's token.",
    "`/v1/platform/*` is for the people who run the gateway, not for merchants: send the token "
    "printed by `sbtc-gateway operators create` as `Authorization: Bearer sbtcop_…`. Merchant "
    "keys and dashboard tokens are refused here; a disabled operator's token too.",
)
PLATFORM_IP_NOT_ALLOWED = ErrorCode(
    "platform_ip_not_allowed",
    403,
    "Platform administration is not allowed from this address.",
    "`/v1/platform/*` answers only clients whose address (resolved through "
    "SBTC_TRUSTED_PROXIES) is in SBTC_PLATFORM_ALLOWED_IPS (loopback by default). Call it from "
    "the operations network, or have the operator add its range.",
)

# --- dashboard users ------------------------------------------------------------------------

INVALID_CREDENTIALS = ErrorCode(
    "invalid_credentials",
    401,
    "Invalid email or password.",
    "No active user has this email and password. The gateway does not say which of the two "
    "was wrong. Logins are rate limited per email and per IP address.",
)
INVALID_TOKEN = ErrorCode(
    "invalid_token",
    401,
    "Invalid access token.",
    "The bearer looks like a dashboard access token but its signature, issuer or claims do "
    "not check out. Log in again to get a new one.",
)
TOKEN_EXPIRED = ErrorCode(
    "token_expired",
    401,
    "The access token has expired; refresh it.",
    "Access tokens last one hour. Exchange the refresh token at `/v1/auth/refresh` for a new pair.",
)
REFRESH_TOKEN_INVALID = ErrorCode(
    "refresh_token_invalid",
    401,
    "Invalid refresh token; log in again.",
    "The refresh token is unknown, expired or belongs to a session that ended. Log in again.",
)
REFRESH_TOKEN_REUSED = ErrorCode(
    "refresh_token_reused",
    401,
    "This refresh token was already used, so its session has been revoked: log in again.",
    "Each refresh token works once. Seeing one again means it may have been stolen, so the "
    "whole session was ended. Log in again, and make sure only one client refreshes a session.",
)
SESSION_REVOKED = ErrorCode(
    "session_revoked",
    401,
    "This session has ended (logged out, revoked, or the user was disabled or removed); log "
    "in again.",
    "The access token is valid but its session was ended: by logging out, by an owner, or "
    "because the user was disabled or removed. Log in again.",
)
SESSION_EXPIRED = ErrorCode(
    "session_expired",
    401,
    "This session is older than the longest a session may last: log in again.",
    "Refreshing extends a session only up to its maximum age. Log in again to start a new one.",
)
USER_TOKEN_REQUIRED = ErrorCode(
    "user_token_required",
    400,
    "This call is about a dashboard user: make it with the user's access token.",
    "This call acts on the logged-in user (their password, their session), so it needs a "
    "dashboard access token, not an API key.",
)
PASSWORD_INCORRECT = ErrorCode(
    "password_incorrect",
    400,
    "The current password is incorrect.",
    "Changing the password needs the current one. Send it as `current_password`.",
)
PASSWORD_CHANGED = ErrorCode(
    "password_changed",
    409,
    "The password changed meanwhile; try again.",
    "Another request changed this user's password while this one was running. Retry with the "
    "password that is now current.",
)
EMAIL_IN_USE = ErrorCode(
    "email_in_use",
    400,
    "A merchant with this email already exists.",
    "A merchant's email is unique among merchants, and a dashboard user's email within its "
    "account. Use another email, or log in to the existing account.",
)
LAST_OWNER = ErrorCode(
    "last_owner",
    400,
    "An account must keep at least one active owner: add another owner first.",
    "The change would leave the account without an active owner, and nobody could manage it. "
    "Make another user an owner first.",
)

# --- merchant accounts and API keys ----------------------------------------------------------

INVALID_STACKS_ADDRESS = ErrorCode(
    "invalid_stacks_address",
    400,
    "Invalid Stacks address for {network}: {reason}",
    "A payout address must be a standard Stacks principal (a wallet, not a contract) of the "
    "right network: `ST…` for test mode, `SP…` for live mode, with a valid checksum.",
    validation=True,
)
ACCOUNT_ALREADY_ACTIVATED = ErrorCode(
    "account_already_activated",
    400,
    "Merchant {merchant} is already activated; rotate its live keys instead.",
    "Live mode is activated once. To replace live keys, rotate them.",
)
API_KEY_ALREADY_ROTATED = ErrorCode(
    "api_key_already_rotated",
    400,
    "This API key has already been rotated or revoked.",
    "A key can be rotated once; its successor is the key to rotate now.",
)
NO_SECRET_KEY = ErrorCode(
    "no_secret_key",
    400,
    "This account has no secret key to rotate in this mode.",
    "The account has no active secret key in this mode (test or live), so there is nothing to "
    "rotate. Live keys exist only after live mode is activated.",
)

# --- PaymentIntents --------------------------------------------------------------------------

AMOUNT_TOO_SMALL = ErrorCode(
    "amount_too_small",
    400,
    "Amount must be at least {minimum} sats.",
    "Amounts are integers in satoshis (1 sBTC = 100,000,000 sats). The gateway refuses "
    "payments below its minimum, which would cost more in fees than they move.",
    validation=True,
)
AMOUNT_TOO_LARGE = ErrorCode(
    "amount_too_large",
    400,
    "Amount must be at most {maximum} sats.",
    "The amount is above the gateway's maximum for a payment, or a refund asks for more than "
    "is left unrefunded on its payment. The message gives the limit.",
    validation=True,
)
PAYMENT_INTENT_UNEXPECTED_STATE = ErrorCode(
    "payment_intent_unexpected_state",
    400,
    "You cannot {action} this PaymentIntent because it has a status of {status}.",
    "The PaymentIntent's status does not allow this operation (a succeeded payment cannot be "
    "canceled; an amount cannot change once confirmed). The error's `payment_intent` shows the "
    "current status: retrieve the object and decide from there.",
)
PAYMENT_INTENT_EXPIRED = ErrorCode(
    "payment_intent_expired",
    400,
    "This PaymentIntent has expired; create a new one.",
    "The PaymentIntent's payment window (the account's `payment_expiry_seconds`, or the "
    "gateway's default) has passed, so it can no longer be confirmed. Create a new one.",
)
LIVE_PAYOUT_ADDRESS_MISSING = ErrorCode(
    "live_payout_address_missing",
    400,
    "This account has no live payout address.",
    "Live payments go to the account's mainnet payout address, set when live mode is "
    "activated. Activate live mode first.",
)
LIVEMODE_NOT_CONFIGURED = ErrorCode(
    "livemode_not_configured",
    400,
    "Live payments are not configured on this gateway.",
    "The gateway has no payment contract configured for mainnet, so live PaymentIntents "
    "cannot be confirmed. Use test mode, or ask the gateway's operator.",
)
PAYMENTS_NOT_CONFIGURED = ErrorCode(
    "payments_not_configured",
    400,
    "Payments are not configured on this gateway (no signing key).",
    "The gateway has no key to sign payment terms with, so it cannot confirm payments. The "
    "operator must set the gateway's signing key.",
)
CHAIN_UNAVAILABLE = ErrorCode(
    "chain_unavailable",
    503,
    "The Stacks API is unavailable; retry the confirmation shortly.",
    "The gateway could not read the Stacks chain's tip, which it needs to fix the payment's "
    "expiry block. Nothing was changed; the SDKs retry this automatically with the same "
    "Idempotency-Key.",
    type="api_error",
)
CONTRACT_PAUSED = ErrorCode(
    "contract_paused",
    503,
    "Payments are paused on {network}: the payment contract's owner has paused it.",
    "Before handing out a payment call the gateway reads the payment contract on chain (the "
    "reading is at most a few seconds old). Its owner has paused it, so a wallet call would "
    "fail on chain and cost the customer a transaction fee. Nothing was changed; confirm "
    "again once payments resume (the contract's `unpaused` event).",
    type="api_error",
)
PAYOUT_ADDRESS_SUSPENDED = ErrorCode(
    "payout_address_suspended",
    400,
    "The payout address {address} is suspended on chain and cannot be paid.",
    "The payment contract's owner has put the merchant's payout address on the contract's "
    "deny list (`suspend-merchant`), so a payment to it would fail on chain. Nothing was "
    "changed. The gateway's operator can reinstate the address; until then no intent paying "
    "it can be confirmed.",
)
GATEWAY_KEY_MISMATCH = ErrorCode(
    "gateway_key_mismatch",
    503,
    "The payment contract on {network} does not accept this gateway's signing key.",
    "Before handing out a payment call the gateway reads the payment contract's gateway key "
    "on chain. It is not the key this gateway signs payment terms with (the contract's "
    "owner has not set it yet, or set another), so the contract would refuse the signature. "
    "Nothing was changed. The operator sets the key with `sbtc-gateway chain setup` (`/ready` "
    "shows the check); confirm again afterwards.",
    type="api_error",
)

# --- refunds ---------------------------------------------------------------------------------

CHARGE_NOT_REFUNDABLE = ErrorCode(
    "charge_not_refundable",
    400,
    "This PaymentIntent cannot be refunded because it has a status of {status}.",
    "Only a succeeded PaymentIntent can be refunded: before that, no funds have moved. Cancel "
    "an unpaid PaymentIntent instead.",
)
CHARGE_IN_REORG = ErrorCode(
    "charge_in_reorg",
    400,
    "This payment's block was rolled back and it is not mined again yet; refund it once it is.",
    "The chain rolled back the block holding this payment, and its transaction has not been "
    "mined again yet (its charge shows `confirmations: 0` and `reorged_at`). A refund now "
    "could pay back money that never arrives: wait until the charge shows confirmations "
    "again — or, if the payment is lost for good, it is reversed and nothing is owed.",
)
CHARGE_ALREADY_REFUNDED = ErrorCode(
    "charge_already_refunded",
    400,
    "This PaymentIntent has already been refunded.",
    "Refunds of this PaymentIntent (pending or succeeded) already add up to the amount "
    "received. List its refunds to see them.",
)

# --- webhooks and events ---------------------------------------------------------------------

WEBHOOK_ENDPOINT_LIMIT_REACHED = ErrorCode(
    "webhook_endpoint_limit_reached",
    400,
    "You have reached the maximum of {maximum} webhook endpoints.",
    "An account may have a limited number of webhook endpoints per mode. Delete one you no "
    "longer use, or subscribe one endpoint to more event types.",
)
WEBHOOK_ENDPOINT_DISABLED = ErrorCode(
    "webhook_endpoint_disabled",
    400,
    "This webhook endpoint is disabled; enable it before resending.",
    "A disabled endpoint receives nothing, including resent or test events. Enable it "
    "(`disabled=false`) first.",
)

# --- chain pushes (Chainhook, Stacks node event observer) ------------------------------------

CHAIN_PUSH_NOT_JSON = ErrorCode(
    "chain_push_not_json",
    400,
    "The push body is not JSON.",
    "A chain push (Chainhook or a Stacks node's event observer) must have a JSON body. Check "
    "that the sender posts to the right path.",
)
CHAIN_PUSH_NOT_OBJECT = ErrorCode(
    "chain_push_not_object",
    400,
    "The push body must be a JSON object.",
    "A chain push's body must be the JSON object Chainhook or the Stacks node sends.",
)
CHAIN_PUSH_UNRECOGNIZED = ErrorCode(
    "chain_push_unrecognized",
    400,
    "Not a {kind} payload ({detail}).",
    "The push body is JSON but not the payload this path expects (Chainhook's apply/rollback "
    "or the node's /new_block). Check the sender's configuration.",
)
CHAIN_PUSH_BLOCK_INVALID = ErrorCode(
    "chain_push_block_invalid",
    400,
    "Chainhook `{key}` block without block_identifier.",
    "A block in a Chainhook payload lacks its identifier (height and hash), so it cannot be "
    "placed on the chain. Check the Chainhook version.",
)

# --- idempotency and concurrency -------------------------------------------------------------

IDEMPOTENCY_KEY_INVALID = ErrorCode(
    "idempotency_key_invalid",
    400,
    "Idempotency-Key must be 1 to {maximum} characters.",
    "An Idempotency-Key must be non-empty and at most 255 characters; a UUID is the usual choice.",
)
IDEMPOTENCY_KEY_IN_USE = ErrorCode(
    "idempotency_key_in_use",
    400,
    "Keys for idempotent requests can only be used with the same parameters they were first "
    "used with. Try using a key other than '{key}' if you meant to execute a different "
    "request.",
    "The Idempotency-Key was already used (keys are kept 24 hours by default) for a request "
    "with other parameters. Use a new key for a new request; reuse a key only to retry the "
    "same request.",
    type="idempotency_error",
)
IDEMPOTENCY_RESPONSE_UNREADABLE = ErrorCode(
    "idempotency_response_unreadable",
    400,
    "The response stored under this Idempotency-Key cannot be read back, so the request is "
    "neither replayed nor run again. Check whether the first request took effect before "
    "retrying it with a new key.",
    "Stored responses are encrypted with the gateway's keyring (SBTC_ENCRYPTION_KEYS); this "
    "one names a key id that is no longer configured, or was altered. Running the request "
    "again could do it twice, so the gateway does neither: look up the object the first "
    "request would have made, then retry with a new key if it is not there.",
    type="idempotency_error",
)
LOCK_TIMEOUT = ErrorCode(
    "lock_timeout",
    409,
    "The object is being changed by another request; retry this one.",
    "Another request is changing the same object, or is still running with the same "
    "Idempotency-Key. Nothing was done; retry shortly with the same key (the SDKs retry 409s "
    "automatically).",
)

CUSTOMERS_UNSUPPORTED = ErrorCode(
    "customers_unsupported",
    400,
    "Customers are not supported by this gateway.",
    "Payments are pushed from the customer's own wallet, so the gateway keeps no customer "
    "objects; filter by `payment_intent` instead, or keep your customer id in `metadata`.",
    validation=True,
)

# --- everything else -------------------------------------------------------------------------

RESOURCE_MISSING = ErrorCode(
    "resource_missing",
    404,
    "No such {object}: '{id}'",
    "No object with this id exists for this key's account and mode: ids are scoped to the "
    "merchant, and test-mode objects are invisible to live keys and the other way round. "
    "Also answered for a URL the API does not have.",
)
API_ERROR = ErrorCode(
    "api_error",
    500,
    "An unexpected error occurred.",
    "Something failed inside the gateway, and it was logged with the request id. A write "
    "request can be retried safely with the same Idempotency-Key; if it keeps failing, "
    "report the `Request-Id` header to the operator.",
    type="api_error",
)

# --- the web pages -------------------------------------------------------------------------

WEB_ASSETS_MISSING = ErrorCode(
    "web_assets_missing",
    503,
    "The web pages of this gateway have not been built ({detail}).",
    "The hosted checkout, the widget script and the docs pages are files built from `web/` "
    "at set-up (`make setup` runs `npm ci` and the Vite build); this gateway found none in "
    "the folder named. The API itself works. The operator runs `make setup` (or sets "
    "`SBTC_WEB_DIST_DIR` to a built copy) and restarts the gateway.",
    type="api_error",
)

# --- the catalogue --------------------------------------------------------------------------

PLACEHOLDERS: Mapping[str, str] = MappingProxyType(
    {
        "param": "the parameter at fault, in bracket notation (`metadata[order]`)",
        "value": "the value received, as sent",
        "reason": "which rule the value broke",
        "detail": "what was missing or expected",
        "other": "the parameter that excludes this one",
        "limit": "the largest body accepted, in bytes",
        "minimum": "the smallest value accepted",
        "maximum": "the largest value accepted",
        "content_type": "the content type the request declared",
        "method": "the HTTP method of the request",
        "path": "the path of the request",
        "key": "the key received (API keys are shown masked)",
        "credential": "what was sent: keys or tokens",
        "permission": "the permission the endpoint needs",
        "role": "the dashboard user's role",
        "mode": "test or live",
        "retry_after": "seconds to wait before retrying",
        "network": "the Stacks network concerned (for an address: the one it must belong to)",
        "address": "the Stacks address concerned",
        "merchant": "the merchant account's id",
        "action": "the operation asked for (update, confirm, cancel, …)",
        "status": "the object's current status",
        "object": "the kind of object asked for (payment_intent, refund, …)",
        "id": "the id asked for",
        "kind": "the payload this path expects",
    }
)

CATALOGUE: Mapping[str, ErrorCode] = MappingProxyType(
    {entry.code: entry for entry in list(globals().values()) if isinstance(entry, ErrorCode)}
)


def catalogue() -> list[dict[str, Any]]:
    """The catalogue as the developer portal shows it, in the order above (grouped by area):
    one dict per code with its status, `type`, message template, documentation URL,
    explanation, whether it is a validation failure, and what each placeholder means."""
    return [
        {
            "code": entry.code,
            "status": entry.status,
            "type": entry.type,
            "message": entry.message,
            "doc_url": entry.doc_url,
            "explanation": entry.explanation,
            "validation": entry.validation,
            "placeholders": {name: PLACEHOLDERS[name] for name in entry.placeholders},
        }
        for entry in CATALOGUE.values()
    ]
