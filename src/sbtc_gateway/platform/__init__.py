"""The platform operators' side (people who run the gateway, not merchants): their accounts
and authentication, and the cross-merchant views `/v1/platform/*`."""
