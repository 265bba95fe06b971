"""`ChainSource` is what the gateway calls on a chain, and `StacksApiClient` satisfies it.

This file is in mypy's `files` (pyproject.toml), so the assignment below is checked statically:
if the client's signatures drift from the protocol, `mypy` fails, not a test run.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from sbtc_gateway.chain import ChainSource, StacksApiClient

SRC = Path(__file__).resolve().parents[2] / "src" / "sbtc_gateway"


def protocol_methods() -> list[str]:
    return sorted(n for n, v in vars(ChainSource).items() if inspect.iscoroutinefunction(v))


async def test_the_stacks_api_client_is_a_chain_source() -> None:
    async with StacksApiClient("http://127.0.0.1:9") as client:
        source: ChainSource = client  # the static proof; mypy checks this line
        assert source is client


def test_each_method_has_the_clients_parameters() -> None:
    # A runtime backstop for the same fact, naming the method that drifted.
    for name in protocol_methods():
        want = inspect.signature(getattr(StacksApiClient, name)).parameters
        got = inspect.signature(getattr(ChainSource, name)).parameters
        assert [(p.name, p.kind) for p in got.values()] == [
            (p.name, p.kind) for p in want.values()
        ], name


def test_the_gateway_calls_every_method_of_the_protocol() -> None:
    """The protocol stays exactly what the gateway uses: a method nobody calls is dropped."""
    code = "\n".join(
        p.read_text()
        for p in SRC.rglob("*.py")
        if p.relative_to(SRC).as_posix() not in ("chain/client.py", "chain/source.py")
    )
    unused = [n for n in protocol_methods() if not re.search(rf"\.{n}\(", code)]
    assert protocol_methods()
    assert not unused, unused
