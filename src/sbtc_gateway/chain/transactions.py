"""Stacks transactions (SIP-005): the model, the wire codec, sighashes, signing and verification.

Single-signature P2PKH spending conditions, standard and sponsored authorization; payloads for
token transfers, contract calls and (versioned) smart-contract deploys. Transactions are immutable:
signing returns a new transaction.

Signing (SIP-005, as the node verifies it):

1. ``initial = SHA512/256(tx with the origin condition cleared)`` (nonce 0, fee 0, empty signature;
   a sponsored tx also has its sponsor condition replaced by the empty "initial sighash" one);
2. ``presign = SHA512/256(initial ‖ auth flag ‖ fee u64 ‖ nonce u64)`` (flag 0x04 for the origin);
3. sign ``presign`` as is; store V‖R‖S;
4. a sponsor continues from ``SHA512/256(presign ‖ key encoding ‖ origin signature)``
   with flag 0x05.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import TypeVar

from .c32 import c32_address
from .clarity import (
    _ASCII_ALLOWED,
    ClarityValue,
    ContractPrincipal,
    StandardPrincipal,
    is_clarity_name,
    is_contract_name,
    read_value,
)
from .errors import ClarityError, SignatureError, TransactionError
from .hashing import hash160, sha512_256
from .keys import PrivateKey, recover_public_key
from .postconditions import PostCondition, PostConditionMode, read_post_condition
from .wire import ByteReader

EMPTY_SIGNATURE = bytes(65)
_E = TypeVar("_E", bound=IntEnum)
MEMO_LENGTH = 34


class AuthType(IntEnum):
    STANDARD = 0x04
    SPONSORED = 0x05


class AddressHashMode(IntEnum):
    P2PKH = 0x00
    P2SH = 0x01
    P2WPKH = 0x02
    P2WSH = 0x03
    P2SH_NON_SEQUENTIAL = 0x05
    P2WSH_NON_SEQUENTIAL = 0x07


class PubKeyEncoding(IntEnum):
    COMPRESSED = 0x00
    UNCOMPRESSED = 0x01


class AnchorMode(IntEnum):
    ON_CHAIN_ONLY = 0x01
    OFF_CHAIN_ONLY = 0x02
    ANY = 0x03


class PayloadType(IntEnum):
    TOKEN_TRANSFER = 0x00
    SMART_CONTRACT = 0x01
    CONTRACT_CALL = 0x02
    VERSIONED_SMART_CONTRACT = 0x06


class ClarityVersion(IntEnum):
    CLARITY1 = 1
    CLARITY2 = 2
    CLARITY3 = 3
    CLARITY4 = 4


def _check_u64(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
        raise TransactionError(f"{what} must be an integer in u64 range: {value!r}")


def _name(name: str, what: str, *, contract: bool) -> bytes:
    if not isinstance(name, str) or not (
        is_contract_name(name) if contract else is_clarity_name(name)
    ):
        raise TransactionError(f"invalid {what} {name!r}")
    return bytes([len(name)]) + name.encode("ascii")


def _read_name(reader: ByteReader, what: str, *, contract: bool) -> str:
    raw = reader.read(reader.u8())
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        raise TransactionError(f"{what} is not ASCII") from None
    _name(name, what, contract=contract)
    return name


# --- authorization ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SingleSigSpendingCondition:
    """A single-signature spending condition. ``signature`` is V‖R‖S (65 bytes)."""

    signer: bytes
    nonce: int
    fee: int
    hash_mode: AddressHashMode = AddressHashMode.P2PKH
    key_encoding: PubKeyEncoding = PubKeyEncoding.COMPRESSED
    signature: bytes = field(default=EMPTY_SIGNATURE, repr=False)

    def __post_init__(self) -> None:
        if self.hash_mode not in (AddressHashMode.P2PKH, AddressHashMode.P2WPKH):
            raise TransactionError("only single-signature hash modes are supported")
        if not isinstance(self.signer, bytes) or len(self.signer) != 20:
            raise TransactionError("signer must be a 20-byte hash160")
        if not isinstance(self.signature, bytes) or len(self.signature) != 65:
            raise TransactionError("signature must be 65 bytes")
        _check_u64(self.nonce, "nonce")
        _check_u64(self.fee, "fee")

    def serialize(self) -> bytes:
        return (
            bytes([self.hash_mode])
            + self.signer
            + self.nonce.to_bytes(8, "big")
            + self.fee.to_bytes(8, "big")
            + bytes([self.key_encoding])
            + self.signature
        )

    def cleared(self) -> SingleSigSpendingCondition:
        return replace(self, nonce=0, fee=0, signature=EMPTY_SIGNATURE)

    def address(self, version: int) -> str:
        return c32_address(version, self.signer)


# The sponsor condition in the initial sighash of a sponsored transaction (SIP-005).
INITIAL_SIGHASH_SPONSOR = SingleSigSpendingCondition(signer=bytes(20), nonce=0, fee=0)
# The sponsor condition a sponsored transaction carries until its sponsor fills it in:
# stacks.js uses the hash160 of an all-zero public key, and so do we, to stay byte-identical.
UNSET_SPONSOR = SingleSigSpendingCondition(signer=hash160(bytes(33)), nonce=0, fee=0)


@dataclass(frozen=True, slots=True)
class StandardAuthorization:
    origin: SingleSigSpendingCondition
    auth_type: AuthType = field(default=AuthType.STANDARD, init=False)

    def serialize(self) -> bytes:
        return bytes([AuthType.STANDARD]) + self.origin.serialize()

    def with_origin(self, origin: SingleSigSpendingCondition) -> StandardAuthorization:
        return StandardAuthorization(origin)


@dataclass(frozen=True, slots=True)
class SponsoredAuthorization:
    origin: SingleSigSpendingCondition
    sponsor: SingleSigSpendingCondition = UNSET_SPONSOR
    auth_type: AuthType = field(default=AuthType.SPONSORED, init=False)

    def serialize(self) -> bytes:
        return bytes([AuthType.SPONSORED]) + self.origin.serialize() + self.sponsor.serialize()

    def with_origin(self, origin: SingleSigSpendingCondition) -> SponsoredAuthorization:
        return SponsoredAuthorization(origin, self.sponsor)


Authorization = StandardAuthorization | SponsoredAuthorization


# --- payloads ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenTransferPayload:
    """An STX transfer. ``memo`` is kept as its 34 wire bytes (zero-padded)."""

    recipient: StandardPrincipal | ContractPrincipal
    amount: int
    memo: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.recipient, StandardPrincipal | ContractPrincipal):
            raise TransactionError("recipient must be a Clarity principal")
        _check_u64(self.amount, "amount")
        memo = self.memo.encode("utf-8") if isinstance(self.memo, str) else bytes(self.memo)
        if len(memo) > MEMO_LENGTH:
            raise TransactionError(f"memo longer than {MEMO_LENGTH} bytes")
        object.__setattr__(self, "memo", memo.ljust(MEMO_LENGTH, b"\x00"))

    @property
    def memo_text(self) -> str:
        return self.memo.rstrip(b"\x00").decode("utf-8", errors="replace")

    def serialize(self) -> bytes:
        return (
            bytes([PayloadType.TOKEN_TRANSFER])
            + self.recipient.serialize()
            + self.amount.to_bytes(8, "big")
            + self.memo
        )


@dataclass(frozen=True, slots=True)
class ContractCallPayload:
    contract: ContractPrincipal
    function_name: str
    args: tuple[ClarityValue, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.contract, ContractPrincipal):
            raise TransactionError("contract must be a ContractPrincipal")
        _name(self.function_name, "function name", contract=False)
        object.__setattr__(self, "args", tuple(self.args))
        for arg in self.args:
            if not isinstance(arg, ClarityValue):
                raise TransactionError("contract-call arguments must be Clarity values")

    @classmethod
    def create(
        cls,
        contract_id: str,
        function_name: str,
        args: tuple[ClarityValue, ...] | list[ClarityValue],
    ) -> ContractCallPayload:
        try:
            contract = ContractPrincipal.from_id(contract_id)
        except ClarityError as exc:
            raise TransactionError(str(exc)) from None
        return cls(contract, function_name, tuple(args))

    @property
    def contract_id(self) -> str:
        return self.contract.contract_id

    def serialize(self) -> bytes:
        out = bytearray([PayloadType.CONTRACT_CALL, self.contract.version])
        out += self.contract.hash160
        out += _name(self.contract.name, "contract name", contract=True)
        out += _name(self.function_name, "function name", contract=False)
        out += len(self.args).to_bytes(4, "big")
        for arg in self.args:
            out += arg.serialize()
        return bytes(out)


@dataclass(frozen=True, slots=True)
class SmartContractPayload:
    """A contract deploy. ``clarity_version`` None is the legacy 0x01 payload, else 0x06."""

    contract_name: str
    code_body: str
    clarity_version: ClarityVersion | None = ClarityVersion.CLARITY3

    def __post_init__(self) -> None:
        _name(self.contract_name, "contract name", contract=True)
        if len(self.contract_name) > 40:
            raise TransactionError("a new contract's name is at most 40 characters")
        if any(ord(c) > 0x7F or ord(c) not in _ASCII_ALLOWED for c in self.code_body):
            raise TransactionError("contract code must be printable ASCII and whitespace")

    def serialize(self) -> bytes:
        code = self.code_body.encode("ascii")
        out = bytearray()
        if self.clarity_version is None:
            out.append(PayloadType.SMART_CONTRACT)
        else:
            out += bytes([PayloadType.VERSIONED_SMART_CONTRACT, self.clarity_version])
        out += _name(self.contract_name, "contract name", contract=True)
        out += len(code).to_bytes(4, "big") + code
        return bytes(out)


Payload = TokenTransferPayload | ContractCallPayload | SmartContractPayload


# --- the transaction --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transaction:
    version: int
    chain_id: int
    auth: Authorization
    payload: Payload
    post_conditions: tuple[PostCondition, ...] = ()
    post_condition_mode: PostConditionMode = PostConditionMode.DENY
    anchor_mode: AnchorMode = AnchorMode.ANY

    def __post_init__(self) -> None:
        if self.version not in (0x00, 0x80):
            raise TransactionError(f"transaction version must be 0x00 or 0x80: {self.version!r}")
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int):
            raise TransactionError("chain id must be an integer")
        if not 0 <= self.chain_id < 1 << 32:
            raise TransactionError("chain id must be a u32")
        object.__setattr__(self, "chain_id", int(self.chain_id))
        object.__setattr__(self, "version", int(self.version))
        object.__setattr__(self, "post_conditions", tuple(self.post_conditions))

    def serialize(self) -> bytes:
        out = bytearray([self.version])
        out += self.chain_id.to_bytes(4, "big")
        out += self.auth.serialize()
        out += bytes([self.anchor_mode, self.post_condition_mode])
        out += len(self.post_conditions).to_bytes(4, "big")
        for condition in self.post_conditions:
            out += condition.serialize()
        out += self.payload.serialize()
        return bytes(out)

    def to_hex(self) -> str:
        return self.serialize().hex()

    def txid(self) -> str:
        """The transaction id: hex SHA512/256 of the serialized transaction (no ``0x``)."""
        return sha512_256(self.serialize()).hex()

    @property
    def is_sponsored(self) -> bool:
        return isinstance(self.auth, SponsoredAuthorization)

    @property
    def origin(self) -> SingleSigSpendingCondition:
        return self.auth.origin

    def sender_address(self) -> str:
        single = 26 if self.version == 0x80 else 22
        return self.auth.origin.address(single)


# --- sighashes, signing and verification --------------------------------------------------------


def initial_sighash(tx: Transaction) -> bytes:
    """SHA512/256 of the transaction with its authorization in initial-sighash form."""
    origin = tx.auth.origin.cleared()
    auth: Authorization
    if isinstance(tx.auth, SponsoredAuthorization):
        auth = SponsoredAuthorization(origin, INITIAL_SIGHASH_SPONSOR)
    else:
        auth = StandardAuthorization(origin)
    return sha512_256(replace(tx, auth=auth).serialize())


def _presign(sighash: bytes, flag: AuthType, condition: SingleSigSpendingCondition) -> bytes:
    return sha512_256(
        sighash
        + bytes([flag])
        + condition.fee.to_bytes(8, "big")
        + condition.nonce.to_bytes(8, "big")
    )


def _postsign(presign: bytes, condition: SingleSigSpendingCondition) -> bytes:
    return sha512_256(presign + bytes([condition.key_encoding]) + condition.signature)


def origin_presign_sighash(tx: Transaction) -> bytes:
    """The 32-byte digest the origin signs."""
    return _presign(initial_sighash(tx), AuthType.STANDARD, tx.auth.origin)


def sponsor_presign_sighash(tx: Transaction) -> bytes:
    """The 32-byte digest the sponsor signs (needs the origin's signature in place)."""
    if not isinstance(tx.auth, SponsoredAuthorization):
        raise SignatureError("transaction is not sponsored")
    origin_post = _postsign(origin_presign_sighash(tx), tx.auth.origin)
    return _presign(origin_post, AuthType.SPONSORED, tx.auth.sponsor)


def _check_signer(condition: SingleSigSpendingCondition, key: PrivateKey, role: str) -> None:
    if condition.hash_mode != AddressHashMode.P2PKH:
        raise SignatureError("only P2PKH spending conditions can be signed")
    if condition.key_encoding != PubKeyEncoding.COMPRESSED:
        raise SignatureError("keys sign with compressed public keys")
    if key.hash160 != condition.signer:
        raise SignatureError(f"the key does not match the {role} signer")


def sign_origin(tx: Transaction, key: PrivateKey) -> Transaction:
    """Return ``tx`` with its origin signature filled in."""
    origin = tx.auth.origin
    _check_signer(origin, key, "origin")
    signature = key.sign_vrs(origin_presign_sighash(tx))
    return replace(tx, auth=tx.auth.with_origin(replace(origin, signature=signature)))


def sign_sponsor(tx: Transaction, key: PrivateKey) -> Transaction:
    """Return a sponsored ``tx`` with its sponsor signature filled in (origin must be signed)."""
    if not isinstance(tx.auth, SponsoredAuthorization):
        raise SignatureError("transaction is not sponsored")
    _check_signer(tx.auth.sponsor, key, "sponsor")
    signature = key.sign_vrs(sponsor_presign_sighash(tx))
    sponsor = replace(tx.auth.sponsor, signature=signature)
    return replace(tx, auth=SponsoredAuthorization(tx.auth.origin, sponsor))


def set_sponsor(tx: Transaction, *, sponsor_public_key: bytes, fee: int, nonce: int) -> Transaction:
    """Fill in the sponsor condition of a sponsored ``tx`` (before :func:`sign_sponsor`)."""
    if not isinstance(tx.auth, SponsoredAuthorization):
        raise SignatureError("transaction is not sponsored")
    sponsor = SingleSigSpendingCondition(signer=hash160(sponsor_public_key), nonce=nonce, fee=fee)
    return replace(tx, auth=SponsoredAuthorization(tx.auth.origin, sponsor))


def _verify(presign: bytes, condition: SingleSigSpendingCondition, role: str) -> bytes:
    if condition.hash_mode != AddressHashMode.P2PKH:
        raise SignatureError(f"only P2PKH {role} conditions can be verified")
    vrs = condition.signature
    if vrs == EMPTY_SIGNATURE:
        raise SignatureError(f"the {role} has not signed")
    compressed = condition.key_encoding == PubKeyEncoding.COMPRESSED
    public_key = recover_public_key(presign, vrs[1:] + vrs[:1], compressed=compressed)
    if hash160(public_key) != condition.signer:
        raise SignatureError(f"the {role} signature was not made by the {role} signer")
    return public_key


def verify_origin(tx: Transaction) -> bytes:
    """Check the origin signature; returns the signer's public key or raises SignatureError."""
    return _verify(origin_presign_sighash(tx), tx.auth.origin, "origin")


def verify_sponsor(tx: Transaction) -> bytes:
    """Check the sponsor signature; returns the sponsor's public key or raises SignatureError."""
    if not isinstance(tx.auth, SponsoredAuthorization):
        raise SignatureError("transaction is not sponsored")
    return _verify(sponsor_presign_sighash(tx), tx.auth.sponsor, "sponsor")


# --- deserialization --------------------------------------------------------------------------


def deserialize_transaction(data: bytes | str) -> Transaction:
    """Parse a raw transaction (bytes, or hex with or without ``0x``)."""
    if isinstance(data, str):
        try:
            data = bytes.fromhex(data.removeprefix("0x"))
        except ValueError:
            raise TransactionError("not a hex string") from None
    reader = ByteReader(bytes(data), TransactionError)
    try:
        tx = _read_transaction(reader)
    except ClarityError as exc:
        raise TransactionError(f"bad Clarity value in transaction: {exc}") from None
    reader.expect_end()
    return tx


def _enum(kind: type[_E], value: int, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise TransactionError(f"unknown {what} 0x{value:02x}") from None


def _read_condition(reader: ByteReader) -> SingleSigSpendingCondition:
    hash_mode = _enum(AddressHashMode, reader.u8(), "hash mode")
    if hash_mode not in (AddressHashMode.P2PKH, AddressHashMode.P2WPKH):
        raise TransactionError("multi-signature spending conditions are not supported")
    signer, nonce, fee = reader.read(20), reader.u64(), reader.u64()
    key_encoding = _enum(PubKeyEncoding, reader.u8(), "public key encoding")
    signature = reader.read(65)
    return SingleSigSpendingCondition(signer, nonce, fee, hash_mode, key_encoding, signature)


def _read_payload(reader: ByteReader) -> Payload:
    kind = _enum(PayloadType, reader.u8(), "payload type")
    if kind == PayloadType.TOKEN_TRANSFER:
        recipient = read_value(reader)
        if not isinstance(recipient, StandardPrincipal | ContractPrincipal):
            raise TransactionError("token-transfer recipient must be a principal")
        return TokenTransferPayload(recipient, reader.u64(), reader.read(MEMO_LENGTH))
    if kind == PayloadType.CONTRACT_CALL:
        version, hash160_ = reader.u8(), reader.read(20)
        contract_name = _read_name(reader, "contract name", contract=True)
        function_name = _read_name(reader, "function name", contract=False)
        count = reader.u32()
        if count > reader.remaining:
            raise TransactionError("argument count exceeds the remaining bytes")
        args = tuple(read_value(reader) for _ in range(count))
        contract = ContractPrincipal(version, hash160_, contract_name)
        return ContractCallPayload(contract, function_name, args)
    clarity_version: ClarityVersion | None = None
    if kind == PayloadType.VERSIONED_SMART_CONTRACT:
        clarity_version = _enum(ClarityVersion, reader.u8(), "Clarity version")
    name = _read_name(reader, "contract name", contract=True)
    code = reader.read(reader.u32())
    try:
        code_body = code.decode("ascii")
    except UnicodeDecodeError:
        raise TransactionError("contract code is not ASCII") from None
    return SmartContractPayload(name, code_body, clarity_version)


def _read_transaction(reader: ByteReader) -> Transaction:
    version = reader.u8()
    chain_id = reader.u32()
    auth_type = _enum(AuthType, reader.u8(), "authorization type")
    origin = _read_condition(reader)
    auth: Authorization
    if auth_type == AuthType.SPONSORED:
        auth = SponsoredAuthorization(origin, _read_condition(reader))
    else:
        auth = StandardAuthorization(origin)
    anchor_mode = _enum(AnchorMode, reader.u8(), "anchor mode")
    pc_mode = _enum(PostConditionMode, reader.u8(), "post-condition mode")
    count = reader.u32()
    if count > reader.remaining:
        raise TransactionError("post-condition count exceeds the remaining bytes")
    post_conditions = tuple(read_post_condition(reader) for _ in range(count))
    payload = _read_payload(reader)
    return Transaction(version, chain_id, auth, payload, post_conditions, pc_mode, anchor_mode)
