"""A bounds-checked reader for the big-endian consensus encodings."""

from __future__ import annotations


class ByteReader:
    """Reads fixed-width fields from a buffer; every short read raises ``error``."""

    __slots__ = ("_data", "_error", "pos")

    def __init__(self, data: bytes, error: type[Exception], pos: int = 0):
        self._data = data
        self._error = error
        self.pos = pos

    @property
    def remaining(self) -> int:
        return len(self._data) - self.pos

    def read(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self._data):
            raise self._error(f"unexpected end of data: need {n} bytes at offset {self.pos}")
        chunk = self._data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.read(1)[0]

    def u32(self) -> int:
        return int.from_bytes(self.read(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self.read(8), "big")

    def expect_end(self) -> None:
        if self.remaining:
            raise self._error(f"{self.remaining} unexpected trailing bytes at offset {self.pos}")
