"""Receipt e-mails to `receipt_email`, sent by the worker from the events outbox (ADR 0017)."""
