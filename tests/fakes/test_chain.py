"""The fake chain behaves as the contract, the node's mempool and the Hiro API do.

No database, no devnet: each test builds its own chain. The contract's behaviour is checked call
by call against `contracts/contracts/sbtc-payment-gateway.clar` (error codes, balances, maps,
print events); `tests/watcher/test_scenarios.py` runs the gateway itself on it and on the devnet.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest

from sbtc_gateway.chain import (
    DEVNET,
    Buffer,
    NotFoundError,
    PostConditionMode,
    PrivateKey,
    ReadOnlyCallError,
    StacksBlockchainService,
    StringAscii,
    TransactionRejectedError,
    Tuple,
    TxStatus,
    UInt,
    ft_post_condition,
    principal,
    sign_terms,
)
from sbtc_gateway.payments.onchain import REFUND_FUNCTION, contract_call, terms_tuple
from sbtc_gateway.watcher import setup
from sbtc_gateway.watcher.decode import py
from tests.chain.chain_vectors import VEC1, VEC1_TXID, VEC2
from tests.fakes.chain import FakeChain, call_parts, signed_call

GATEWAY_KEY = PrivateKey.from_hex("11" * 32)
AMOUNT, FEE = 25_000, 250


def key(name: str) -> PrivateKey:
    return PrivateKey(hashlib.sha256(f"test_fakechain {name}".encode()).digest())


@dataclass
class World:
    chain: FakeChain
    merchant_key: PrivateKey
    payer_key: PrivateKey
    merchant: str
    payer: str

    def call(self, intent_id: str, **terms: Any) -> dict[str, Any]:
        """The gateway's rendered `pay-signed-intent` call (payments/onchain.py)."""
        values: dict[str, Any] = {
            "merchant": self.merchant,
            "payer": self.payer,
            "amount": AMOUNT,
            "fee": FEE,
            "expires_at_block": self.chain.tip.height + 100,
            **terms,
        }
        return contract_call(
            network=DEVNET,
            contract_id=self.chain.contract_id,
            key=values.pop("key", GATEWAY_KEY),
            intent_id=intent_id,
            **values,
        )

    def refund(self, intent_id: str, amount: int, merchant: str | None = None) -> dict[str, Any]:
        merchant = merchant or self.merchant
        pc = ft_post_condition(merchant, "eq", amount, DEVNET.sbtc_asset_id)
        args = [principal(DEVNET.sbtc_token), StringAscii(intent_id), UInt(amount)]
        return {
            "contract_id": self.chain.contract_id,
            "function_name": REFUND_FUNCTION,
            "function_args": [a.to_hex() for a in args],
            "post_conditions": [pc.to_hex()],
            "post_condition_mode": "deny",
        }

    def mined(self, txid: str) -> tuple[str, str | None]:
        self.chain.mine()
        record = self.chain.txs[txid]
        return record.status, repr(record.result) if record.result is not None else None

    async def read(self, function: str, *args: Any) -> Any:
        return py(await self.chain.call_read_only(self.chain.contract_id, function, list(args)))


@pytest.fixture
async def world() -> World:
    chain = FakeChain()
    merchant_key, payer_key = key("merchant"), key("payer")
    # The operator's one set-up call, through StacksBlockchainService over the fake (signed);
    # the merchant needs none: the gateway's signature names it.
    sent = await setup.set_gateway_key(
        chain, DEVNET, chain.contract_id, chain.deployer, GATEWAY_KEY.public_key
    )
    chain.mine()
    assert chain.status(sent.txid) == "success"
    payer = chain.address(payer_key)
    chain.faucet(payer, 1_000_000)
    return World(chain, merchant_key, payer_key, chain.address(merchant_key), payer)


# --- pay-signed-intent ----------------------------------------------------------------------------


