"""docs/runbooks/: each page names the alerts that send you there (they exist in alerts.yml),
every critical alert has a page, and every command in a `sh` block exists — `sbtc-gateway`
subcommands with the options given, `make` targets, `python -m` modules. (`kubectl`, `curl`,
`docker`, `psql` and the like are other tools: not checked.)"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from sbtc_gateway.cli import main

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted((ROOT / "docs" / "runbooks").glob("*.md"))
PAGES = [p for p in RUNBOOKS if p.name != "README.md"]
ALERTS = {
    rule["alert"]: rule["labels"]["severity"]
    for group in yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
    for rule in group["rules"]
}
TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


def alerts_of(page: Path) -> set[str]:
    """The backticked names of the paragraph that starts with **Alerts:**."""
    text = page.read_text()
    paragraph = text[text.index("**Alerts:**") :].split("\n\n", 1)[0]
    return set(re.findall(r"`([A-Za-z]+)`", paragraph))


def commands(page: Path) -> list[list[str]]:
    """Each simple command of the page's sh blocks, as tokens (continuations joined)."""
    blocks = re.findall(r"```sh\n(.*?)```", page.read_text(), flags=re.S)
    found = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"&&|\|\||;|\|", line.split(" #")[0]):
                try:
                    tokens = shlex.split(part)
                except ValueError:
                    tokens = part.split()
                while tokens and re.match(r"^[A-Z_]+=", tokens[0]):
                    tokens = tokens[1:]  # VAR=value before the command
                if tokens:
                    found.append(tokens)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_each_page_names_real_alerts(page: Path) -> None:
    named = alerts_of(page)
    assert named, page.name
    assert named <= set(ALERTS), named - set(ALERTS)


def test_every_critical_alert_has_a_runbook() -> None:
    covered = set().union(*(alerts_of(p) for p in PAGES))
    critical = {name for name, severity in ALERTS.items() if severity == "critical"}
    assert critical <= covered, critical - covered


def test_the_index_lists_every_page() -> None:
    index = (ROOT / "docs" / "runbooks" / "README.md").read_text()
    for page in PAGES:
        assert f"({page.name})" in index, page.name


def _check_gateway_command(tokens: list[str]) -> None:
    command: click.Command = main
    args = tokens[1:]
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        sub = command.get_command(click.Context(command), args[0])
        assert sub is not None, f"no such command: sbtc-gateway … {args[0]}"
        command, args = sub, args[1:]
    assert not isinstance(command, click.Group), f"incomplete command: {' '.join(tokens)}"
    options = {opt for param in command.params for opt in param.opts} | {"--help"}
    for arg in args:
        if arg.startswith("--"):
            assert arg.split("=")[0] in options, f"{' '.join(tokens)}: no option {arg}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_exists(page: Path) -> None:
    checked = 0
    for tokens in commands(page):
        if tokens[0] == "sbtc-gateway":
            _check_gateway_command(tokens)
            checked += 1
        elif tokens[0] == "make":
            assert tokens[1] in TARGETS, tokens
            checked += 1
        elif tokens[0] in ("python", "python3") and tokens[1] == "-m":
            assert importlib.util.find_spec(tokens[2]) is not None, tokens
            checked += 1
    # remedies through other tools only: Redis itself, the merchant's API key rotation (curl)
    assert checked or page.name in ("redis-lost.md", "merchant-key-leaked.md"), page.name
