"""Clarity values: a typed model, the consensus (de)serialization and a readable repr.

One class per Clarity type. Values are immutable and compare by value, so
``deserialize(v.serialize()) == v`` is a meaningful test. ``repr(v)`` is the Clarity notation
the Hiro API shows (``u25000``, ``"inv-0001"``, ``(some u1)``, ``(tuple (amount u5) (id "abc"))``,
``'ST2…``).

Tuple keys are kept in the VM's order (sorted by raw bytes), which is the only order
``to-consensus-buff?`` ever produces and so the one that signed hashes depend on. Deserialization
accepts keys in another order, as the VM does, but rejects duplicates.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

from .c32 import InvalidAddressError, c32_address, c32_address_decode
from .errors import ClarityError
from .wire import ByteReader

INT_MIN = -(1 << 127)
INT_MAX = (1 << 127) - 1
UINT_MAX = (1 << 128) - 1
MAX_VALUE_SIZE = 1024 * 1024  # the VM's MAX_VALUE_SIZE: 1 MiB
MAX_DEPTH = 32  # the VM's MAX_TYPE_DEPTH

# A Clarity name (tuple keys, function names, asset names): the VM's CLARITY_NAME_REGEX.
_CLARITY_NAME = re.compile(r"[a-zA-Z]([a-zA-Z0-9]|[-_!?+<>=/*])*|[-+=/*]|[<>]=?")
_CONTRACT_NAME = re.compile(r"[a-zA-Z]([a-zA-Z0-9]|[-_])*|__transient")
# string-ascii admits what the VM's string_ascii_from_bytes admits: alphanumerics, punctuation
# and ASCII whitespace (space, \t, \n, \x0c, \r).
_ASCII_ALLOWED = frozenset(range(0x21, 0x7F)) | frozenset(b" \t\n\x0c\r")


class ClarityType(IntEnum):
    INT = 0x00
    UINT = 0x01
    BUFFER = 0x02
    BOOL_TRUE = 0x03
    BOOL_FALSE = 0x04
    PRINCIPAL_STANDARD = 0x05
    PRINCIPAL_CONTRACT = 0x06
    RESPONSE_OK = 0x07
    RESPONSE_ERR = 0x08
    OPTIONAL_NONE = 0x09
    OPTIONAL_SOME = 0x0A
    LIST = 0x0B
    TUPLE = 0x0C
    STRING_ASCII = 0x0D
    STRING_UTF8 = 0x0E


def is_clarity_name(name: str) -> bool:
    return 0 < len(name) <= 128 and _CLARITY_NAME.fullmatch(name) is not None


def is_contract_name(name: str) -> bool:
    return 0 < len(name) <= 128 and _CONTRACT_NAME.fullmatch(name) is not None


class ClarityValue(ABC):
    """Base class of every Clarity value."""

    __slots__ = ()

    @property
    @abstractmethod
    def type_id(self) -> ClarityType: ...

    @abstractmethod
    def _write(self, out: bytearray) -> None: ...

    @abstractmethod
    def to_repr(self) -> str:
        """The value in Clarity notation, e.g. ``(some u1)``."""

    def serialize(self) -> bytes:
        """The consensus serialization (what ``to-consensus-buff?`` returns)."""
        out = bytearray()
        self._write(out)
        return bytes(out)

    def to_hex(self) -> str:
        """``0x``-prefixed hex of the serialization, as the node RPC takes arguments."""
        return "0x" + self.serialize().hex()

    def __repr__(self) -> str:
        return self.to_repr()

    def __str__(self) -> str:
        return self.to_repr()


@dataclass(frozen=True, slots=True, repr=False)
class Int(ClarityValue):
    value: int

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise ClarityError(f"int value must be an integer: {self.value!r}")
        object.__setattr__(self, "value", int(self.value))  # plain int, even from an IntEnum
        if not INT_MIN <= self.value <= INT_MAX:
            raise ClarityError(f"int out of range: {self.value!r}")

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.INT

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.INT)
        out += self.value.to_bytes(16, "big", signed=True)

    def to_repr(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True, repr=False)
class UInt(ClarityValue):
    value: int

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise ClarityError(f"uint value must be an integer: {self.value!r}")
        object.__setattr__(self, "value", int(self.value))  # plain int, even from an IntEnum
        if not 0 <= self.value <= UINT_MAX:
            raise ClarityError(f"uint out of range: {self.value!r}")

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.UINT

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.UINT)
        out += self.value.to_bytes(16, "big")

    def to_repr(self) -> str:
        return f"u{self.value}"


@dataclass(frozen=True, slots=True, repr=False)
class Buffer(ClarityValue):
    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes | bytearray | memoryview):
            raise ClarityError("buffer data must be bytes")
        object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) > MAX_VALUE_SIZE:
            raise ClarityError("buffer longer than the maximum Clarity value size")

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.BUFFER

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.BUFFER)
        out += len(self.data).to_bytes(4, "big")
        out += self.data

    def to_repr(self) -> str:
        return "0x" + self.data.hex()


@dataclass(frozen=True, slots=True, repr=False)
class Bool(ClarityValue):
    value: bool

    def __post_init__(self) -> None:
        if type(self.value) is not bool:
            raise ClarityError(f"bool value must be True or False: {self.value!r}")

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.BOOL_TRUE if self.value else ClarityType.BOOL_FALSE

    def _write(self, out: bytearray) -> None:
        out.append(self.type_id)

    def to_repr(self) -> str:
        return "true" if self.value else "false"


def _check_address_parts(version: int, hash160: bytes) -> None:
    if type(version) is not int or not 0 <= version < 32:
        raise ClarityError(f"principal version must be 0..31: {version!r}")
    if not isinstance(hash160, bytes) or len(hash160) != 20:
        raise ClarityError("principal hash160 must be 20 bytes")


@dataclass(frozen=True, slots=True, repr=False)
class StandardPrincipal(ClarityValue):
    version: int
    hash160: bytes

    def __post_init__(self) -> None:
        _check_address_parts(self.version, self.hash160)

    @classmethod
    def from_address(cls, address: str) -> StandardPrincipal:
        try:
            parsed = c32_address_decode(address)
        except InvalidAddressError as exc:
            raise ClarityError(f"invalid principal {address!r}: {exc}") from None
        return cls(parsed.version, parsed.hash160)

    @property
    def address(self) -> str:
        return c32_address(self.version, self.hash160)

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.PRINCIPAL_STANDARD

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.PRINCIPAL_STANDARD)
        out.append(self.version)
        out += self.hash160

    def to_repr(self) -> str:
        return "'" + self.address


@dataclass(frozen=True, slots=True, repr=False)
class ContractPrincipal(ClarityValue):
    version: int
    hash160: bytes
    name: str

    def __post_init__(self) -> None:
        _check_address_parts(self.version, self.hash160)
        if not isinstance(self.name, str) or not is_contract_name(self.name):
            raise ClarityError(f"invalid contract name {self.name!r}")

    @classmethod
    def from_id(cls, contract_id: str) -> ContractPrincipal:
        address, dot, name = contract_id.partition(".")
        if not dot:
            raise ClarityError(f"a contract id is ADDRESS.NAME: {contract_id!r}")
        standard = StandardPrincipal.from_address(address)
        return cls(standard.version, standard.hash160, name)

    @property
    def address(self) -> str:
        return c32_address(self.version, self.hash160)

    @property
    def contract_id(self) -> str:
        return f"{self.address}.{self.name}"

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.PRINCIPAL_CONTRACT

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.PRINCIPAL_CONTRACT)
        out.append(self.version)
        out += self.hash160
        raw = self.name.encode("ascii")
        out.append(len(raw))
        out += raw

    def to_repr(self) -> str:
        return "'" + self.contract_id


def _check_value(value: object) -> None:
    if not isinstance(value, ClarityValue):
        raise ClarityError(f"expected a Clarity value, got {type(value).__name__}")


@dataclass(frozen=True, slots=True, repr=False)
class Ok(ClarityValue):
    value: ClarityValue

    def __post_init__(self) -> None:
        _check_value(self.value)

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.RESPONSE_OK

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.RESPONSE_OK)
        self.value._write(out)

    def to_repr(self) -> str:
        return f"(ok {self.value.to_repr()})"


@dataclass(frozen=True, slots=True, repr=False)
class Err(ClarityValue):
    value: ClarityValue

    def __post_init__(self) -> None:
        _check_value(self.value)

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.RESPONSE_ERR

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.RESPONSE_ERR)
        self.value._write(out)

    def to_repr(self) -> str:
        return f"(err {self.value.to_repr()})"


@dataclass(frozen=True, slots=True, repr=False)
class NoneValue(ClarityValue):
    """The optional ``none``; use the :data:`NONE` instance."""

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.OPTIONAL_NONE

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.OPTIONAL_NONE)

    def to_repr(self) -> str:
        return "none"


@dataclass(frozen=True, slots=True, repr=False)
class Some(ClarityValue):
    value: ClarityValue

    def __post_init__(self) -> None:
        _check_value(self.value)

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.OPTIONAL_SOME

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.OPTIONAL_SOME)
        self.value._write(out)

    def to_repr(self) -> str:
        return f"(some {self.value.to_repr()})"


@dataclass(frozen=True, slots=True, repr=False)
class List(ClarityValue):
    """A Clarity list. The VM also requires one element type; that is the caller's concern."""

    items: tuple[ClarityValue, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        for item in self.items:
            _check_value(item)

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.LIST

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.LIST)
        out += len(self.items).to_bytes(4, "big")
        for item in self.items:
            item._write(out)

    def to_repr(self) -> str:
        return "(list " + " ".join(item.to_repr() for item in self.items) + ")"

    def __iter__(self) -> Iterator[ClarityValue]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class Tuple(ClarityValue):
    """A Clarity tuple; keys are held in the VM's order (sorted by their ASCII bytes)."""

    __slots__ = ("_fields",)
    _fields: Mapping[str, ClarityValue]

    def __init__(
        self, fields: Mapping[str, ClarityValue] | Iterable[tuple[str, ClarityValue]]
    ) -> None:
        pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
        if not pairs:
            raise ClarityError("a Clarity tuple needs at least one field")
        seen: dict[str, ClarityValue] = {}
        for key, value in pairs:
            if not isinstance(key, str) or not is_clarity_name(key):
                raise ClarityError(f"invalid tuple key {key!r}")
            if key in seen:
                raise ClarityError(f"duplicate tuple key {key!r}")
            _check_value(value)
            seen[key] = value
        ordered = {key: seen[key] for key in sorted(seen, key=lambda k: k.encode("ascii"))}
        object.__setattr__(self, "_fields", MappingProxyType(ordered))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Clarity values are immutable")

    @property
    def fields(self) -> Mapping[str, ClarityValue]:
        """The fields in VM order (read-only)."""
        return self._fields

    def __getitem__(self, key: str) -> ClarityValue:
        return self._fields[key]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tuple):
            return NotImplemented
        return tuple(self._fields.items()) == tuple(other._fields.items())

    def __hash__(self) -> int:
        return hash(("tuple", tuple(self._fields.items())))

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.TUPLE

    def _write(self, out: bytearray) -> None:
        out.append(ClarityType.TUPLE)
        out += len(self._fields).to_bytes(4, "big")
        for key, value in self._fields.items():
            raw = key.encode("ascii")
            out.append(len(raw))
            out += raw
            value._write(out)

    def to_repr(self) -> str:
        inner = " ".join(f"({key} {value.to_repr()})" for key, value in self._fields.items())
        return f"(tuple {inner})"


