"""The operator call status machine, in one place.

- `queued`: wanted, not signed yet (no nonce);
- `signed`: a nonce is held and the signed transaction and its txid are stored; the broadcast
  is about to happen, or happened and its answer was lost (re-broadcasting the stored bytes is
  safe: same txid);
- `broadcast`: the node accepted it; the worker re-checks it until it is mined or dropped;
- `confirmed`: mined and successful. Final.
- `failed`: mined and aborted, or refused by the node too often. Final.

A `signed` or `broadcast` call goes back to `queued` only when its transaction provably cannot
be mined any more (the node refused it, or the chain reports it dropped): only then is its nonce
given up and a new transaction signed.
"""

from __future__ import annotations

from enum import StrEnum


class CallStatus(StrEnum):
    QUEUED = "queued"
    SIGNED = "signed"
    BROADCAST = "broadcast"
    CONFIRMED = "confirmed"
    FAILED = "failed"


S = CallStatus
ALLOWED: dict[CallStatus, frozenset[CallStatus]] = {
    S.QUEUED: frozenset({S.SIGNED}),
    # A signed call can be seen mined before its broadcast was recorded (the worker died after
    # sending), hence signed -> confirmed | failed.
    S.SIGNED: frozenset({S.BROADCAST, S.QUEUED, S.CONFIRMED, S.FAILED}),
    S.BROADCAST: frozenset({S.CONFIRMED, S.FAILED, S.QUEUED}),
    S.CONFIRMED: frozenset(),
    S.FAILED: frozenset(),
}
# Calls whose nonce is taken: by a transaction that is, or may still get, in the mempool.
HOLDS_NONCE = frozenset({S.SIGNED, S.BROADCAST})
OPEN = frozenset({S.QUEUED, S.SIGNED, S.BROADCAST})


def sources(target: CallStatus) -> frozenset[CallStatus]:
    """The statuses a call may move to `target` from (for conditional UPDATEs)."""
    return frozenset(s for s, targets in ALLOWED.items() if target in targets)
