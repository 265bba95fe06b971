"""Starting the local devnet (`devnet/`, a Node server around the Clarity VM) from Python.

Used by `sbtc-gateway devnet`, by `sbtc-gateway dev` and by the test suite. The devnet prints
exactly one line on stdout when it serves: `devnet ready on URL {json}`. With `state_dir` it keeps
its chain in that folder and continues it at the next start (`devnet/README.md`, "State folder");
without, every start is a new chain.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections import deque
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
    state_dir: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    url: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    _last_words: deque[str] = field(default_factory=lambda: deque(maxlen=20), repr=False)
    _drainer: threading.Thread | None = field(default=None, repr=False)

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
        if self.state_dir is not None:
            args += ["--state-dir", str(self.state_dir.resolve())]
        if self.quiet:
            args.append("--quiet")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            args,
            cwd=devnet_dir(),
            stdout=subprocess.PIPE,
            # quiet: only read back to explain a failed start (the devnet logs little otherwise)
            stderr=None if not self.quiet else subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        if self.quiet:
            self._drainer = threading.Thread(target=self._drain, daemon=True)
            self._drainer.start()
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        match = READY.match(line[0].strip()) if line and line[0] else None
        if match is None:
            why = self._why() if line == [""] else ""  # "": end of output, not a timeout
            self.stop()
            raise DevnetError(f"the devnet did not report ready{why}")
        self.url = match.group(1)
        self.info = json.loads(match.group(2))
        return self

    def _drain(self) -> None:
        """Quiet: keep the last lines of stderr (read, so the devnet never blocks on a full
        pipe) to explain a failed start."""
        assert self.process is not None
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if line.strip():
                self._last_words.append(line.rstrip())

    def _why(self) -> str:
        """The devnet's own last words, when it exited (e.g. a state folder it refuses): its
        stdout closed without the ready line, so it is exiting."""
        if self.process is None:
            return ""
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return ""
        if self._drainer is not None:
            self._drainer.join(5)
        last = self._last_words[-1] if self._last_words else ""
        return f": {last.removeprefix('devnet failed to start: ')}" if last else ""

    @property
    def resumed(self) -> bool:
        """The devnet continued the chain kept in `state_dir` (False: a new chain)."""
        return bool(self.info.get("resumed"))

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
