"""The SSRF guard: which webhook URLs a gateway may call.

Shape (always): http or https, a host, at most 2048 characters, a valid port. On a live-mode
gateway: live endpoints must use https, and no endpoint may resolve to a private, loopback,
link-local, multicast, reserved or cloud-metadata address. The check runs when the URL is saved
and again before every delivery; the delivery then connects to the address that was checked (the
Host header and TLS SNI keep the name), so a DNS answer that changes in between (rebinding)
cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_SECONDS = 5.0
# Cloud metadata services, also refused where `is_global` would not catch them.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)


class UrlRejected(ValueError):
    """The URL is malformed or points where this gateway must not send requests."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect: the URL with the vetted address, the Host header, the TLS name."""

    url: str
    host_header: str | None
    sni_hostname: str | None


def check_shape(url: str, *, require_https: bool) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise UrlRejected(f"The URL must be at most {MAX_URL_LENGTH} characters.")
    if any(c.isspace() for c in url) or any(ord(c) < 32 for c in url):
        raise UrlRejected("The URL must not contain whitespace or control characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UrlRejected("The URL must start with https:// (or http:// in test mode).")
    if require_https and parts.scheme != "https":
        raise UrlRejected("Live-mode webhook URLs must use https.")
    if not parts.hostname:
        raise UrlRejected("The URL must include a host.")
    if parts.username is not None or parts.password is not None:
        raise UrlRejected("The URL must not contain credentials.")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise UrlRejected("The URL has an invalid port.") from None
    return parts


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


async def resolve(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError):
        raise UrlRejected(f"The host {host!r} does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UrlRejected(f"The host {host!r} does not resolve.")
    return addresses


async def vet(url: str, *, require_https: bool, public_only: bool) -> Target:
    """Check a URL and say how to reach it; with `public_only`, pin the vetted address."""
    parts = check_shape(url, require_https=require_https)
    if not public_only:
        return Target(url=url, host_header=None, sni_hostname=None)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    refused = [a for a in addresses if not address_allowed(a)]
    if refused:
        raise UrlRejected(
            f"The host {host!r} resolves to a private, loopback, link-local or metadata "
            "address; webhooks can only be sent to public addresses."
        )
    return pinned(parts, addresses[0])


def pinned(parts: SplitResult, address: str) -> Target:
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host:
        host_header = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    sni = host if parts.scheme == "https" else None
    return Target(url=url, host_header=host_header, sni_hostname=sni)
