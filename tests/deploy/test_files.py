"""The alert rules and the Grafana dashboard refer only to metrics the gateway exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.metrics import MetricWrapperBase

import sbtc_gateway.observability.metrics as metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _exported() -> set[str]:
    names: set[str] = set()
    for collector in vars(metrics).values():
        if isinstance(collector, MetricWrapperBase):
            names.update(family.name for family in collector.describe())
    return names


def _used(text: str) -> set[str]:
    found = set()
    for name in re.findall(r"\bsbtc_[a-z_]+", text):
        for suffix in SUFFIXES:
            if name.endswith(suffix) and name != "sbtc_events_total":
                name = name[: -len(suffix)]
                break
        found.add(name.removesuffix("_total"))
    return found


def _known() -> set[str]:
    return {n.removesuffix("_total") for n in _exported()}


def test_alert_rules_are_well_formed_and_use_real_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    severities = {rule["labels"]["severity"] for rule in alerts}
    assert severities == {"critical", "warning", "info"}
    for rule in alerts:
        assert rule["alert"]
        assert rule["expr"].strip()
        assert rule["annotations"]["summary"]
    names = {rule["alert"] for rule in alerts}
    for expected in (
        "ApiErrorRateHigh", "DatabaseConnectionFailures", "PaymentFailuresHigh",
        "ApiLatencyHigh", "QueueDepthHigh", "HighMemoryUsage", "LowDiskSpace",
    ):  # fmt: skip
        assert expected in names
    unknown = _used("\n".join(rule["expr"] for rule in alerts)) - _known()
    assert not unknown, unknown


def test_dashboard_uses_real_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "sbtc-gateway.json").read_text())
    exprs = "\n".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    assert len(dashboard["panels"]) >= 10
    unknown = _used(exprs) - _known()
    assert not unknown, unknown


def test_large_payment_bucket_label_matches_the_rule() -> None:
    # the LargeTransaction rule subtracts the le="1e+07" bucket
    assert 'sbtc_payment_amount_sats_bucket{le="1e+07"}' in generate_latest(REGISTRY).decode()
