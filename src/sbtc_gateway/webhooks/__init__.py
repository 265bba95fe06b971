"""Webhooks: endpoints, durable deliveries from the event outbox, signing, SSRF guard."""
