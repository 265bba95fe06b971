"""Where report files live: an interface, and the local directory behind it by default.

A file is written whole before it is named (temporary file, then rename), so a reader never
sees half a report, and writing the same key again (a run taken over after a crash) replaces
it. Another store (object storage) implements the same three calls.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Protocol

KEY = re.compile(r"^[A-Za-z0-9_]+/[A-Za-z0-9_.]+$")


class FileStore(Protocol):
    async def write(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the bytes under `key` (replacing any), return the size."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]: ...

    async def exists(self, key: str) -> bool: ...


class LocalFileStore:
    def __init__(self, root: Path, chunk_size: int = 64 * 1024) -> None:
        self.root = root
        self.chunk_size = chunk_size

    def _path(self, key: str) -> Path:
        if not KEY.match(key):  # keys are made by the gateway; never a path from a request
            raise ValueError(f"bad file key {key!r}")
        return self.root / key

    async def write(self, key: str, chunks: Iterable[bytes]) -> int:
        return await asyncio.to_thread(self._write, key, chunks)

    def _write(self, key: str, chunks: Iterable[bytes]) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        size = 0
        with open(tmp, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
        return size

    async def read(self, key: str) -> AsyncIterator[bytes]:
        f = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(f.read, self.chunk_size):
                yield chunk
        finally:
            f.close()

    async def exists(self, key: str) -> bool:
        return self._path(key).exists()
