"""Units of the webhook package: schedule, signing, secrets at rest, the SSRF guard."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

import pytest
import stripe

from sbtc_gateway.core.crypto import Keyring, KeyringError, generate_key_entry, parse_keys
from sbtc_gateway.webhooks import signing, ssrf
from sbtc_gateway.webhooks.schedule import LIVE, Schedule


def test_live_schedule_spans_three_days() -> None:
    rng = random.Random(7)
    elapsed, attempts = 0, 1
    while True:
        delay = LIVE.delay_ms(attempts, rng)
        if elapsed + delay > LIVE.window_ms:
            break
        elapsed += delay
        attempts += 1
    assert 10 <= attempts <= 13
    assert 48 * 3600_000 < elapsed <= LIVE.window_ms
    first = [LIVE.delay_ms(n, random.Random(1)) / 1000 for n in (1, 2, 3)]
    assert 48 <= first[0] <= 72
    assert 144 <= first[1] <= 216
    assert 432 <= first[2] <= 648
    assert LIVE.delay_ms(40, rng) <= 12 * 3600_000 * 1.2


def test_test_schedule_is_configurable() -> None:
    fast = Schedule(0.2, 1.0, 60.0)
    assert fast.delay_ms(1) <= 240
    assert fast.delay_ms(10) <= 1200
    assert fast.window_ms == 60_000


def test_signature_matches_stripe_sdk() -> None:
    body = b'{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{}}'
    one, two = signing.new_secret(), signing.new_secret()
    header = signing.header([one, two], body)
    assert header.startswith("t=")
    assert header.count(",v1=") == 2
    for secret in (one, two):
        event = stripe.Webhook.construct_event(body.decode(), header, secret)
        assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode() + " ", header, one)
    stale = signing.header([one], body, timestamp=1)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode(), stale, one)


def test_keyring_binds_ciphertext_to_row_and_key_id() -> None:
    ring = Keyring(parse_keys(generate_key_entry("a") + "," + generate_key_entry("b")))
    sealed = ring.encrypt("whsec_abc", "we_1")
    assert sealed.startswith("a:")
    assert ring.decrypt(sealed, "we_1") == "whsec_abc"
    with pytest.raises(KeyringError):
        ring.decrypt(sealed, "we_2")  # copied onto another endpoint
    with pytest.raises(KeyringError):
        ring.decrypt("zz:" + sealed[2:], "we_1")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(KeyringError):
        ring.decrypt(tampered, "we_1")
    for bad in ("nokid", "k:notbase64!", "k:c2hvcnQ=", "a:" + "A" * 44 + ",a:" + "A" * 44):
        with pytest.raises(KeyringError):
            parse_keys(bad)


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
