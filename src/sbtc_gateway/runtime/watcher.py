"""The chain watcher's wiring, written once: `sbtc-gateway watcher` and `dev` both use it."""

from __future__ import annotations

from sbtc_gateway.chain import StacksApiClient, get_network
from sbtc_gateway.config import Settings
from sbtc_gateway.runtime.container import Gateway
from sbtc_gateway.watcher.endpoints import WAKE_CHANNEL
from sbtc_gateway.watcher.runner import Watcher
from sbtc_gateway.watcher.target import WatchTarget


class NoContractError(RuntimeError):
    """The network asked for has no gateway contract configured."""


def default_network(settings: Settings) -> str:
    return "mainnet" if settings.live else settings.test_network


def served_networks(settings: Settings) -> list[str]:
    """The networks this gateway takes payments on: the test network, and mainnet when live."""
    return [settings.test_network, *(["mainnet"] if settings.live else [])]


def watch_target(settings: Settings, network: str) -> WatchTarget:
    livemode = network == "mainnet"
    contract = settings.live_gateway_contract if livemode else settings.test_gateway_contract
    if contract is None:
        raise NoContractError(f"no gateway contract is configured for {network}")
    return WatchTarget(
        network=get_network(network),
        contract_id=contract,
        livemode=livemode,
        large_payment_sats=settings.large_payment_sats,
        large_payment_confirmations=settings.large_payment_confirmations,
        reinclusion_blocks=settings.reorg_reinclusion_blocks,
        previous_contracts=settings.previous_contracts(livemode),
    )


def api_url(settings: Settings, network: str) -> str:
    return settings.live_stacks_api_url if network == "mainnet" else settings.test_stacks_api_url


def build_watcher(gateway: Gateway, network: str, client: StacksApiClient) -> Watcher:
    """A watcher of `network` that tells the gateway's caches what it changed and polls at
    once when a chain push arrives (the `chain-wake` channel, across processes by Redis)."""
    settings = gateway.settings
    watcher = Watcher(
        gateway.sessions,
        watch_target(settings, network),
        client,
        after_commit=gateway.after_commit,
        poll_interval=settings.watcher_poll_interval_seconds,
    )
    gateway.shared.pubsub.subscribe(WAKE_CHANNEL, watcher.on_push)
    return watcher


async def run_watcher(gateway: Gateway, network: str) -> None:
    """Follow `network` until cancelled, as the leader or standing by (PostgreSQL)."""
    settings = gateway.settings
    async with StacksApiClient(api_url(settings, network)) as client:
        watcher = build_watcher(gateway, network, client)
        await watcher.run_as_leader(gateway.engine, standby=settings.watcher_standby_seconds)
