"""What the watcher follows: one network, its contract, and which intents pay there."""

from __future__ import annotations

from dataclasses import dataclass

from sbtc_gateway.chain.networks import Network


@dataclass(frozen=True, slots=True)
class WatchTarget:
    """One network the watcher follows: its contract, and which intents pay there."""

    network: Network
    contract_id: str
    livemode: bool
    large_payment_sats: int = 10_000_000
    large_payment_confirmations: int = 6
    # A credited payment or refund whose block was rolled back is lost for good when it is not
    # mined again within this many blocks (ADR 0011).
    reinclusion_blocks: int = 20

    def confirmations_for(self, amount: int) -> int:
        return self.large_payment_confirmations if amount >= self.large_payment_sats else 1
