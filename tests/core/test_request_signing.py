"""The `Sbtc-Signature` header (`core/request_signing.py`): the worked example of
docs/request-signing.md, and malformed headers."""

from __future__ import annotations

from sbtc_gateway.core import request_signing

EXAMPLE_SIGNING_SECRET = "sksig_EXAMPLEexample0123456789abcdefghijklmnopqrs"


def test_worked_example_from_the_docs() -> None:
    header = request_signing.sign_header(
        EXAMPLE_SIGNING_SECRET,
        "POST",
        "/v1/api_keys/rotate",
        b"expires_in=3600",
        timestamp=1764072000,
        nonce="k3Jd9aQm2Lx7Vb4Np8Rt0W",
    )
    assert header == (
        "t=1764072000,n=k3Jd9aQm2Lx7Vb4Np8Rt0W,"
        "v1=471d64e7f2df0f2643f7f7729b6826a6427e18548da340c6e73a08e650365ff9"
    )
    parsed = request_signing.parse_header(header)
    assert parsed is not None
    assert parsed.timestamp == 1764072000


def test_parse_rejects_malformed_headers() -> None:
    for bad in ("", "t=1", "t=x,n=abcdefghijklmnop,v1=" + "0" * 64, "t=1,n=short,v1=" + "0" * 64):
        assert request_signing.parse_header(bad) is None
