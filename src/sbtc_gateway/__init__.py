"""sBTC Payment Gateway: a Stripe-compatible payment gateway for sBTC on Stacks."""

__version__ = "0.1.0"
