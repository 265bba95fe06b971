"""Post-conditions (SIP-005): STX, fungible-token and non-fungible-token, plus the mode byte."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import IntEnum

from .c32 import c32_address
from .clarity import (
    ClarityValue,
    ContractPrincipal,
    is_clarity_name,
    is_contract_name,
    principal,
    read_value,
)
from .errors import TransactionError
from .wire import ByteReader


class PostConditionMode(IntEnum):
    ALLOW = 0x01
    DENY = 0x02
    ORIGINATOR = 0x03  # epoch 3.4+


class PostConditionType(IntEnum):
    STX = 0x00
    FUNGIBLE = 0x01
    NON_FUNGIBLE = 0x02


class FungibleConditionCode(IntEnum):
    EQ = 0x01
    GT = 0x02
    GTE = 0x03
    LT = 0x04
    LTE = 0x05


class NonFungibleConditionCode(IntEnum):
    SENT = 0x10
    NOT_SENT = 0x11


_CODES = {
    "eq": FungibleConditionCode.EQ,
    "gt": FungibleConditionCode.GT,
    "gte": FungibleConditionCode.GTE,
    "lt": FungibleConditionCode.LT,
    "lte": FungibleConditionCode.LTE,
}


def _name_bytes(name: str, what: str, *, contract: bool) -> bytes:
    ok = is_contract_name(name) if contract else is_clarity_name(name)
    if not ok:
        raise TransactionError(f"invalid {what} {name!r}")
    return bytes([len(name)]) + name.encode("ascii")


def _read_name(reader: ByteReader, what: str, *, contract: bool) -> str:
    raw = reader.read(reader.u8())
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        raise TransactionError(f"{what} is not ASCII") from None
    _name_bytes(name, what, contract=contract)
    return name


def _check_u64(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount < 1 << 64:
        raise TransactionError(f"amount must be an integer in u64 range: {amount!r}")


# --- principals -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OriginPrincipal:
    """The transaction's origin (whoever signs it)."""

    def serialize(self) -> bytes:
        return b"\x01"

    def __str__(self) -> str:
        return "origin"


@dataclass(frozen=True, slots=True)
class StandardPostConditionPrincipal:
    version: int
    hash160: bytes

    def serialize(self) -> bytes:
        return b"\x02" + bytes([self.version]) + self.hash160

    def __str__(self) -> str:
        return c32_address(self.version, self.hash160)


@dataclass(frozen=True, slots=True)
class ContractPostConditionPrincipal:
    version: int
    hash160: bytes
    name: str

    def serialize(self) -> bytes:
        name = _name_bytes(self.name, "contract name", contract=True)
        return b"\x03" + bytes([self.version]) + self.hash160 + name

    def __str__(self) -> str:
        return f"{c32_address(self.version, self.hash160)}.{self.name}"


PostConditionPrincipal = (
    OriginPrincipal | StandardPostConditionPrincipal | ContractPostConditionPrincipal
)


def pc_principal(text: str) -> PostConditionPrincipal:
    """``"origin"``, ``"ST…"`` or ``"ST….contract"`` as a post-condition principal."""
    if text == "origin":
        return OriginPrincipal()
    try:
        parsed = principal(text)
    except ValueError as exc:
        raise TransactionError(str(exc)) from None
    if isinstance(parsed, ContractPrincipal):
        return ContractPostConditionPrincipal(parsed.version, parsed.hash160, parsed.name)
    return StandardPostConditionPrincipal(parsed.version, parsed.hash160)


def _read_principal(reader: ByteReader) -> PostConditionPrincipal:
    tag = reader.u8()
    if tag == 0x01:
        return OriginPrincipal()
    if tag == 0x02:
        return StandardPostConditionPrincipal(reader.u8(), reader.read(20))
    if tag == 0x03:
        version, hash160 = reader.u8(), reader.read(20)
        name = _read_name(reader, "contract name", contract=True)
        return ContractPostConditionPrincipal(version, hash160, name)
    raise TransactionError(f"unknown post-condition principal type 0x{tag:02x}")


# --- assets -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """An asset: the contract that defines it and the asset's name inside that contract."""

    version: int
    hash160: bytes
    contract_name: str
    asset_name: str

    @classmethod
    def parse(cls, asset_id: str) -> AssetInfo:
        """Parse ``ADDRESS.contract::asset`` (the Hiro API's asset id)."""
        contract_id, sep, asset_name = asset_id.partition("::")
        if not sep:
            raise TransactionError(f"an asset id is ADDRESS.contract::asset: {asset_id!r}")
        try:
            contract = ContractPrincipal.from_id(contract_id)
        except ValueError as exc:
            raise TransactionError(str(exc)) from None
        info = cls(contract.version, contract.hash160, contract.name, asset_name)
        info.serialize()
        return info

    def serialize(self) -> bytes:
        return (
            bytes([self.version])
            + self.hash160
            + _name_bytes(self.contract_name, "contract name", contract=True)
            + _name_bytes(self.asset_name, "asset name", contract=False)
        )

    def __str__(self) -> str:
        return f"{c32_address(self.version, self.hash160)}.{self.contract_name}::{self.asset_name}"


def _read_asset(reader: ByteReader) -> AssetInfo:
    version, hash160 = reader.u8(), reader.read(20)
    contract_name = _read_name(reader, "contract name", contract=True)
    asset_name = _read_name(reader, "asset name", contract=False)
    return AssetInfo(version, hash160, contract_name, asset_name)


# --- post-conditions --------------------------------------------------------------------------


