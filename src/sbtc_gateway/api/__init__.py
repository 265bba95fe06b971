"""The HTTP layer: app factory, Stripe wire behaviour, authentication, idempotency."""
