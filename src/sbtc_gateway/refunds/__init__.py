"""Refunds: non-custodial, the merchant's wallet pays them with `refund-payment`."""
