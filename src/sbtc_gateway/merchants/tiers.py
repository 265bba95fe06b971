"""Merchant tiers and their fees in basis points (seed: calculateFees).

The contract enforces a hard cap on the fee; these rates stay well under it.
"""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    STARTER = "starter"
    GROWTH = "growth"
    SCALE = "scale"
    ENTERPRISE = "enterprise"


FEE_BASIS_POINTS: dict[Tier, int] = {
    Tier.STARTER: 100,  # 1.00 %
    Tier.GROWTH: 75,
    Tier.SCALE: 50,
    Tier.ENTERPRISE: 25,
}

DEFAULT_TIER = Tier.STARTER

# API requests per minute per key, as a multiple of SBTC_RATE_LIMIT_PER_MINUTE.
RATE_LIMIT_MULTIPLIER: dict[Tier, int] = {
    Tier.STARTER: 1,
    Tier.GROWTH: 2,
    Tier.SCALE: 4,
    Tier.ENTERPRISE: 8,
}
