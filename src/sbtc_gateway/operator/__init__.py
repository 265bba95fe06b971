"""The operator account's own transactions (`distribute-fees`, `revoke-signed-intent`): a durable
outbox, so each is signed once, stored, then broadcast (ADR 0012)."""