async def test_a_payment_moves_the_money_and_records_the_intent(world: World) -> None:
    chain = world.chain
    txid = chain.submit_call(world.payer, world.call("pi_1"))
    assert chain.status(txid) == "pending"
    assert world.mined(txid) == ("success", "(ok true)")
    assert chain.balance(world.payer) == 1_000_000 - AMOUNT
    assert chain.balance(world.merchant) == AMOUNT - FEE
    # the fee goes straight to the fee recipient (the deployer by default)
    assert chain.balance(chain.owner) == FEE
    assert chain.balance(chain.contract_id) == 0
    height = chain.tip.height
    record = await world.read("get-signed-intent", StringAscii("pi_1"))
    assert record == {
        "merchant": world.merchant,
        "amount": AMOUNT,
        "fee": FEE,
        "status": "paid",
        "customer": world.payer,
        "created-at": height,
        "expires-at": height - 1 + 100,
        "signed": True,
        "token": DEVNET.sbtc_token,
        "refunded": 0,
        "fee-recipient": chain.owner,
        "fee-held": False,
        "fee-distributed": False,
        "paid-at": height,
    }
    # an unregistered merchant: no record, but its totals are tracked
    assert await world.read("get-merchant", principal(world.merchant)) is None
    assert await world.read("get-merchant-totals", principal(world.merchant)) == {
        "processed": AMOUNT,
        "received": AMOUNT - FEE,
        "payments": 1,
    }
    config = await world.read("get-config")
    assert config["fees-pending"] == 0
    assert config["gateway-pubkey"] == "0x" + GATEWAY_KEY.public_key.hex()
    assert config["previous-gateway-pubkey"] is None
    assert await world.read("get-signed-intent-status", StringAscii("pi_1")) == "paid"


async def test_the_intent_paid_event_has_the_contracts_keys_and_types(world: World) -> None:
    chain = world.chain
    txid = chain.submit_call(world.payer, world.call("pi_1"))
    chain.mine()
    info = await chain.get_transaction(txid)
    assert [e.event_type for e in info.events] == [
        "fungible_token_asset",
        "fungible_token_asset",
        "smart_contract_log",
    ]
    to_merchant, to_recipient, log = info.events
    assert (to_merchant.sender, to_merchant.recipient, to_merchant.amount) == (
        world.payer,
        world.merchant,
        AMOUNT - FEE,
    )
    assert (to_recipient.recipient, to_recipient.amount) == (chain.owner, FEE)
    assert to_merchant.asset_id == DEVNET.sbtc_asset_id
    assert (log.contract_id, log.topic) == (chain.contract_id, "print")
    # Exactly the contract's tuple (Clarity notation, keys in the VM's order).
    assert log.value_repr == (
        f'(tuple (amount u{AMOUNT}) (block u{chain.tip.height}) (event "intent-paid") '
        f"(fee u{FEE}) (fee-held false) (fee-recipient (some '{chain.owner})) "
        f'(intent-id "pi_1") (merchant \'{world.merchant}) '
        f"(merchant-amount u{AMOUNT - FEE}) (payer '{world.payer}) (signed true) "
        f"(token '{DEVNET.sbtc_token}))"
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"token": "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-registry"}, 103),
        ({"key": PrivateKey.from_hex("22" * 32)}, 114),  # signed by another key
        ({"amount_arg": 20_000}, 114),  # an argument that differs from the signed terms
        ({"fee": 2_501}, 113),  # above the 10 % cap
        ({"merchant": "self"}, 124),
        ({"merchant": "suspended"}, 106),
        ({"amount": 2_000_000, "fee": 0}, 115),
    ],
)
async def test_a_failing_payment_aborts_with_the_contracts_code(
    world: World, change: dict[str, Any], code: int
) -> None:
    chain = world.chain
    terms = dict(change)
    token = terms.pop("token", None)
    amount_arg = terms.pop("amount_arg", None)
    sender = world.payer
    if terms.get("merchant") == "self":  # a merchant paying its own intent
        terms["merchant"] = sender = world.merchant
        chain.faucet(world.merchant, 1_000_000)
    elif terms.get("merchant") == "suspended":  # on the owner's deny list (never registered)
        terms["merchant"] = chain.address(key("nobody"))
        suspend = {
            "contract_id": chain.contract_id,
            "function_name": "suspend-merchant",
            "function_args": [principal(terms["merchant"]).to_hex()],
        }
        assert world.mined(chain.submit_call(chain.owner, suspend)) == ("success", "(ok true)")
    call = world.call("pi_bad", **terms)
    if token is not None:
        call["function_args"][0] = principal(token).to_hex()
    if amount_arg is not None:
        call["function_args"][3] = UInt(amount_arg).to_hex()
    call["post_condition_mode"] = "allow"
    before = dict(chain.state.sbtc)
    txid = chain.submit_call(sender, call)
    assert world.mined(txid) == ("abort_by_response", f"(err u{code})")
    assert chain.state.sbtc == before
    assert await world.read("get-signed-intent", StringAscii("pi_bad")) is None
    info = await chain.get_transaction(txid)
    assert (info.status, info.tx_result_repr, info.events) == (
        TxStatus.ABORT_BY_RESPONSE,
        f"(err u{code})",
        (),
    )


