"""Running the Node helpers in tests/chain/js (line-oriented JSON over stdin/stdout)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).parent / "js"


def node_missing_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    modules = JS_DIR / "node_modules" / "@stacks"
    if not all((modules / name).is_dir() for name in ("transactions", "clarinet-sdk")):
        return "tests/chain/js/node_modules is missing (run `npm ci` there)"
    return None


def require_node() -> None:
    """Skip when node or the helper's packages are missing, except in CI where that fails."""
    reason = node_missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"node cross-checks cannot run in CI: {reason}")
    pytest.skip(reason)


class NodeHelper:
    """One long-lived `node <script>` process answering one JSON line per request line."""

    def __init__(self, script: str):
        self._proc = subprocess.Popen(
            ["node", str(JS_DIR / script)],
            cwd=JS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        line = stdout.readline()
        assert line, f"node helper exited with {self._proc.poll()}"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=60)