def _escape_ascii_char(code: int) -> str:
    # Rust's std::ascii::escape_default, which the VM uses to print strings.
    specials = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x22: '\\"', 0x27: "\\'", 0x5C: "\\\\"}
    if code in specials:
        return specials[code]
    if 0x20 <= code < 0x7F:
        return chr(code)
    return f"\\x{code:02x}"


@dataclass(frozen=True, slots=True, repr=False)
class StringAscii(ClarityValue):
    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ClarityError("string-ascii text must be a str")
        bad = [c for c in self.text if ord(c) > 0x7F or ord(c) not in _ASCII_ALLOWED]
        if bad:
            raise ClarityError(f"string-ascii cannot hold {bad[0]!r}")
        if len(self.text) > MAX_VALUE_SIZE:
            raise ClarityError("string longer than the maximum Clarity value size")

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.STRING_ASCII

    def _write(self, out: bytearray) -> None:
        raw = self.text.encode("ascii")
        out.append(ClarityType.STRING_ASCII)
        out += len(raw).to_bytes(4, "big")
        out += raw

    def to_repr(self) -> str:
        return '"' + "".join(_escape_ascii_char(ord(c)) for c in self.text) + '"'


@dataclass(frozen=True, slots=True, repr=False)
class StringUtf8(ClarityValue):
    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ClarityError("string-utf8 text must be a str")
        try:
            raw = self.text.encode("utf-8")
        except UnicodeEncodeError:
            raise ClarityError("string-utf8 cannot hold unpaired surrogates") from None
        if len(raw) > MAX_VALUE_SIZE:
            raise ClarityError("string longer than the maximum Clarity value size")

    @property
    def type_id(self) -> ClarityType:
        return ClarityType.STRING_UTF8

    def _write(self, out: bytearray) -> None:
        raw = self.text.encode("utf-8")
        out.append(ClarityType.STRING_UTF8)
        out += len(raw).to_bytes(4, "big")
        out += raw

    def to_repr(self) -> str:
        # Readable rather than the VM's \u{…} escapes: non-ASCII characters are shown as they are.
        body = "".join(c if ord(c) > 0x7F else _escape_ascii_char(ord(c)) for c in self.text)
        return 'u"' + body + '"'


