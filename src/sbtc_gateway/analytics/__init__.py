"""Analytics (ADR 0004, 0016): the seed's `payment_events` and `daily_metrics`, filled from the
events outbox, and the merchant's reports on them (`/v1/analytics/*`)."""
