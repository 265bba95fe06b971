"""SDK compatibility suites: the official Stripe SDKs (Python and Node) against the gateway.

These are not the tests of one module each: they check the wire behaviour a whole client library
relies on, across endpoints, so their names are the SDKs', not modules'.
"""
