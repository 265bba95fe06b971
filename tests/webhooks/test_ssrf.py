"""The SSRF guard (`webhooks/ssrf.py`): which addresses a webhook may reach, pinned targets."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from sbtc_gateway.webhooks import ssrf


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("fd00:ec2::254", False),
    ],
)
def test_address_classes(address: str, allowed: bool) -> None:
    assert ssrf.address_allowed(address) is allowed


def test_pinned_target_keeps_name_for_host_and_sni() -> None:
    target = ssrf.pinned(urlsplit("https://hooks.example.com:8443/a/b?x=1"), "93.184.215.14")
    assert target.url == "https://93.184.215.14:8443/a/b?x=1"
    assert target.host_header == "hooks.example.com:8443"
    assert target.sni_hostname == "hooks.example.com"
    v6 = ssrf.pinned(urlsplit("http://example.com"), "2606:4700::1111")
    assert v6.url == "http://[2606:4700::1111]/"
    assert v6.sni_hostname is None


async def test_vet_rejects_private_resolution_and_allows_public() -> None:
    with pytest.raises(ssrf.UrlRejected):
        await ssrf.vet("https://localhost/hook", require_https=True, public_only=True)
    with pytest.raises(ssrf.UrlRejected):
        await ssrf.vet("http://93.184.215.14/hook", require_https=True, public_only=True)
    target = await ssrf.vet("https://93.184.215.14/hook", require_https=True, public_only=True)
    assert target.url == "https://93.184.215.14/hook"
    local = await ssrf.vet("http://127.0.0.1:3000/hook", require_https=False, public_only=False)
    assert local.url == "http://127.0.0.1:3000/hook"