TRUE = Bool(True)
FALSE = Bool(False)
NONE = NoneValue()

Principal = StandardPrincipal | ContractPrincipal


def principal(text: str) -> StandardPrincipal | ContractPrincipal:
    """Parse ``ADDRESS`` or ``ADDRESS.contract-name`` (a leading ``'`` is allowed)."""
    text = text.removeprefix("'")
    if "." in text:
        return ContractPrincipal.from_id(text)
    return StandardPrincipal.from_address(text)


# --- deserialization --------------------------------------------------------------------------


def deserialize(data: bytes | str) -> ClarityValue:
    """Parse exactly one serialized value (bytes, or hex with or without ``0x``)."""
    raw = _as_bytes(data)
    if len(raw) > MAX_VALUE_SIZE:
        raise ClarityError("serialized value larger than the maximum Clarity value size")
    reader = ByteReader(raw, ClarityError)
    value = read_value(reader)
    reader.expect_end()
    return value


def from_hex(text: str) -> ClarityValue:
    return deserialize(text)


def _as_bytes(data: bytes | str) -> bytes:
    if isinstance(data, str):
        try:
            return bytes.fromhex(data.removeprefix("0x"))
        except ValueError:
            raise ClarityError("not a hex string") from None
    return bytes(data)


def read_value(reader: ByteReader, depth: int = 0) -> ClarityValue:
    """Read one value from ``reader`` (for codecs that embed Clarity values)."""
    if depth > MAX_DEPTH:
        raise ClarityError(f"value nested deeper than {MAX_DEPTH}")
    tag = reader.u8()
    try:
        kind = ClarityType(tag)
    except ValueError:
        raise ClarityError(f"unknown Clarity type id 0x{tag:02x}") from None
    match kind:
        case ClarityType.INT:
            return Int(int.from_bytes(reader.read(16), "big", signed=True))
        case ClarityType.UINT:
            return UInt(int.from_bytes(reader.read(16), "big"))
        case ClarityType.BUFFER:
            return Buffer(reader.read(_length(reader)))
        case ClarityType.BOOL_TRUE:
            return TRUE
        case ClarityType.BOOL_FALSE:
            return FALSE
        case ClarityType.PRINCIPAL_STANDARD:
            return StandardPrincipal(reader.u8(), reader.read(20))
        case ClarityType.PRINCIPAL_CONTRACT:
            version, hash160 = reader.u8(), reader.read(20)
            return ContractPrincipal(version, hash160, _read_name(reader, "contract name"))
        case ClarityType.RESPONSE_OK:
            return Ok(read_value(reader, depth + 1))
        case ClarityType.RESPONSE_ERR:
            return Err(read_value(reader, depth + 1))
        case ClarityType.OPTIONAL_NONE:
            return NONE
        case ClarityType.OPTIONAL_SOME:
            return Some(read_value(reader, depth + 1))
        case ClarityType.LIST:
            count = _length(reader)
            return List(tuple(read_value(reader, depth + 1) for _ in range(count)))
        case ClarityType.TUPLE:
            count = _length(reader)
            if count == 0:
                raise ClarityError("a Clarity tuple needs at least one field")
            pairs = []
            for _ in range(count):
                key = _read_name(reader, "tuple key")
                pairs.append((key, read_value(reader, depth + 1)))
            return Tuple(pairs)
        case ClarityType.STRING_ASCII:
            raw = reader.read(_length(reader))
            if any(b not in _ASCII_ALLOWED for b in raw):
                raise ClarityError("string-ascii holds a character Clarity does not allow")
            return StringAscii(raw.decode("ascii"))
        case ClarityType.STRING_UTF8:
            try:
                return StringUtf8(reader.read(_length(reader)).decode("utf-8"))
            except UnicodeDecodeError:
                raise ClarityError("string-utf8 is not valid UTF-8") from None
    raise ClarityError(f"unhandled Clarity type {kind!r}")  # pragma: no cover


def _length(reader: ByteReader) -> int:
    # Every element takes at least one byte, so a count beyond what is left is malformed; this
    # also stops a 4-byte length from allocating gigabytes.
    length = reader.u32()
    if length > reader.remaining:
        raise ClarityError(f"length {length} exceeds the {reader.remaining} bytes left")
    return length


def _read_name(reader: ByteReader, what: str) -> str:
    raw = reader.read(reader.u8())
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        raise ClarityError(f"{what} is not ASCII") from None
    check = is_contract_name if what == "contract name" else is_clarity_name
    if not check(name):
        raise ClarityError(f"invalid {what} {name!r}")
    return name
