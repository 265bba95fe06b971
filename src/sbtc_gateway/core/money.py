"""Satoshis: the only unit money has inside the gateway."""

from __future__ import annotations

SATS_PER_BTC = 100_000_000
BPS_DENOMINATOR = 10_000


def fee_for(amount_sats: int, basis_points: int) -> int:
    """Fee in satoshis, rounded down so the merchant is never charged a fraction they didn't owe.

    Integer arithmetic only: ``amount * bps // 10_000``.
    """
    if amount_sats < 0 or basis_points < 0:
        raise ValueError("amount and basis points must be non-negative")
    return amount_sats * basis_points // BPS_DENOMINATOR


def format_btc(amount_sats: int) -> str:
    """Display form, e.g. 25000 -> '0.00025000' (for humans only; never parsed back)."""
    sign = "-" if amount_sats < 0 else ""
    whole, frac = divmod(abs(amount_sats), SATS_PER_BTC)
    return f"{sign}{whole}.{frac:08d}"
