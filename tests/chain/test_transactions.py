from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbtc_gateway.chain.builders import (
    make_contract_call,
    make_contract_deploy,
    make_token_transfer,
    sponsor_transaction,
    unsigned_transaction,
)
from sbtc_gateway.chain.clarity import NONE, Buffer, Some, StringAscii, UInt, principal
from sbtc_gateway.chain.errors import SignatureError, TransactionError
from sbtc_gateway.chain.keys import PrivateKey
from sbtc_gateway.chain.networks import MAINNET, TESTNET
from sbtc_gateway.chain.postconditions import (
    FungiblePostCondition,
    PostConditionMode,
    deserialize_post_condition,
    ft_post_condition,
    stx_post_condition,
)
from sbtc_gateway.chain.transactions import (
    AnchorMode,
    ClarityVersion,
    ContractCallPayload,
    SingleSigSpendingCondition,
    SmartContractPayload,
    SponsoredAuthorization,
    StandardAuthorization,
    TokenTransferPayload,
    Transaction,
    deserialize_transaction,
    initial_sighash,
    origin_presign_sighash,
    sign_origin,
    sign_sponsor,
    verify_origin,
    verify_sponsor,
)
from tests.chain.chain_strategies import transactions
from tests.chain.chain_vectors import (
    ADDRESS_MAINNET,
    ADDRESS_TESTNET,
    GATEWAY,
    HASH160,
    MAINNET_FT_POST_CONDITION,
    PRIVATE_KEY,
    PUBLIC_KEY,
    RECIPIENT,
    SBTC_MAINNET,
    SBTC_TESTNET,
    TESTNET_FT_POST_CONDITION,
    VEC1,
    VEC1_INITIAL_SIGHASH,
    VEC1_PRESIGN,
    VEC1_TXID,
    VEC2,
    VEC2_TXID,
    VEC3,
    VEC3_TXID,
)

KEY = PrivateKey.from_hex(PRIVATE_KEY)
SPONSOR_KEY = PrivateKey(bytes.fromhex("11" * 32))


def sbtc_pc() -> FungiblePostCondition:
    return ft_post_condition(ADDRESS_TESTNET, "eq", 25000, f"{SBTC_TESTNET}::sbtc-token")


def vec1() -> Transaction:
    return make_contract_call(
        TESTNET,
        KEY,
        GATEWAY,
        "pay",
        [UInt(25000), StringAscii("inv-0001"), principal(RECIPIENT)],
        nonce=7,
        fee=3000,
        post_conditions=[sbtc_pc()],
    )


def test_vec1_contract_call() -> None:
    tx = vec1()
    assert tx.to_hex() == VEC1
    assert initial_sighash(tx).hex() == VEC1_INITIAL_SIGHASH
    assert origin_presign_sighash(tx).hex() == VEC1_PRESIGN
    assert tx.txid() == VEC1_TXID


def test_vec2_sip010_transfer() -> None:
    tx = make_contract_call(
        TESTNET,
        KEY,
        SBTC_TESTNET,
        "transfer",
        [
            UInt(25000),
            principal(ADDRESS_TESTNET),
            principal(RECIPIENT),
            Some(Buffer(b"inv-0001")),
        ],
        nonce=8,
        fee=2000,
        post_conditions=[sbtc_pc()],
    )
    assert tx.to_hex() == VEC2
    assert tx.txid() == VEC2_TXID


def test_vec3_stx_transfer() -> None:
    tx = make_token_transfer(TESTNET, KEY, RECIPIENT, 1_000_000, nonce=0, fee=180, memo="inv-0001")
    assert tx.to_hex() == VEC3
    assert tx.txid() == VEC3_TXID
    assert isinstance(tx.payload, TokenTransferPayload)
    assert tx.payload.memo_text == "inv-0001"


@pytest.mark.parametrize(("raw", "txid"), [(VEC1, VEC1_TXID), (VEC2, VEC2_TXID), (VEC3, VEC3_TXID)])
def test_parse_and_verify_vectors(raw: str, txid: str) -> None:
    tx = deserialize_transaction(raw)
    assert tx.serialize().hex() == raw
    assert tx.txid() == txid
    assert verify_origin(tx).hex() == PUBLIC_KEY
    assert tx.origin.signer.hex() == HASH160
    assert tx.sender_address() == ADDRESS_TESTNET
    assert deserialize_transaction("0x" + raw) == tx


def test_parsed_vec1_fields() -> None:
    tx = deserialize_transaction(VEC1)
    assert (tx.version, tx.chain_id, tx.origin.nonce, tx.origin.fee) == (0x80, 0x80000000, 7, 3000)
    assert tx.post_condition_mode == PostConditionMode.DENY
    assert tx.anchor_mode == AnchorMode.ANY
    assert isinstance(tx.payload, ContractCallPayload)
    assert tx.payload.contract_id == GATEWAY
    assert tx.payload.function_name == "pay"
    assert [repr(a) for a in tx.payload.args] == ["u25000", '"inv-0001"', "'" + RECIPIENT]
    assert tx.post_conditions == (sbtc_pc(),)


