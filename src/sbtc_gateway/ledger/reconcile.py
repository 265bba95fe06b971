"""Books against the chain: the ledger's sums beside the contract's own counters (ADR 0010).

The contract keeps, per payee principal, registered or not, `get-merchant-totals`:
`processed` (every sat paid to it through the contract, fee included) and `received` (what
reached it, fees deducted), and in `get-config` `fees-pending` (fees it holds, not yet paid
out). The ledger must say the same: Σ `charge` + `payment_reversal` amounts (and their nets)
per payout principal, and Σ of the platform account's rows (a fee paid to the recipient in
the payment is an `application_fee` and its `payout` at once). During an upgrade (ADR 0101)
the chain's side is the sum over every deployment the network's watcher follows. Every
difference is reported; none is corrected here (an operator decides, with an `adjustment`).
The ledger is only as current as the watcher: the report names the watcher's height beside
the chain's tip, and a difference seen while the watcher is behind is marked as such.

Read-only: the sums are read in one session, which is closed before the chain is asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    kind: str  # "fees_pending", "total_processed" or "total_received"
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
    # every deployment read (the current one first)
    contracts: tuple[str, ...] = ()

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
            "contracts": list(self.contracts or (self.contract_id,)),
            "tip_height": self.tip_height,
            "watcher_height": self.watcher_height,
            "settled": self.settled,
            "checked": self.checked,
            "ok": self.ok,
            "differences": [asdict(d) | {"sats": d.sats} for d in self.differences],
        }


@dataclass(frozen=True, slots=True)
class Books:
    processed: dict[str, int]
    received: dict[str, int]
    fees_pending: int
    watcher_height: int | None


async def read_books(session: AsyncSession, network: str, livemode: bool) -> Books:
    processed = await repository.received_by_principal(session, livemode, network, RECEIVED_TYPES)
    received = await repository.received_by_principal(
        session, livemode, network, RECEIVED_TYPES, column="net"
    )
    for address in await merchants.payout_addresses(session, livemode):
        processed.setdefault(address, 0)  # a merchant paid only outside the ledger shows too
        received.setdefault(address, 0)
    fees = await repository.platform_balance(session, livemode, network)
    heights = await chainstate.cursor_heights(session, {network})
    return Books(processed, received, fees, heights.get(network))


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
    previous_contracts: Sequence[str] = (),
) -> Report:
    """`contract_id`: the deployment new intents are signed for; `previous_contracts`: the
    earlier ones the network's watcher still follows (their counters are added up)."""
    contracts = (contract_id, *previous_contracts)
    async with sessions() as session:
        books = await read_books(session, network, livemode)
    info = await client.get_info()
    report = Report(
        network, contract_id, info.stacks_tip_height, books.watcher_height, contracts=contracts
    )
    chain_fees = 0
    for contract in contracts:
        chain_fees += _uint(await client.call_read_only(contract, "get-config", []), "fees-pending")
    report.checked += 1
    if chain_fees != books.fees_pending:
        report.differences.append(Difference("fees_pending", None, books.fees_pending, chain_fees))
    for address in sorted(books.processed):
        processed = received = 0
        for contract in contracts:
            totals = await client.call_read_only(
                contract, "get-merchant-totals", [principal(address)]
            )
            processed += _uint(totals, "processed")
            received += _uint(totals, "received")
        report.checked += 1
        for kind, ledger, chain in (
            ("total_processed", books.processed[address], processed),
            ("total_received", books.received.get(address, 0), received),
        ):
            if chain != ledger:
                report.differences.append(Difference(kind, address, ledger, chain))
    _observe(report)
    return report


def _observe(report: Report) -> None:
    off: dict[str, int] = {"fees_pending": 0, "total_processed": 0, "total_received": 0}
    for difference in report.differences:
        off[difference.kind] += abs(difference.sats)
    for kind, sats in off.items():
        metrics.LEDGER_DIFFERENCE.labels(report.network, kind).set(sats)
    metrics.LEDGER_RECONCILED.labels(report.network).set_to_current_time()


def summary(reports: Iterable[Report]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in reports]
