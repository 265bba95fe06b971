"""The ledger: an append-only record of every movement of money (ADR 0010)."""