_CODE_NAMES = {code: name for name, code in _CODES.items()}


class _Wire(ABC):
    """Shared helpers: every post-condition has ``serialize()``."""

    __slots__ = ()

    @abstractmethod
    def serialize(self) -> bytes:
        """The post-condition's SIP-005 wire bytes."""

    def to_hex(self) -> str:
        """Hex of the wire bytes; stacks.js and @stacks/connect accept this form too."""
        return self.serialize().hex()


@dataclass(frozen=True, slots=True)
class StxPostCondition(_Wire):
    principal: PostConditionPrincipal
    condition: FungibleConditionCode
    amount: int

    def __post_init__(self) -> None:
        _check_u64(self.amount)

    def to_json(self) -> dict[str, str]:
        """The object form @stacks/transactions 7 and @stacks/connect 8 take."""
        return {
            "type": "stx-postcondition",
            "address": str(self.principal),
            "condition": _CODE_NAMES[self.condition],
            "amount": str(self.amount),
        }

    def serialize(self) -> bytes:
        return (
            bytes([PostConditionType.STX])
            + self.principal.serialize()
            + bytes([self.condition])
            + self.amount.to_bytes(8, "big")
        )


@dataclass(frozen=True, slots=True)
class FungiblePostCondition(_Wire):
    principal: PostConditionPrincipal
    asset: AssetInfo
    condition: FungibleConditionCode
    amount: int

    def __post_init__(self) -> None:
        _check_u64(self.amount)

    def to_json(self) -> dict[str, str]:
        """The object form @stacks/transactions 7 and @stacks/connect 8 take."""
        return {
            "type": "ft-postcondition",
            "address": str(self.principal),
            "condition": _CODE_NAMES[self.condition],
            "amount": str(self.amount),
            "asset": str(self.asset),
        }

    def serialize(self) -> bytes:
        return (
            bytes([PostConditionType.FUNGIBLE])
            + self.principal.serialize()
            + self.asset.serialize()
            + bytes([self.condition])
            + self.amount.to_bytes(8, "big")
        )


@dataclass(frozen=True, slots=True)
class NonFungiblePostCondition(_Wire):
    principal: PostConditionPrincipal
    asset: AssetInfo
    asset_value: ClarityValue
    condition: NonFungibleConditionCode

    def serialize(self) -> bytes:
        return (
            bytes([PostConditionType.NON_FUNGIBLE])
            + self.principal.serialize()
            + self.asset.serialize()
            + self.asset_value.serialize()
            + bytes([self.condition])
        )


PostCondition = StxPostCondition | FungiblePostCondition | NonFungiblePostCondition


def stx_post_condition(principal_: str, condition: str, amount: int) -> StxPostCondition:
    """E.g. ``stx_post_condition("origin", "lte", 1_000_000)``."""
    return StxPostCondition(pc_principal(principal_), _code(condition), amount)


def ft_post_condition(
    principal_: str, condition: str, amount: int, asset: str
) -> FungiblePostCondition:
    """E.g. ``ft_post_condition("ST2…", "eq", 25000, network.sbtc_asset_id)``."""
    return FungiblePostCondition(
        pc_principal(principal_), AssetInfo.parse(asset), _code(condition), amount
    )


def _code(condition: str) -> FungibleConditionCode:
    try:
        return _CODES[condition]
    except KeyError:
        raise TransactionError(
            f"condition must be one of {sorted(_CODES)}: {condition!r}"
        ) from None


def read_post_condition(reader: ByteReader) -> PostCondition:
    tag = reader.u8()
    if tag == PostConditionType.STX:
        pc_principal_ = _read_principal(reader)
        return StxPostCondition(pc_principal_, _fungible_code(reader.u8()), reader.u64())
    if tag == PostConditionType.FUNGIBLE:
        pc_principal_ = _read_principal(reader)
        asset = _read_asset(reader)
        return FungiblePostCondition(
            pc_principal_, asset, _fungible_code(reader.u8()), reader.u64()
        )
    if tag == PostConditionType.NON_FUNGIBLE:
        pc_principal_ = _read_principal(reader)
        asset = _read_asset(reader)
        try:
            value = read_value(reader)
        except ValueError as exc:
            raise TransactionError(f"bad NFT post-condition value: {exc}") from None
        code = reader.u8()
        try:
            nft_code = NonFungibleConditionCode(code)
        except ValueError:
            raise TransactionError(f"unknown NFT condition code 0x{code:02x}") from None
        return NonFungiblePostCondition(pc_principal_, asset, value, nft_code)
    raise TransactionError(f"unknown post-condition type 0x{tag:02x}")


def _fungible_code(code: int) -> FungibleConditionCode:
    try:
        return FungibleConditionCode(code)
    except ValueError:
        raise TransactionError(f"unknown fungible condition code 0x{code:02x}") from None


def deserialize_post_condition(data: bytes) -> PostCondition:
    reader = ByteReader(bytes(data), TransactionError)
    result = read_post_condition(reader)
    reader.expect_end()
    return result


__all__ = [
    "AssetInfo",
    "ContractPostConditionPrincipal",
    "FungibleConditionCode",
    "FungiblePostCondition",
    "NonFungibleConditionCode",
    "NonFungiblePostCondition",
    "OriginPrincipal",
    "PostCondition",
    "PostConditionMode",
    "PostConditionPrincipal",
    "StandardPostConditionPrincipal",
    "StxPostCondition",
    "deserialize_post_condition",
    "ft_post_condition",
    "pc_principal",
    "read_post_condition",
    "stx_post_condition",
]