def test_post_condition_vectors() -> None:
    assert sbtc_pc().serialize().hex() == TESTNET_FT_POST_CONDITION
    mainnet = ft_post_condition(ADDRESS_MAINNET, "eq", 25000, f"{SBTC_MAINNET}::sbtc-token")
    assert mainnet.serialize().hex() == MAINNET_FT_POST_CONDITION
    assert deserialize_post_condition(bytes.fromhex(MAINNET_FT_POST_CONDITION)) == mainnet
    assert str(mainnet.asset) == f"{SBTC_MAINNET}::sbtc-token"
    assert str(mainnet.principal) == ADDRESS_MAINNET


def test_stx_and_origin_post_conditions() -> None:
    pc = stx_post_condition("origin", "lte", 1_000_000)
    assert pc.serialize().hex() == "00" + "01" + "05" + (1_000_000).to_bytes(8, "big").hex()
    contract_pc = stx_post_condition(GATEWAY, "gte", 1)
    assert contract_pc.serialize().hex().startswith("0003")
    assert deserialize_post_condition(contract_pc.serialize()) == contract_pc
    assert str(contract_pc.principal) == GATEWAY


@pytest.mark.parametrize(
    "make",
    [
        lambda: stx_post_condition("origin", "between", 1),
        lambda: stx_post_condition("origin", "eq", -1),
        lambda: stx_post_condition("origin", "eq", 2**64),
        lambda: stx_post_condition("ST123", "eq", 1),
        lambda: ft_post_condition("origin", "eq", 1, SBTC_TESTNET),
        lambda: ft_post_condition("origin", "eq", 1, SBTC_TESTNET + "::9bad"),
    ],
)
def test_bad_post_conditions(make: object) -> None:
    with pytest.raises(TransactionError):
        make()  # type: ignore[operator]


def test_allow_mode_byte_is_01_and_deny_is_02() -> None:
    allow = make_token_transfer(
        TESTNET, KEY, RECIPIENT, 1, nonce=0, fee=1, post_condition_mode=PostConditionMode.ALLOW
    )
    deny = make_token_transfer(TESTNET, KEY, RECIPIENT, 1, nonce=0, fee=1)
    # version(1) chain(4) auth type(1) condition(1+20+8+8+1+65) anchor(1) -> mode at 110
    assert allow.serialize()[110] == 0x01
    assert deny.serialize()[110] == 0x02


def test_mainnet_transaction() -> None:
    tx = make_token_transfer(MAINNET, KEY, ADDRESS_MAINNET, 5, nonce=1, fee=200)
    raw = tx.serialize()
    assert raw[:5] == bytes.fromhex("0000000001")
    assert tx.sender_address() == ADDRESS_MAINNET
    assert verify_origin(deserialize_transaction(raw)) == KEY.public_key


def test_deploy_payloads() -> None:
    code = "(define-public (hello) (ok u1))\n"
    tx = make_contract_deploy(TESTNET, KEY, "hello", code, nonce=3, fee=10_000)
    payload = tx.payload.serialize()
    assert payload[:2] == bytes([0x06, 3])
    assert payload[2:8] == b"\x05hello"
    assert payload[8:12] == len(code).to_bytes(4, "big")
    legacy = make_contract_deploy(
        TESTNET, KEY, "hello", code, nonce=3, fee=10_000, clarity_version=None
    )
    assert legacy.payload.serialize()[:7] == b"\x01\x05hello"
    for t in (tx, legacy):
        parsed = deserialize_transaction(t.serialize())
        assert parsed == t
        verify_origin(parsed)
    with pytest.raises(TransactionError):
        SmartContractPayload("a" * 41, code)
    with pytest.raises(TransactionError):
        SmartContractPayload("ok", '(print "é")')


def test_sponsored_signing_and_verification() -> None:
    origin_signed = make_token_transfer(
        TESTNET, KEY, RECIPIENT, 1000, nonce=4, fee=0, sponsored=True
    )
    assert isinstance(origin_signed.auth, SponsoredAuthorization)
    assert origin_signed.origin.fee == 0
    verify_origin(origin_signed)
    done = sponsor_transaction(origin_signed, SPONSOR_KEY, fee=500, nonce=9)
    assert isinstance(done.auth, SponsoredAuthorization)
    assert (done.auth.sponsor.fee, done.auth.sponsor.nonce) == (500, 9)
    # The sponsor's condition is outside what the origin signed.
    assert verify_origin(done) == KEY.public_key
    assert verify_sponsor(done) == SPONSOR_KEY.public_key
    parsed = deserialize_transaction(done.serialize())
    assert parsed == done
    assert verify_sponsor(parsed) == SPONSOR_KEY.public_key
    tampered = replace(
        done, auth=SponsoredAuthorization(done.auth.origin, replace(done.auth.sponsor, fee=1))
    )
    with pytest.raises(SignatureError):
        verify_sponsor(tampered)
    with pytest.raises(SignatureError):
        sign_sponsor(origin_signed, SPONSOR_KEY)  # sponsor condition not set


