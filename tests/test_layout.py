"""The layout of tests/ (cross-cutting): the test of a module is found by its name.

The tests of `src/sbtc_gateway/<package>/<module>.py` are `tests/<package>/test_<module>.py`, so a
`test_*.py` in a package folder must name a module of that package. Every folder with Python
files is a package (`__init__.py`): test modules are imported as `tests.<package>.test_<module>`,
and the same basename lives in several folders. At the top stay the tests of top-level modules
(`test_config.py` for `config.py`) and the few suites that cut across packages.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SRC = ROOT / "src" / "sbtc_gateway"

# Folders whose subjects are not a package of src/sbtc_gateway, and where those subjects live.
OTHER_HOMES = {
    "scripts": ROOT / "scripts",  # operations tooling: test_scaleout.py tests scripts/scaleout.py
    "fakes": TESTS / "fakes",  # the test doubles' own tests: test_chain.py tests fakes/chain.py
}
# Folders of suites that are not one module's each.
FREE_FOLDERS = {
    "sdk",  # compatibility suites of the official Stripe SDKs (see tests/sdk/__init__.py)
    "deploy",  # the files under deploy/ (alert rules, dashboards), which are not Python
    "docs",  # the runbooks and other pages under docs/, which are not Python
    "web",  # the pages of web/ (TypeScript) in a real Chromium, through Playwright
}
# Files in package folders that name no module, each for its reason. Keep this list short.
EXCEPTIONS = {
    "api/test_params_fuzz.py": "params.py's checks, fuzzed over the whole OpenAPI document",
    "chain/test_devnet.py": "the chain toolkit against a real devnet",
    "db/test_pgbouncer.py": "engine.py's PgBouncer mode, through a real PgBouncer",
    "chain/test_node_crosscheck.py": "serialization checked against @stacks/transactions",
    "chain/test_vm_crosscheck.py": "values and hashes checked against the Clarity VM",
    "payments/test_concurrency.py": "simultaneous transitions of one intent",
    "runtime/test_replicas.py": "two app instances (replicas) on one Redis",
    "runtime/test_processes.py": "metrics of real `api --workers 2` and `watcher` processes",
    "watcher/test_devnet.py": "payments end to end on the devnet, paid by a stacks.js wallet",
    "watcher/test_upgrade.py": "a contract upgrade: the watcher follows both, on its own devnet",
    "watcher/test_scenarios.py": "the money scenarios, on the fake chain and on the devnet",
}
# The top level: suites that cut across packages (each says so in its docstring).
CROSS_CUTTING = {"test_docs.py", "test_layout.py", "test_livemode.py", "test_secret_scan.py"}
SKIPPED_DIRS = {"node_modules", "__pycache__"}


def _walk() -> Iterator[tuple[Path, list[str]]]:
    for top, dirs, files in os.walk(TESTS):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        yield Path(top), files


def _test_files() -> list[Path]:
    return sorted(
        (top / name).relative_to(TESTS)
        for top, files in _walk()
        for name in files
        if name.startswith("test_") and name.endswith(".py")
    )


def _names_its_module(rel: Path) -> str | None:
    """Why `rel` (relative to tests/) is misplaced, or None."""
    module = rel.name.removeprefix("test_")
    if len(rel.parts) == 1:
        if rel.name in CROSS_CUTTING or (SRC / module).is_file():
            return None
        return f"{rel}: no src/sbtc_gateway/{module}; move it into the folder of its package"
    if len(rel.parts) > 2:
        return f"{rel}: one folder per package, no deeper"
    folder = rel.parts[0]
    if folder in FREE_FOLDERS or rel.as_posix() in EXCEPTIONS:
        return None
    home = OTHER_HOMES.get(folder, SRC / folder)
    if not home.is_dir():
        return f"{rel}: tests/{folder}/ is not a package of src/sbtc_gateway"
    if not (home / module).is_file():
        return f"{rel}: no {home.relative_to(ROOT)}/{module}"
    return None


def test_every_test_file_names_the_module_it_tests() -> None:
    files = _test_files()
    assert len(files) > 50  # the walk found the suites
    offenders = [why for rel in files if (why := _names_its_module(rel)) is not None]
    assert offenders == []


def test_every_folder_with_python_files_is_a_package() -> None:
    offenders = [
        str(top.relative_to(ROOT))
        for top, files in _walk()
        if any(name.endswith(".py") for name in files) and "__init__.py" not in files
    ]
    assert offenders == []


def test_the_exceptions_are_still_needed() -> None:
    """An exception whose file is gone, or that names a module after all, leaves the list."""
    stale = [
        rel
        for rel in EXCEPTIONS
        if not (TESTS / rel).is_file()
        or (SRC / Path(rel).parent / Path(rel).name.removeprefix("test_")).is_file()
    ]
    assert stale == []
