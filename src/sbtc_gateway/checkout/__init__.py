"""What a paying customer's browser reads: the hosted checkout's view of one intent, its
receipt, and whether a payer can afford it (ADR 0017). Public `/v1` endpoints, usable with a
publishable key and the client secret, or the client secret alone."""