async def test_the_expiry_height_is_exclusive(world: World) -> None:
    chain = world.chain
    call = world.call("pi_late", expires_at_block=chain.tip.height + 1)
    txid = chain.submit_call(world.payer, call)
    assert world.mined(txid) == ("abort_by_response", "(err u110)")  # mined at expires-at
    on_time = world.call("pi_on_time", expires_at_block=chain.tip.height + 2)
    assert world.mined(chain.submit_call(world.payer, on_time)) == ("success", "(ok true)")


async def test_an_intent_is_paid_once_and_a_revoked_one_never(world: World) -> None:
    chain = world.chain
    call = world.call("pi_once")
    assert world.mined(chain.submit_call(world.payer, call)) == ("success", "(ok true)")
    assert world.mined(chain.submit_call(world.payer, call)) == ("abort_by_response", "(err u109)")
    assert chain.balance(world.payer) == 1_000_000 - AMOUNT
    revoke = {
        "contract_id": chain.contract_id,
        "function_name": "revoke-signed-intent",
        "function_args": [StringAscii("pi_revoked").to_hex()],
    }
    by_stranger = chain.submit_call(world.payer, revoke)
    assert world.mined(by_stranger) == ("abort_by_response", "(err u100)")
    assert world.mined(chain.submit_call(chain.owner, revoke)) == ("success", "(ok true)")
    paid = chain.submit_call(world.payer, world.call("pi_revoked"))
    assert world.mined(paid) == ("abort_by_response", "(err u111)")
    assert await world.read("get-signed-intent-status", StringAscii("pi_revoked")) == "cancelled"


async def test_only_the_owner_sets_a_well_formed_gateway_key(world: World) -> None:
    chain = world.chain

    def set_key(data: bytes) -> dict[str, Any]:
        return {
            "contract_id": chain.contract_id,
            "function_name": "set-gateway-key",
            "function_args": [Buffer(data).to_hex()],
        }

    new = PrivateKey.from_hex("33" * 32).public_key
    assert world.mined(chain.submit_call(world.payer, set_key(new))) == (
        "abort_by_response",
        "(err u100)",
    )
    assert world.mined(chain.submit_call(chain.owner, set_key(b"\x04" + new[1:]))) == (
        "abort_by_response",
        "(err u123)",
    )
    assert world.mined(chain.submit_call(chain.owner, set_key(new))) == ("success", "(ok true)")
    # intents signed with the old key no longer verify
    old = chain.submit_call(world.payer, world.call("pi_old_key"))
    assert world.mined(old) == ("abort_by_response", "(err u114)")
    register = {
        "contract_id": chain.contract_id,
        "function_name": "register-merchant",
        "function_args": [
            Tuple({"name": StringAscii("Shop"), "email": StringAscii("a@b")}).to_hex()
        ],
    }
    assert world.mined(chain.submit_call(world.merchant, register)) == ("success", "(ok true)")
    assert world.mined(chain.submit_call(world.merchant, register)) == (
        "abort_by_response",
        "(err u104)",
    )


