"""Charges: one per on-chain payment attempt of a PaymentIntent (ADR 0010)."""
