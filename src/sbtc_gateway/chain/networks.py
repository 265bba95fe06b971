"""Network settings for devnet, testnet and mainnet, in one place, chosen by name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

from .c32 import AddressVersion


class TransactionVersion(IntEnum):
    MAINNET = 0x00
    TESTNET = 0x80


class ChainId(IntEnum):
    MAINNET = 0x00000001
    TESTNET = 0x80000000


@dataclass(frozen=True, slots=True)
class Network:
    """Everything that differs between Stacks networks.

    ``sbtc_token`` is the sBTC token contract principal and ``sbtc_asset`` the fungible-token
    name inside it, so ``f"{sbtc_token}::{sbtc_asset}"`` is the asset id that post-conditions and
    the Hiro API use.
    """

    name: str
    chain_id: int
    transaction_version: int
    single_sig_version: int
    multi_sig_version: int
    sbtc_token: str
    sbtc_asset: str
    api_url: str

    @property
    def is_mainnet(self) -> bool:
        return self.transaction_version == TransactionVersion.MAINNET

    @property
    def sbtc_asset_id(self) -> str:
        return f"{self.sbtc_token}::{self.sbtc_asset}"


SBTC_MAINNET = "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token"
SBTC_TESTNET = "ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token"

MAINNET = Network(
    name="mainnet",
    chain_id=int(ChainId.MAINNET),
    transaction_version=int(TransactionVersion.MAINNET),
    single_sig_version=int(AddressVersion.MAINNET_SINGLE_SIG),
    multi_sig_version=int(AddressVersion.MAINNET_MULTI_SIG),
    sbtc_token=SBTC_MAINNET,
    sbtc_asset="sbtc-token",
    api_url="https://api.hiro.so",
)
TESTNET = Network(
    name="testnet",
    chain_id=int(ChainId.TESTNET),
    transaction_version=int(TransactionVersion.TESTNET),
    single_sig_version=int(AddressVersion.TESTNET_SINGLE_SIG),
    multi_sig_version=int(AddressVersion.TESTNET_MULTI_SIG),
    sbtc_token=SBTC_TESTNET,
    sbtc_asset="sbtc-token",
    api_url="https://api.testnet.hiro.so",
)
# The Clarinet simnet behind the devnet has testnet chain id and addresses, yet carries the real
# sBTC contracts at their mainnet address.
DEVNET = Network(
    name="devnet",
    chain_id=int(ChainId.TESTNET),
    transaction_version=int(TransactionVersion.TESTNET),
    single_sig_version=int(AddressVersion.TESTNET_SINGLE_SIG),
    multi_sig_version=int(AddressVersion.TESTNET_MULTI_SIG),
    sbtc_token=SBTC_MAINNET,
    sbtc_asset="sbtc-token",
    api_url="http://127.0.0.1:3999",
)

NETWORKS: MappingProxyType[str, Network] = MappingProxyType(
    {n.name: n for n in (DEVNET, TESTNET, MAINNET)}
)


def get_network(name: str) -> Network:
    """Return the settings for ``"devnet"``, ``"testnet"`` or ``"mainnet"`` (case-insensitive)."""
    try:
        return NETWORKS[name.strip().lower()]
    except KeyError:
        known = ", ".join(NETWORKS)
        raise ValueError(f"unknown Stacks network {name!r} (known: {known})") from None