async def test_a_planned_key_rotation_keeps_the_old_key_for_its_overlap(world: World) -> None:
    chain = world.chain
    new = PrivateKey.from_hex("33" * 32)
    rotate = {
        "contract_id": chain.contract_id,
        "function_name": "rotate-gateway-key",
        "function_args": [Buffer(new.public_key).to_hex(), UInt(3).to_hex()],
    }
    assert world.mined(chain.submit_call(chain.owner, rotate)) == ("success", "(ok true)")
    config = await world.read("get-config")
    assert config["previous-gateway-pubkey"] == "0x" + GATEWAY_KEY.public_key.hex()
    assert config["previous-key-valid-until"] == chain.tip.height + 3
    old = chain.submit_call(world.payer, world.call("pi_overlap"))
    assert world.mined(old) == ("success", "(ok true)")
    signed_new = chain.submit_call(world.payer, world.call("pi_new", key=new))
    assert world.mined(signed_new) == ("success", "(ok true)")
    chain.mine()
    late = chain.submit_call(world.payer, world.call("pi_after"))
    assert world.mined(late) == ("abort_by_response", "(err u114)")


async def test_a_paused_contract_refuses_payments(world: World) -> None:
    chain = world.chain

    def admin(name: str) -> dict[str, Any]:
        return {"contract_id": chain.contract_id, "function_name": name, "function_args": []}

    assert world.mined(chain.submit_call(chain.owner, admin("pause"))) == ("success", "(ok true)")
    assert (await world.read("get-config"))["paused"] is True
    paid = chain.submit_call(world.payer, world.call("pi_paused"))
    assert world.mined(paid) == ("abort_by_response", "(err u102)")
    assert world.mined(chain.submit_call(chain.owner, admin("unpause")))[0] == "success"
    paid = chain.submit_call(world.payer, world.call("pi_paused"))
    assert world.mined(paid) == ("success", "(ok true)")


async def test_the_vm_and_the_fake_agree_on_the_terms_hash(world: World) -> None:
    terms = terms_tuple(
        intent_id="pi_x",
        merchant=world.merchant,
        amount=AMOUNT,
        fee=FEE,
        expires_at=99,
        chain_id=DEVNET.chain_id,
        contract_id=world.chain.contract_id,
        token=DEVNET.sbtc_token,
    )
    args = [
        StringAscii("pi_x"),
        principal(world.merchant),
        UInt(AMOUNT),
        UInt(FEE),
        UInt(99),
        principal(DEVNET.sbtc_token),
    ]
    digest = await world.read("get-terms-hash", *args)
    assert digest == "0x" + hashlib.sha256(terms.serialize()).hexdigest()
    signature = Buffer(sign_terms(terms, GATEWAY_KEY))
    assert await world.read("verify-intent-signature", *args, signature) is True
    assert await world.read("calculate-fee", UInt(AMOUNT)) == AMOUNT // 100


# --- refunds and fees -----------------------------------------------------------------------------


async def test_refunds_are_the_merchants_and_at_most_the_amount(world: World) -> None:
    chain = world.chain
    chain.submit_call(world.payer, world.call("pi_r"))
    chain.mine()
    chain.faucet(world.merchant, 100_000)
    by_payer = chain.submit_call(world.payer, world.refund("pi_r", 1_000, merchant=world.payer))
    assert world.mined(by_payer) == ("abort_by_response", "(err u117)")
    too_much = chain.submit_call(world.merchant, world.refund("pi_r", AMOUNT + 1))
    assert world.mined(too_much) == ("abort_by_response", "(err u119)")
    partial = chain.submit_call(world.merchant, world.refund("pi_r", 10_000))
    assert world.mined(partial) == ("success", "(ok u10000)")
    assert chain.balance(world.payer) == 1_000_000 - AMOUNT + 10_000
    info = await chain.get_transaction(partial)
    assert info.events[-1].value_repr == (
        f'(tuple (amount u10000) (event "refund") (fully-refunded false) (intent-id "pi_r") '
        f"(merchant '{world.merchant}) (payer '{world.payer}) (signed true) "
        f"(token '{DEVNET.sbtc_token}) (total-refunded u10000))"
    )
    rest = chain.submit_call(world.merchant, world.refund("pi_r", AMOUNT - 10_000))
    assert world.mined(rest) == ("success", f"(ok u{AMOUNT})")
    record = await world.read("get-signed-intent", StringAscii("pi_r"))
    assert (record["status"], record["refunded"]) == ("refunded", AMOUNT)
    unpaid = chain.submit_call(world.merchant, world.refund("pi_none", 1))
    assert world.mined(unpaid) == ("abort_by_response", "(err u108)")


