"""Starting the local devnet (`devnet/`, a Node server around the Clarity VM) from Python.

Used by `sbtc-gateway devnet`, by `sbtc-gateway dev` and by the test suite. The devnet prints
exactly one line on stdout when it serves: `devnet ready on URL {json}`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY = re.compile(r"^devnet ready on (\S+) (\{.*\})$")
REPO_ROOT = Path(__file__).resolve().parents[2]


class DevnetError(RuntimeError):
    """The devnet could not be started."""


def devnet_dir() -> Path:
    return Path(os.environ.get("SBTC_DEVNET_DIR", REPO_ROOT / "devnet"))


def available() -> str | None:
    """Why the devnet cannot run here, or None if it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (devnet_dir() / "node_modules").is_dir():
        return f"{devnet_dir()}/node_modules is missing (run `make setup`)"
    return None


@dataclass
class DevnetProcess:
    port: int = 3999
    host: str = "127.0.0.1"
    block_time_ms: int = 2000
    burn_block_time_ms: int | None = None
    quiet: bool = True
    extra_args: list[str] = field(default_factory=list)
    url: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 120.0) -> DevnetProcess:
        reason = available()
        if reason:
            raise DevnetError(f"cannot start the devnet: {reason}")
        node = shutil.which("node")
        assert node is not None
        args = [node, "src/main.mjs", "--port", str(self.port), "--host", self.host,
                "--block-time-ms", str(self.block_time_ms), *self.extra_args]  # fmt: skip
        if self.burn_block_time_ms is not None:
            args += ["--burn-block-time-ms", str(self.burn_block_time_ms)]
        if self.quiet:
            args.append("--quiet")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            args,
            cwd=devnet_dir(),
            stdout=subprocess.PIPE,
            stderr=None if not self.quiet else subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        match = READY.match(line[0].strip()) if line and line[0] else None
        if match is None:
            self.stop()
            raise DevnetError("the devnet did not report ready")
        self.url = match.group(1)
        self.info = json.loads(match.group(2))
        return self

    def _readline(self) -> str:
        assert self.process is not None
        assert self.process.stdout is not None
        return self.process.stdout.readline()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def __enter__(self) -> DevnetProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
