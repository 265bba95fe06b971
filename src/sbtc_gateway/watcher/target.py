"""What the watcher follows: one network, its contracts, and which intents pay there."""

from __future__ import annotations

from dataclasses import dataclass

from sbtc_gateway.chain.networks import Network


@dataclass(frozen=True, slots=True)
class WatchTarget:
    """One network the watcher follows: its contract (the one new intents are signed for), the
    earlier deployments it still follows (an upgrade, ADR 0101: oldest first), and which
    intents pay there."""

    network: Network
    contract_id: str
    livemode: bool
    large_payment_sats: int = 10_000_000
    large_payment_confirmations: int = 6
    # A credited payment or refund whose block was rolled back is lost for good when it is not
    # mined again within this many blocks (ADR 0011).
    reinclusion_blocks: int = 20
    previous_contracts: tuple[str, ...] = ()

    @property
    def contracts(self) -> tuple[str, ...]:
        """Every deployment followed: the current one first."""
        return (self.contract_id, *self.previous_contracts)

    def contract_of(self, contract_id: str | None) -> str:
        """The deployment an intent belongs to (`PaymentSettings.contract_of`): the one it was
        signed for, or for one confirmed before that was recorded, the network's first."""
        if contract_id is not None:
            return contract_id
        return self.previous_contracts[0] if self.previous_contracts else self.contract_id

    def confirmations_for(self, amount: int) -> int:
        return self.large_payment_confirmations if amount >= self.large_payment_sats else 1
