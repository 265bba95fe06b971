"""Signing and serialization throughput of the chain toolkit (transactions per second).

Run from the repository root:  python -m bench.chain_sign [--count N] [--pure-hash]

Each figure is the best of three timed rounds of N operations on one core, after a warm-up.
``--pure-hash`` forces the pure-Python SHA-512/256 and RIPEMD-160 fallbacks (as on an OpenSSL
without them) to show what that costs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata

from sbtc_gateway.chain import hashing, transactions
from sbtc_gateway.chain.builders import make_contract_call
from sbtc_gateway.chain.clarity import StringAscii, Tuple, UInt, deserialize, principal
from sbtc_gateway.chain.keys import PrivateKey
from sbtc_gateway.chain.networks import TESTNET
from sbtc_gateway.chain.postconditions import ft_post_condition
from sbtc_gateway.chain.signing import sign_terms, verify_terms
from sbtc_gateway.chain.transactions import deserialize_transaction, verify_origin

# A throwaway key for benchmarking only (the primer's public test vector key).
KEY = PrivateKey.from_hex("b244296d5907de9864c0b0d51f98a13c52890be0404e83f273144cd5b9960eed")
GATEWAY = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.payment-gateway"
MERCHANT = principal("ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG")
SENDER = KEY.address(TESTNET.single_sig_version)


def payment(nonce: int) -> transactions.Transaction:
    """The gateway's typical transaction: pay(amount, id, merchant) with one sBTC post-condition."""
    return make_contract_call(
        TESTNET,
        KEY,
        GATEWAY,
        "pay",
        [UInt(25_000 + nonce), StringAscii(f"pi_{nonce:020d}"), MERCHANT],
        nonce=nonce,
        fee=3000,
        post_conditions=[ft_post_condition(SENDER, "eq", 25_000 + nonce, TESTNET.sbtc_asset_id)],
    )


def terms(i: int) -> Tuple:
    return Tuple(
        {
            "payment-id": StringAscii(f"pi_{i:020d}"),
            "merchant": MERCHANT,
            "amount": UInt(25_000 + i),
            "fee": UInt(250),
            "expires-at": UInt(1_800_000_000),
            "chain-id": UInt(TESTNET.chain_id),
        }
    )


def rate(count: int, fn: Callable[[int], object]) -> float:
    for i in range(min(count, 50)):
        fn(i)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(count):
            fn(i)
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="operations per round")
    parser.add_argument(
        "--pure-hash", action="store_true", help="use the pure-Python hash fallbacks"
    )
    args = parser.parse_args()
    if args.pure_hash:
        hashing.sha512_256 = hashing.sha512_256_pure
        hashing.ripemd160 = hashing.ripemd160_pure
        transactions.sha512_256 = hashing.sha512_256_pure  # type: ignore[attr-defined]
        transactions.hash160 = hashing.hash160  # type: ignore[attr-defined]

    n = args.count
    txs = [payment(i) for i in range(n)]
    raws = [tx.serialize() for tx in txs]
    tuples = [terms(i) for i in range(n)]
    encoded = [t.serialize() for t in tuples]
    sigs = [sign_terms(t, KEY) for t in tuples]

    results = [
        ("build + sign contract call (pay, 1 FT post-condition)", rate(n, payment)),
        ("serialize signed transaction", rate(n, lambda i: txs[i].serialize())),
        ("txid (serialize + SHA-512/256)", rate(n, lambda i: txs[i].txid())),
        ("deserialize raw transaction", rate(n, lambda i: deserialize_transaction(raws[i]))),
        (
            "deserialize + verify origin signature",
            rate(n, lambda i: verify_origin(deserialize_transaction(raws[i]))),
        ),
        ("serialize terms tuple (6 fields)", rate(n, lambda i: tuples[i].serialize())),
        ("deserialize terms tuple", rate(n, lambda i: deserialize(encoded[i]))),
        ("sign terms (sha256 + secp256k1, R||S||V)", rate(n, lambda i: sign_terms(tuples[i], KEY))),
        (
            "verify terms signature",
            rate(n, lambda i: verify_terms(tuples[i], sigs[i], KEY.public_key)),
        ),
    ]

    openssl = [name for name in ("sha512_256", "ripemd160") if name in hashlib.algorithms_available]
    print("sbtc_gateway.chain signing/serialization benchmark")
    print(
        f"  command:  python -m bench.chain_sign --count {n}"
        + (" --pure-hash" if args.pure_hash else "")
    )
    print(f"  python:   {sys.version.split()[0]} ({platform.python_implementation()})")
    print(f"  machine:  {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}")
    print(
        f"  coincurve {metadata.version('coincurve')}; hashes: "
        f"{'pure-Python fallbacks' if args.pure_hash else 'hashlib ' + ', '.join(openssl)}"
    )
    print(f"  method:   best of 3 rounds x {n} operations, single thread, after warm-up")
    print(f"  sample tx size: {len(raws[0])} bytes")
    print()
    width = max(len(label) for label, _ in results)
    for label, per_second in results:
        print(f"  {label:<{width}}  {per_second:>10,.0f} /s")


if __name__ == "__main__":
    main()
