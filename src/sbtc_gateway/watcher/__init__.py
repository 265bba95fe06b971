"""The chain watcher: follows the Stacks chain and moves PaymentIntents (see docs/adr/0008)."""
