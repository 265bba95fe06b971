"""Client IP from trusted proxies only (X-Forwarded-For walked from the right)."""

from __future__ import annotations

import pytest

from sbtc_gateway.api.client_ip import client_ip, parse_networks

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.1/32, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        # no proxy configured or peer not trusted: the header is ignored
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),
        # one trusted proxy: the address it saw
        ("10.1.2.3", ["198.51.100.7"], "198.51.100.7"),
        # the client prepended a fake address: the proxy's entry on the right wins
        ("10.1.2.3", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
        # two trusted proxies in a row
        ("10.1.2.3", ["198.51.100.7, 192.168.1.1"], "198.51.100.7"),
        # several headers are one list
        ("10.1.2.3", ["198.51.100.7", "10.9.9.9"], "198.51.100.7"),
        # only proxies: the leftmost one
        ("10.1.2.3", ["10.2.2.2, 10.3.3.3"], "10.2.2.2"),
        # garbage: stop at the last trusted hop
        ("10.1.2.3", ["198.51.100.7, not-an-ip"], "10.1.2.3"),
        # no header at all
        ("10.1.2.3", [], "10.1.2.3"),
        ("fd00::1", ["2001:db8::5"], "2001:db8::5"),
    ],
)
def test_client_ip(peer: str, xff: list[str], expected: str) -> None:
    assert client_ip(peer, xff, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_ip("10.1.2.3", ["198.51.100.7"], parse_networks("")) == "10.1.2.3"
    assert client_ip(None, [], parse_networks("")) == "unknown"