async def test_a_paid_fee_leaves_nothing_to_distribute(world: World) -> None:
    chain = world.chain
    chain.submit_call(world.payer, world.call("pi_direct"))
    chain.mine()
    operator = StacksBlockchainService(chain, DEVNET, key("operator"))
    args = [principal(DEVNET.sbtc_token), StringAscii("pi_direct")]
    sent = await operator.call_contract_function(
        chain.contract_id, "distribute-fees", args, post_condition_mode=PostConditionMode.ALLOW
    )
    chain.mine()
    assert repr(chain.txs[sent.txid].result) == "(err u120)"


async def test_a_held_fee_is_distributed_once_by_anyone_to_its_recipient(world: World) -> None:
    chain = world.chain
    # the payer is the fee recipient (the deployer): the contract holds the fee for it
    chain.faucet(chain.owner, 1_000_000)
    paid = chain.submit_call(chain.owner, world.call("pi_f", payer=chain.owner))
    assert world.mined(paid) == ("success", "(ok true)")
    assert chain.balance(chain.contract_id) == FEE
    assert (await world.read("get-config"))["fees-pending"] == FEE
    assert await world.read("get-fees-held", principal(DEVNET.sbtc_token)) == FEE
    before = chain.balance(chain.owner)
    operator = StacksBlockchainService(chain, DEVNET, key("operator"))
    args = [principal(DEVNET.sbtc_token), StringAscii("pi_f")]
    pc = [ft_post_condition(chain.contract_id, "eq", FEE, DEVNET.sbtc_asset_id)]
    first = await operator.call_contract_function(
        chain.contract_id, "distribute-fees", args, post_conditions=pc
    )
    second = await operator.call_contract_function(
        chain.contract_id, "distribute-fees", args, post_conditions=pc
    )
    chain.mine()
    assert chain.status(first.txid) == "success"
    assert repr(chain.txs[second.txid].result) == "(err u120)"
    assert chain.balance(chain.owner) == before + FEE  # the recipient recorded at payment
    assert chain.balance(chain.contract_id) == 0
    assert (await world.read("get-config"))["fees-pending"] == 0
    assert (await world.read("get-signed-intent", StringAscii("pi_f")))["fee-distributed"]
    logs = await chain.get_contract_logs(chain.contract_id, limit=1)
    assert py(logs.events[0].value)["event"] == "fees-distributed"


# --- post-conditions ------------------------------------------------------------------------------


async def test_a_broken_post_condition_aborts_and_changes_nothing(world: World) -> None:
    chain = world.chain
    call = world.call("pi_pc")
    call["post_conditions"] = [
        ft_post_condition(world.payer, "eq", AMOUNT - 1, DEVNET.sbtc_asset_id).to_hex()
    ]
    txid = chain.submit_call(world.payer, call)
    assert world.mined(txid) == ("abort_by_post_condition", "(ok true)")
    assert chain.balance(world.payer) == 1_000_000
    assert await world.read("get-signed-intent", StringAscii("pi_pc")) is None
    assert "24999" in (chain.txs[txid].vm_error or "")
    # deny mode with no condition at all: every movement is uncovered
    bare = world.call("pi_bare")
    bare["post_conditions"] = []
    assert world.mined(chain.submit_call(world.payer, bare))[0] == "abort_by_post_condition"
    bare["post_condition_mode"] = "allow"
    assert world.mined(chain.submit_call(world.payer, bare)) == ("success", "(ok true)")


# --- the mempool ----------------------------------------------------------------------------------


