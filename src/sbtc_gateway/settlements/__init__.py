"""Settlements: per merchant and period, what was paid, kept as fees, refunded, and net."""
