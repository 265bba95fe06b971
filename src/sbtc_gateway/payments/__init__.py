"""PaymentIntents: creation, confirmation, cancellation, listing, search and expiry."""
