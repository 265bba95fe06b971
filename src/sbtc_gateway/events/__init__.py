"""Events: every state change writes one, in the same transaction (the outbox)."""