async def test_broadcast_checks_what_a_node_checks(world: World) -> None:
    chain = world.chain
    call = world.call("pi_b")

    async def rejected(raw: bytes) -> TransactionRejectedError:
        with pytest.raises(TransactionRejectedError) as caught:
            await chain.broadcast(raw)
        return caught.value

    assert (await rejected(b"\x80\x00")).reason == "Deserialization"
    # stacks.js's own contract call (primer VEC1): parsed and verified, then no such contract
    problem = await rejected(bytes.fromhex(VEC1))
    assert (problem.reason, problem.txid) == ("NoSuchContract", VEC1_TXID)
    assert (await rejected(bytes.fromhex(VEC2))).reason == "NoSuchContract"  # testnet sBTC
    signed = signed_call(call, world.payer_key, nonce=0).serialize()
    tampered = bytearray(signed)
    tampered[-1] ^= 1
    assert (await rejected(bytes(tampered))).reason == "SignatureValidation"
    cheap = signed_call(call, world.payer_key, nonce=0, fee=10).serialize()
    assert (await rejected(cheap)).reason == "FeeTooLow"
    txid = await chain.broadcast(signed)
    assert await chain.broadcast(signed) == txid  # a known transaction: its txid again
    same_fee = signed_call(world.call("pi_c"), world.payer_key, nonce=0).serialize()
    assert (await rejected(same_fee)).reason == "ConflictingNonceInMempool"
    chain.mine()
    stale = await rejected(signed_call(world.call("pi_d"), world.payer_key, nonce=0).serialize())
    assert (stale.reason, stale.reason_data["expected"]) == ("BadNonce", 1)
    wrong = dict(call, function_args=call["function_args"][:3])
    with pytest.raises(TransactionRejectedError) as caught:
        chain.submit_call(world.payer, wrong)
    assert caught.value.reason == "BadFunctionArgument"
    unknown = dict(call, function_name="steal")
    with pytest.raises(TransactionRejectedError) as caught:
        chain.submit_call(world.payer, unknown)
    assert caught.value.reason == "NoSuchPublicFunction"


async def test_nonces_chain_in_the_mempool_and_mine_in_order(world: World) -> None:
    chain = world.chain
    nonce = (await chain.get_nonces(world.payer)).possible_next_nonce
    later = signed_call(world.call("pi_n2"), world.payer_key, nonce=nonce + 1).serialize()
    await chain.broadcast(later)
    gap = await chain.get_nonces(world.payer)
    assert (gap.possible_next_nonce, gap.detected_missing_nonces) == (nonce, (nonce,))
    chain.mine()
    assert len(await chain.get_mempool_transactions()) == 1  # waits for the missing nonce
    first = signed_call(world.call("pi_n1"), world.payer_key, nonce=nonce).serialize()
    await chain.broadcast(first)
    [block] = chain.mine()
    assert len(block.txids) == 2
    assert [chain.txs[t].nonce for t in block.txids] == [nonce, nonce + 1]
    assert (await chain.get_account(world.payer)).nonce == nonce + 2


async def test_replace_by_fee_drops_the_original(world: World) -> None:
    chain = world.chain
    first = chain.submit_call(world.payer, world.call("pi_rbf"))
    second = chain.replace_by_fee(first)
    info = await chain.get_transaction(first)
    assert info.status is TxStatus.DROPPED_REPLACE_BY_FEE
    assert info.raw["replaced_by_tx_id"] == "0x" + second
    [pending] = await chain.get_mempool_transactions()
    assert pending.tx_id == second
    assert world.mined(second) == ("success", "(ok true)")


# --- reorgs ---------------------------------------------------------------------------------------


async def test_a_reorg_re_mines_orphaned_transactions(world: World) -> None:
    chain = world.chain
    txid = chain.submit_call(world.payer, world.call("pi_reorg"))
    [block] = chain.mine()
    chain.mine(2)
    result = chain.reorg(3)
    assert (result.fork_height, result.mempool) == (block.height - 1, (txid,))
    assert chain.status(txid) == "pending"
    assert chain.balance(world.payer) == 1_000_000
    orphan = await chain.get_block(block.hash)
    assert orphan.canonical is False
    with pytest.raises(NotFoundError):
        await chain.get_block(block.height)
    [again] = chain.mine()
    assert again.height == block.height
    assert again.hash != block.hash
    info = await chain.get_transaction(txid)
    assert (info.status, info.block_hash) == (TxStatus.SUCCESS, again.hash)
    assert chain.balance(world.payer) == 1_000_000 - AMOUNT


