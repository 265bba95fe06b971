"""What the webhook service and worker need from the gateway's settings."""

from __future__ import annotations

from dataclasses import dataclass

from sbtc_gateway.config import Settings
from sbtc_gateway.core.crypto import Keyring, keyring
from sbtc_gateway.webhooks.schedule import LIVE, Schedule


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    keyring: Keyring
    # A live-mode gateway refuses webhook URLs that resolve to non-public addresses.
    public_only: bool
    test_schedule: Schedule
    secret_overlap_seconds: int
    disable_after_seconds: int

    def schedule(self, livemode: bool) -> Schedule:
        return LIVE if livemode else self.test_schedule

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        return cls(
            keyring=keyring(settings.keyring_keys()),
            public_only=settings.live,
            test_schedule=Schedule(
                settings.webhook_test_retry_base_seconds,
                settings.webhook_test_retry_cap_seconds,
                settings.webhook_test_retry_window_seconds,
            ),
            secret_overlap_seconds=settings.webhook_secret_overlap_seconds,
            disable_after_seconds=settings.webhook_disable_after_seconds,
        )
