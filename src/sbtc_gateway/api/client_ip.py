"""The client's IP address, believing X-Forwarded-For only from configured proxies.

Walk the header from the right (the entry our own proxy appended) and stop at the first address
that is not a trusted proxy: everything left of it could have been written by the client.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def parse_networks(spec: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    )


def _trusted(address: str, networks: tuple[Network, ...]) -> bool | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return any(ip in net for net in networks)


def client_ip(peer: str | None, forwarded_for: list[str], networks: tuple[Network, ...]) -> str:
    """`peer` is the direct TCP peer; `forwarded_for` every X-Forwarded-For header, in order."""
    current = peer or "unknown"
    if not networks or not _trusted(current, networks):
        return current
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        trusted = _trusted(hop, networks)
        if trusted is None:  # garbage: the last trusted proxy is all we know
            return current
        current = hop
        if not trusted:
            return current
    return current