async def test_a_dropped_transaction_is_lost_across_the_fork(world: World) -> None:
    chain = world.chain
    call = world.call("pi_lost")
    lost = chain.submit_call(world.payer, call)
    kept = chain.submit_call(world.merchant, world.refund("pi_unknown", 1))
    [block] = chain.mine()
    chain.faucet(world.payer, 5)  # a mint after the block survives the reorg
    with pytest.raises(ValueError, match="orphaned"):
        chain.reorg(1, drop=["ab" * 32])
    result = chain.reorg(1, drop=["0x" + lost])
    assert result.mempool == (kept,)
    info = await chain.get_transaction(lost)
    assert (info.status, info.block_height) == (TxStatus.DROPPED_REPLACE_ACROSS_FORK, None)
    assert chain.balance(world.payer) == 1_000_000 + 5
    [again] = chain.mine()
    assert again.txids == [kept]
    assert chain.status(lost) == "dropped_replace_across_fork"
    assert (await chain.get_nonces(world.payer)).possible_next_nonce == chain.txs[lost].nonce
    assert await world.read("get-signed-intent", StringAscii("pi_lost")) is None
    # the wallet may broadcast the same transaction again
    assert chain.submit_call(world.payer, call) == lost
    assert world.mined(lost) == ("success", "(ok true)")
    assert block.canonical is False


# --- the API surface ------------------------------------------------------------------------------


async def test_reads_answer_in_the_apis_shapes(world: World) -> None:
    chain = world.chain
    txid = chain.submit_call(world.payer, world.call("pi_api"))
    [mempool] = await chain.get_mempool_transactions()
    assert (mempool.tx_id, mempool.status, mempool.block_height) == (txid, TxStatus.PENDING, None)
    chain.mine()
    info = await chain.get_info()
    assert (info.network_id, info.stacks_tip_height) == (DEVNET.chain_id, chain.tip.height)
    block = await chain.get_block("latest")
    assert (block.hash, block.tx_count) == (chain.tip.hash, 1)
    [listed] = await chain.get_block_transactions(chain.tip.height)
    assert (listed.tx_id, listed.event_count, len(listed.events)) == (txid, 3, 3)
    assert listed.raw["contract_call"]["function_args"][1]["name"] == "intent-id"
    events = await chain.get_transaction_events(txid, page_size=2)  # follows event paging
    assert [e.event_index for e in events] == [0, 1, 2]
    assert py(await chain.get_data_var(chain.contract_id, "paused")) is False
    entry = await chain.get_map_entry(chain.contract_id, "signed-intents", StringAscii("pi_api"))
    assert py(entry)["status"] == "paid"
    estimate = await chain.estimate_fee(b"\x02" * 300)
    assert (estimate.low, estimate.medium, estimate.high) == (300, 600, 1200)
    with pytest.raises(NotFoundError):
        await chain.get_transaction("00" * 32)
    with pytest.raises(ReadOnlyCallError):
        await chain.call_read_only(chain.contract_id, "pay-signed-intent", [])


async def test_an_outage_is_an_unavailable_api_not_a_failure(world: World) -> None:
    from sbtc_gateway.chain import ApiUnavailableError

    world.chain.outage = True
    with pytest.raises(ApiUnavailableError):
        await world.chain.get_info()
    world.chain.outage = False
    assert (await world.chain.get_info()).stacks_tip_height == world.chain.tip.height


async def test_a_rendered_call_becomes_the_wallets_payload(world: World) -> None:
    call = world.call("pi_parts")
    payload, conditions, mode = call_parts(call)
    assert (payload.contract_id, payload.function_name) == (
        world.chain.contract_id,
        "pay-signed-intent",
    )
    assert [a.to_hex() for a in payload.args] == call["function_args"]
    assert [c.to_hex() for c in conditions] == call["post_conditions"]
    assert mode.name == "DENY"


async def test_chains_of_other_seeds_share_no_block() -> None:
    """A wiped devnet, another devnet: same heights, other blocks (and the same seed, the same
    chain)."""
    first, again, other = FakeChain(), FakeChain(), FakeChain(seed="another chain")
    for chain in (first, again, other):
        chain.mine(2)
    heights = range(first.tip.height + 1)
    assert [(await first.get_block(h)).hash for h in heights] == [
        (await again.get_block(h)).hash for h in heights
    ]
    assert not {b.hash for b in first.blocks} & {b.hash for b in other.blocks}
    assert not {b.burn_block_hash for b in first.blocks} & {b.burn_block_hash for b in other.blocks}
