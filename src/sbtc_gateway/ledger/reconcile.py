"""Books against the chain: the ledger's sums beside the contract's own counters (ADR 0010).

The contract keeps, per merchant principal, `total-processed` (every sat paid to it through the
contract, fee included) and, in `get-config`, `fees-pending` (fees held and not yet paid out).
The ledger must say the same: Σ `charge` + `payment_reversal` amounts per payout principal, and
Σ of the platform account's rows. Every difference is reported; none is corrected here (an
operator decides, with an `adjustment`). The ledger is only as current as the watcher: the
report names the watcher's height beside the chain's tip, and a difference seen while the
watcher is behind is marked as such.

Read-only: the sums are read in one session, which is closed before the chain is asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.chain import Ok, Some, Tuple, UInt, principal
from sbtc_gateway.chain.clarity import ClarityValue
from sbtc_gateway.chain.source import ChainSource
from sbtc_gateway.chainstate import repository as chainstate
from sbtc_gateway.ledger import repository
from sbtc_gateway.ledger.service import RECEIVED_TYPES
from sbtc_gateway.merchants import repository as merchants
from sbtc_gateway.observability import metrics


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str  # "fees_pending" or "total_processed"
    principal: str | None
    ledger: int
    chain: int

    @property
    def sats(self) -> int:
        return self.chain - self.ledger


@dataclass
class Report:
    network: str
    contract_id: str
    tip_height: int
    watcher_height: int | None
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        """The watcher has processed every block up to the tip the chain was read at."""
        return self.watcher_height is not None and self.watcher_height >= self.tip_height

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "contract_id": self.contract_id,
            "tip_height": self.tip_height,
            "watcher_height": self.watcher_height,
            "settled": self.settled,
            "checked": self.checked,
            "ok": self.ok,
            "differences": [asdict(d) | {"sats": d.sats} for d in self.differences],
        }


@dataclass(frozen=True, slots=True)
class Books:
    received: dict[str, int]
    fees_pending: int
    watcher_height: int | None


async def read_books(session: AsyncSession, network: str, livemode: bool) -> Books:
    received = await repository.received_by_principal(session, livemode, network, RECEIVED_TYPES)
    for address in await merchants.payout_addresses(session, livemode):
        received.setdefault(address, 0)  # a merchant paid only outside the ledger shows too
    fees = await repository.platform_balance(session, livemode, network)
    heights = await chainstate.cursor_heights(session, {network})
    return Books(received, fees, heights.get(network))


def _uint(value: ClarityValue, name: str) -> int:
    """A uint field of a tuple, or of an `(optional tuple)` (0 when none)."""
    record = value.value if isinstance(value, Some | Ok) else value
    if not isinstance(record, Tuple):
        return 0
    found = record.fields.get(name)
    return found.value if isinstance(found, UInt) else 0


async def reconcile(
    sessions: async_sessionmaker[AsyncSession],
    client: ChainSource,
    *,
    network: str,
    contract_id: str,
    livemode: bool,
) -> Report:
    async with sessions() as session:
        books = await read_books(session, network, livemode)
    info = await client.get_info()
    report = Report(network, contract_id, info.stacks_tip_height, books.watcher_height)
    config = await client.call_read_only(contract_id, "get-config", [])
    chain_fees = _uint(config, "fees-pending")
    report.checked += 1
    if chain_fees != books.fees_pending:
        report.differences.append(Difference("fees_pending", None, books.fees_pending, chain_fees))
    for address, total in sorted(books.received.items()):
        report.checked += 1
        record = await client.call_read_only(contract_id, "get-merchant", [principal(address)])
        chain_total = _uint(record, "total-processed")
        if chain_total != total:
            report.differences.append(Difference("total_processed", address, total, chain_total))
    _observe(report)
    return report


def _observe(report: Report) -> None:
    off: dict[str, int] = {"fees_pending": 0, "total_processed": 0}
    for difference in report.differences:
        off[difference.kind] += abs(difference.sats)
    for kind, sats in off.items():
        metrics.LEDGER_DIFFERENCE.labels(report.network, kind).set(sats)
    metrics.LEDGER_RECONCILED.labels(report.network).set_to_current_time()


def summary(reports: Iterable[Report]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in reports]