def test_tampering_breaks_the_origin_signature() -> None:
    tx = deserialize_transaction(VEC1)
    assert isinstance(tx.auth, StandardAuthorization)
    for changed in (
        replace(tx, auth=StandardAuthorization(replace(tx.origin, fee=3001))),
        replace(tx, auth=StandardAuthorization(replace(tx.origin, nonce=8))),
        replace(tx, post_condition_mode=PostConditionMode.ALLOW),
        replace(tx, post_conditions=()),
        replace(tx, chain_id=1),
    ):
        with pytest.raises(SignatureError):
            verify_origin(changed)


def test_signing_errors() -> None:
    other = PrivateKey(bytes.fromhex("22" * 32))
    tx = unsigned_transaction(
        TESTNET,
        TokenTransferPayload(principal(RECIPIENT), 1),
        public_key=KEY.public_key,
        nonce=0,
        fee=1,
    )
    with pytest.raises(SignatureError, match="has not signed"):
        verify_origin(tx)
    with pytest.raises(SignatureError, match="does not match"):
        sign_origin(tx, other)
    with pytest.raises(SignatureError, match="not sponsored"):
        verify_sponsor(tx)
    signed = sign_origin(tx, KEY)
    forged = replace(
        signed, auth=StandardAuthorization(replace(signed.origin, signer=other.hash160))
    )
    with pytest.raises(SignatureError, match="not made by"):
        verify_origin(forged)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (VEC1[:-2], "unexpected end"),
        (VEC1 + "00", "trailing"),
        ("81" + VEC1[2:], "version"),
        (VEC1[:10] + "06" + VEC1[12:], "authorization type"),
        (VEC1[:12] + "01" + VEC1[14:], "multi-signature"),
        (VEC1[:12] + "09" + VEC1[14:], "hash mode"),
        (VEC3[:218] + "07" + VEC3[220:], "anchor mode"),
        (VEC3[:220] + "09" + VEC3[222:], "post-condition mode"),
        (VEC3[:222] + "ffffffff" + VEC3[230:], "post-condition count"),
        (VEC3[:230] + "04" + VEC3[232:], "payload type"),
        ("zz", "not a hex string"),
    ],
)
def test_malformed_transactions(raw: str, message: str) -> None:
    with pytest.raises(TransactionError, match=message):
        deserialize_transaction(raw)


def test_payload_validation() -> None:
    with pytest.raises(TransactionError):
        TokenTransferPayload(principal(RECIPIENT), 1, b"x" * 35)
    with pytest.raises(TransactionError):
        ContractCallPayload.create(RECIPIENT, "pay", [])
    with pytest.raises(TransactionError):
        ContractCallPayload.create(GATEWAY, "bad name", [])
    with pytest.raises(TransactionError):
        ContractCallPayload.create(GATEWAY, "pay", [25000])  # type: ignore[list-item]
    with pytest.raises(TransactionError):
        SingleSigSpendingCondition(signer=bytes(20), nonce=-1, fee=0)
    with pytest.raises(TransactionError):
        make_token_transfer(TESTNET, KEY, "nope", 1, nonce=0, fee=1)


def test_transaction_repr_hides_signatures_and_keys() -> None:
    text = repr(vec1())
    assert PRIVATE_KEY not in text
    assert vec1().origin.signature.hex() not in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transactions)
def test_transaction_round_trip(tx: Transaction) -> None:
    raw = tx.serialize()
    parsed = deserialize_transaction(raw)
    assert parsed == tx
    assert parsed.serialize() == raw


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
    st.binary(min_size=32, max_size=32).filter(lambda b: 0 < int.from_bytes(b, "big") < 2**255),
)
def test_signed_transactions_verify_after_round_trip(nonce: int, fee: int, secret: bytes) -> None:
    key = PrivateKey(secret)
    tx = make_contract_call(TESTNET, key, GATEWAY, "pay", [UInt(1), NONE], nonce=nonce, fee=fee)
    assert verify_origin(deserialize_transaction(tx.serialize())) == key.public_key


def test_deploy_clarity_versions_round_trip() -> None:
    for version in ClarityVersion:
        payload = SmartContractPayload("c", "(+ 1 2)", version)
        assert payload.serialize()[1] == version


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(st.binary(max_size=400))
def test_parsing_arbitrary_bytes_only_raises_transaction_error(data: bytes) -> None:
    try:
        deserialize_transaction(data)
    except TransactionError:
        return


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(st.integers(0, len(VEC1) // 2 - 1), st.integers(1, 255))
def test_corrupting_one_byte_of_vec1_is_detected(position: int, flip: int) -> None:
    raw = bytearray(bytes.fromhex(VEC1))
    raw[position] ^= flip
    try:
        tx = deserialize_transaction(bytes(raw))
    except TransactionError:
        return
    # Whatever still parses must fail signature verification.
    with pytest.raises(SignatureError):
        verify_origin(tx)
