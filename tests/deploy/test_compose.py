"""compose.yaml: valid for `docker-compose config` (Debian's docker-compose reads and resolves
the file without a Docker engine), and the same topology as `scripts/scaleout.py` runs natively
— the same roles in the same numbers, each running the same `sbtc-gateway` command with the
settings scale-out gives every process, nginx with the same proxy directives, secrets from files
only."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sbtc_gateway.config import SECRET_FIELDS
from scripts.scaleout import ScaleOut, nginx_config
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
ROLE = "org.sbtc-gateway.role"
# What scale-out takes from the machine it runs on rather than starting itself, and what the
# compose deployment adds on top (both with the reason).
FROM_THE_MACHINE = {
    "database": "TEST_POSTGRES_URL or --database-url",
    "cache": "TEST_REDIS_URL or --redis-url",
    "devnet": "STACKS_DEVNET_URL (the test run's devnet)",
}
COMPOSE_ONLY = {
    "pooler": "PgBouncer: tests/db/test_pgbouncer.py runs it natively",
    "backup": "daily base backup and restore check: tests/db/test_pitr.py runs them natively",
    "observability": "Prometheus, Alertmanager, Grafana (profile observability)",
}
# Settings scale-out gives every gateway process that a container deployment must give too.
SHARED_SETTINGS = ("SBTC_MODE", "SBTC_REDIS_URL", "SBTC_TRUSTED_PROXIES", "SBTC_PUBLIC_URL",
                   "SBTC_DB_POOL_SIZE")  # fmt: skip


def compose_binary() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        if IN_CI:
            pytest.fail("docker-compose is required in CI (scripts/ensure-debian-tool)")
        pytest.skip("docker-compose is not installed (scripts/ensure-debian-tool docker-compose)")
    return found


def resolved(*profiles: str) -> dict[str, Any]:
    """`docker-compose config` of compose.yaml: validated, anchors and variables resolved."""
    argv = [compose_binary(), "-f", str(ROOT / "compose.yaml")]
    for profile in profiles:
        argv += ["--profile", profile]
    done = subprocess.run([*argv, "config"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def roles(config: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, service in config["services"].items():
        role = (service.get("labels") or {}).get(ROLE)
        assert role, f"service {name} has no {ROLE} label"
        found.setdefault(role, []).append(name)
    return found


def test_compose_config_is_valid_with_and_without_the_observability_profile() -> None:
    resolved()
    full = resolved("observability")
    # docker-compose 1.29's `config` lists every service and keeps their profiles
    profiled = {n for n, s in full["services"].items() if s.get("profiles")}
    assert profiled == {"prometheus", "alertmanager", "grafana"}
    for name in profiled:
        assert full["services"][name]["profiles"] == ["observability"]


def test_compose_runs_what_scaleout_runs() -> None:
    config = resolved("observability")
    services = config["services"]
    by_role = roles(config)
    topology = ScaleOut().topology()
    for role, (count, command) in topology.items():
        assert len(by_role.get(role, [])) == count, (role, by_role.get(role))
        for name in by_role.get(role, []):
            if command is not None:
                assert services[name]["command"][0] == command, name
    extra = set(by_role) - set(topology)
    assert extra == set(FROM_THE_MACHINE) | set(COMPOSE_ONLY), extra

    gateway = [n for role, _ in topology.items() if _[1] for n in by_role[role]]
    for name in gateway:
        env = services[name]["environment"]
        for variable in SHARED_SETTINGS:
            assert env.get(variable), (name, variable)
        # every secret from a file, none in the environment
        mounted = {s["target"] if "target" in s else s["source"] for s in services[name]["secrets"]}
        wanted = {f"sbtc_{field}" for field in SECRET_FIELDS} | {"sbtc_database_url"}
        assert wanted <= mounted, (name, wanted - mounted)
        assert env["SBTC_SECRETS_DIR"] == "/run/secrets"
        for variable in env:
            assert variable.lower() not in wanted, (name, variable)
        # the watchers and migrations need a session: PostgreSQL directly, not PgBouncer
        direct = services[name]["labels"][ROLE] in ("watcher", "migrate")
        assert env["SBTC_DB_PGBOUNCER"] == ("false" if direct else "true"), name

    for secret in config["secrets"].values():
        assert secret["file"].startswith(str(ROOT / "deploy" / "compose" / "secrets"))

    # nginx's address is the one proxy the replicas believe
    address = services["nginx"]["networks"]["default"]["ipv4_address"]
    for name in by_role["api"]:
        assert services[name]["environment"]["SBTC_TRUSTED_PROXIES"] == f"{address}/32"


def _directives(text: str) -> set[str]:
    """The proxy directives of an nginx file (one per line, comments and addresses aside)."""
    keep = ("keepalive", "proxy_", "client_max_body_size")
    lines = {re.sub(r"\s+", " ", line.split("#")[0].strip()) for line in text.splitlines()}
    return {line for line in lines if line.startswith(keep)}


def test_compose_nginx_is_scaleouts_nginx(tmp_path: Path) -> None:
    ours = _directives((ROOT / "deploy" / "compose" / "nginx.conf").read_text())
    native = _directives(nginx_config(tmp_path, 8080, ["127.0.0.1:1"]))
    native = {d for d in native if not d.startswith("proxy_temp_path")}
    ours = {d.replace("http://sbtc_gateway", "http://gateway") for d in ours}
    assert ours == native
    example = _directives((ROOT / "deploy" / "nginx" / "sbtc-gateway.conf").read_text())
    assert {d.replace("http://sbtc_gateway", "http://gateway") for d in example} == native


def test_secrets_are_not_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "deploy/compose/secrets"], capture_output=True, text=True, cwd=ROOT
    ).stdout.split()
    assert tracked in ([], ["deploy/compose/secrets/README.md"])
    make_secrets = (ROOT / "deploy" / "compose" / "make-secrets").read_text()
    config = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name in config["secrets"]:
        assert f"put {name} " in make_secrets or f'/{name}"' in make_secrets, name
