"""How settled a transaction is, from its API record and the Bitcoin tip (primer §7).

Nakamoto: a Stacks block is signed off by the signers, yet only a Bitcoin reorg can orphan its
tenure, and a tenure is anchored once two more Bitcoin blocks exist. So:

* in the mempool → ``MEMPOOL`` (never paid: it can still be replaced by fee);
* dropped → ``DROPPED``; mined in a non-canonical block → ``ORPHANED`` (back to waiting);
* ``success`` in a canonical block → ``CONFIRMED``, and ``FINAL`` once the Bitcoin tip is at least
  the transaction's burn height + 2 + ``extra_burn_blocks`` (choose more for larger amounts);
* ``abort_by_*`` in a canonical block → ``FAILED`` (a final failure once anchored likewise).
"""

from __future__ import annotations

from enum import StrEnum

from .api_types import TransactionInfo, TxStatus

ANCHOR_DEPTH = 2


class Finality(StrEnum):
    UNKNOWN = "unknown"
    MEMPOOL = "mempool"
    DROPPED = "dropped"
    ORPHANED = "orphaned"
    CONFIRMED = "confirmed"
    FINAL = "final"
    FAILED = "failed"
    FAILED_FINAL = "failed_final"


def assess_finality(
    info: TransactionInfo, burn_tip_height: int, *, extra_burn_blocks: int = 0
) -> Finality:
    """Classify ``info`` given the current Bitcoin (burn) tip height."""
    if extra_burn_blocks < 0:
        raise ValueError("extra_burn_blocks cannot be negative")
    status = info.status
    if status is TxStatus.PENDING:
        return Finality.MEMPOOL
    if status.is_dropped:
        return Finality.DROPPED
    if not status.is_mined:
        return Finality.UNKNOWN
    if info.canonical is False:
        return Finality.ORPHANED
    anchored = (
        info.burn_block_height is not None
        and burn_tip_height >= info.burn_block_height + ANCHOR_DEPTH + extra_burn_blocks
    )
    if status is TxStatus.SUCCESS:
        return Finality.FINAL if anchored else Finality.CONFIRMED
    return Finality.FAILED_FINAL if anchored else Finality.FAILED
