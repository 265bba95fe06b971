"""An in-memory Stacks chain for unit tests: a `ChainSource` with the payment contract in it.

What it models: blocks (height, hash, parent, canonical), a mempool with the node's admission
checks (deserialization, version and chain id, origin signature, minimum fee, nonces,
replace-by-fee, chaining limit, contract, function and argument types), per-sender nonces, sBTC
balances, the payment contract (`tests/fakes/chain_contract.py`), post-conditions evaluated against
the sBTC movements as stacks-core does, reorgs (with lost transactions) and replace-by-fee.
What it does not: STX balances and fees (every account shows a fixed balance; fees are checked,
never charged), Bitcoin anchoring beyond a burn height that `mine(burn_blocks=…)` raises,
microblocks, sponsored transactions, token transfers and deploys, and the contract functions the
gateway never calls (refused at admission with `ServerFailureOther`).

Every answer is the JSON the Hiro API / node RPC sends (the shapes of `devnet/src/shapes.mjs`),
served over an `httpx.MockTransport` to a real `StacksApiClient`: the client's own code and its
parsers (`chain/api_types.py`) read it, so the fake's shapes and errors cannot drift from what
the gateway reads from a real node.

Controls (synchronous): `mine(n)`, `reorg(depth, drop=…)`, `replace_by_fee(txid)`,
`faucet(address, sbtc)`, `balance(address)`, `submit_call(sender, call)`, `outage`.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from sbtc_gateway.chain import (
    DEVNET,
    AccountInfo,
    BlockInfo,
    ChainSource,
    ClarityValue,
    ContractPrincipal,
    Err,
    FeeEstimate,
    NetworkInfo,
    NonceInfo,
    PrivateKey,
    RetryPolicy,
    StacksApiClient,
    TransactionEvent,
    TransactionInfo,
    TransactionRejectedError,
    c32_address_decode,
    deserialize,
    deserialize_transaction,
    make_contract_call,
    verify_origin,
)
from sbtc_gateway.chain.api_types import ContractLogPage, normalize_txid
from sbtc_gateway.chain.errors import SignatureError, TransactionError
from sbtc_gateway.chain.hashing import sha512_256
from sbtc_gateway.chain.networks import Network
from sbtc_gateway.chain.postconditions import (
    FungibleConditionCode,
    FungiblePostCondition,
    NonFungibleConditionCode,
    NonFungiblePostCondition,
    OriginPrincipal,
    PostCondition,
    PostConditionMode,
    StxPostCondition,
    deserialize_post_condition,
)
from sbtc_gateway.chain.resilience import CircuitBreaker
from sbtc_gateway.chain.transactions import (
    ContractCallPayload,
    SingleSigSpendingCondition,
    StandardAuthorization,
    Transaction,
)
from tests.fakes import chain_contract as contract
from tests.fakes.chain_api import HiroApi, digest
from tests.fakes.chain_contract import ContractEvent, ContractState, FtTransfer

GATEWAY_CONTRACT_NAME = "sbtc-payment-gateway"
MIN_FEE_RATE = 1  # µSTX per byte, stacks-core's minimum relay fee
MAX_CHAINED = 25  # pending transactions per sender (stacks-core)
BLOCK_SECONDS = 10
# A mined-or-pending transaction that the same bytes may bring back to the mempool.
READMITTABLE = frozenset({"dropped_replace_by_fee", "dropped_replace_across_fork"})
_COMPARE: Mapping[FungibleConditionCode, Callable[[int, int], bool]] = {
    FungibleConditionCode.EQ: lambda sent, n: sent == n,
    FungibleConditionCode.GT: lambda sent, n: sent > n,
    FungibleConditionCode.GTE: lambda sent, n: sent >= n,
    FungibleConditionCode.LT: lambda sent, n: sent < n,
    FungibleConditionCode.LTE: lambda sent, n: sent <= n,
}


# --- a wallet's view of `next_action.sbtc_contract_call` ---------------------------------------


def call_parts(
    call: Mapping[str, Any],
) -> tuple[ContractCallPayload, tuple[PostCondition, ...], PostConditionMode]:
    """The payload, post-conditions and mode a wallet builds from a rendered contract call."""
    payload = ContractCallPayload.create(
        str(call["contract_id"]),
        str(call["function_name"]),
        [deserialize(str(h)) for h in call["function_args"]],
    )
    conditions = tuple(
        deserialize_post_condition(bytes.fromhex(str(h).removeprefix("0x")))
        for h in call.get("post_conditions") or ()
    )
    mode = {"allow": PostConditionMode.ALLOW, "deny": PostConditionMode.DENY}[
        str(call.get("post_condition_mode", "deny"))
    ]
    return payload, conditions, mode


def signed_call(
    call: Mapping[str, Any],
    key: PrivateKey,
    *,
    nonce: int,
    fee: int = 10_000,
    network: Network = DEVNET,
) -> Transaction:
    """The transaction a wallet signs for a rendered call (what `tests/js/pay_intent.mjs` does
    with stacks.js, here with the gateway's own builder)."""
    payload, conditions, mode = call_parts(call)
    return make_contract_call(
        network,
        key,
        payload.contract_id,
        payload.function_name,
        payload.args,
        nonce=nonce,
        fee=fee,
        post_conditions=conditions,
        post_condition_mode=mode,
    )


# --- records ------------------------------------------------------------------------------------


@dataclass
class FakeBlock:
    height: int
    hash: str
    index_block_hash: str
    parent_block_hash: str
    parent_index_block_hash: str
    burn_block_height: int
    burn_block_hash: str
    time: int
    txids: list[str]
    canonical: bool = True


@dataclass
class FakeTx:
    txid: str
    tx: Transaction
    payload: ContractCallPayload
    sender: str
    receipt_time: int
    status: str = "pending"
    block: FakeBlock | None = None
    tx_index: int | None = None
    result: ClarityValue | None = None
    events: tuple[ContractEvent, ...] = ()
    vm_error: str | None = None
    replaced_by: str | None = None

    @property
    def nonce(self) -> int:
        return self.tx.origin.nonce

    @property
    def fee(self) -> int:
        return self.tx.origin.fee


@dataclass
class Mint:
    """A faucet mint, applied after the block at `height` (kept across reorgs, as the devnet)."""

    height: int
    address: str
    sbtc: int


@dataclass(frozen=True, slots=True)
class Reorg:
    fork_height: int
    orphaned: tuple[FakeBlock, ...]
    mempool: tuple[str, ...]


def _reject(reason: str, txid: str, data: Mapping[str, Any] | None = None) -> None:
    raise TransactionRejectedError(reason, txid=txid, reason_data=data)


# --- the chain ----------------------------------------------------------------------------------


@dataclass
class FakeChain:
    """One chain with the payment contract deployed by `deployer` at `start_height`."""

    network: Network = DEVNET
    deployer: PrivateKey = field(
        default_factory=lambda: PrivateKey(hashlib.sha256(b"fakechain deployer").digest())
    )
    start_height: int = 3
    burn_height: int = 2
    genesis_time: int = field(default_factory=lambda: int(time.time()))
    # mixed into every block and burn hash: chains of other seeds share no block (a wiped or
    # another devnet at the same heights)
    seed: str = ""
    outage: bool = False  # every request answers 503 while set
    # pending transactions no block includes while listed (a miner that ignores them)
    held: set[str] = field(default_factory=set, init=False)
    txs: dict[str, FakeTx] = field(default_factory=dict, init=False)
    mempool: list[str] = field(default_factory=list, init=False)
    blocks: list[FakeBlock] = field(default_factory=list, init=False)
    state: ContractState = field(init=False)
    all_blocks: dict[str, FakeBlock] = field(default_factory=dict, init=False)
    _states: list[ContractState] = field(default_factory=list, init=False)
    _mints: list[Mint] = field(default_factory=list, init=False)
    _nonces: dict[str, int] = field(default_factory=dict, init=False)
    forks: int = field(default=0, init=False)
    _api: StacksApiClient = field(init=False)

    def __post_init__(self) -> None:
        owner = self.deployer.address(self.network.single_sig_version)
        self.state = ContractState(
            contract_id=f"{owner}.{GATEWAY_CONTRACT_NAME}",
            chain_id=self.network.chain_id,
            owner=owner,
            sbtc_token=self.network.sbtc_token,
            fee_recipient=owner,
        )
        for _ in range(self.start_height + 1):
            self._push_block([])
        self._api = StacksApiClient(
            "http://fakechain.invalid",
            transport=httpx.MockTransport(HiroApi(self).handle),
            retry=RetryPolicy(attempts=1),
            # Tests toggle `outage`: never let the breaker hold a recovered chain closed.
            breaker=CircuitBreaker(failure_threshold=1 << 30),
        )

    # --- what tests read ----------------------------------------------------------------------

    @property
    def contract_id(self) -> str:
        return self.state.contract_id

    @property
    def owner(self) -> str:
        return self.state.owner

    @property
    def sbtc_asset_id(self) -> str:
        return f"{self.network.sbtc_token}::{contract.SBTC_ASSET_NAME}"

    @property
    def tip(self) -> FakeBlock:
        return self.blocks[-1]

    def balance(self, address: str) -> int:
        """sBTC satoshis held by a principal (an address or a contract)."""
        return self.state.sbtc.get(address, 0)

    def status(self, txid: str) -> str:
        return self.txs[normalize_txid(txid)].status

    def address(self, key: PrivateKey) -> str:
        return key.address(self.network.single_sig_version)

    # --- controls -----------------------------------------------------------------------------

    def faucet(self, address: str, sbtc: int) -> None:
        """Mint sBTC to `address` at once, without a transaction (kept across reorgs)."""
        if sbtc < 0:
            raise ValueError("sbtc must be non-negative")
        mint = Mint(self.tip.height, address, sbtc)
        self._mints.append(mint)
        self._apply(mint)

    def mine(self, n: int = 1, *, burn_blocks: int = 0) -> list[FakeBlock]:
        """Mine the mempool into the next block, then `n - 1` empty blocks, then `burn_blocks`
        tenure changes (a burn block each, with its first Stacks block)."""
        made = [self._mine_block(include_mempool=i == 0) for i in range(n)]
        for _ in range(burn_blocks):
            self.burn_height += 1
            made.append(self._push_block([]))
        return made

    def reorg(self, depth: int, drop: Iterable[str] = ()) -> Reorg:
        """Orphan the last `depth` blocks. Their transactions return to the mempool (the next
        `mine` re-mines them) except those in `drop`, which end `dropped_replace_across_fork`."""
        if depth < 1:
            raise ValueError("depth must be a positive integer")
        fork = max(self.start_height, self.tip.height - depth)
        orphaned = self.blocks[fork + 1 :]
        requeue = [self.txs[t] for b in orphaned for t in b.txids]
        dropping = {normalize_txid(t) for t in drop}
        if stray := dropping - {r.txid for r in requeue}:
            raise ValueError(f"not in an orphaned block: {sorted(stray)}")
        for block in orphaned:
            block.canonical = False
        del self.blocks[fork + 1 :]
        del self._states[fork + 1 :]
        self.forks += 1
        if self.tip.burn_block_height < self.burn_height:
            self.burn_height = self.tip.burn_block_height
        for record in requeue:
            record.block = record.tx_index = record.result = record.vm_error = None
            record.events = ()
            lost = record.txid in dropping
            record.status = "dropped_replace_across_fork" if lost else "pending"
        kept = [r.txid for r in requeue if r.txid not in dropping]
        self.mempool = kept + self.mempool
        self.state = copy.deepcopy(self._states[fork])
        for mint in self._mints:
            if mint.height >= fork:
                mint.height = fork
                self._apply(mint)
        self._recount_nonces()
        return Reorg(fork, tuple(orphaned), tuple(self.mempool))

    def submit_call(
        self,
        sender: str,
        call: Mapping[str, Any],
        *,
        nonce: int | None = None,
        fee: int = 10_000,
    ) -> str:
        """Queue `next_action.sbtc_contract_call` as sent by `sender`, unsigned (the fake holds
        no wallet keys): every admission check but the signature applies. Returns the txid."""
        payload, conditions, mode = call_parts(call)
        if nonce is None:
            nonce = self.possible_next_nonce(sender)
        signer = c32_address_decode(sender).hash160
        tx = Transaction(
            version=self.network.transaction_version,
            chain_id=self.network.chain_id,
            auth=StandardAuthorization(SingleSigSpendingCondition(signer, nonce, fee)),
            payload=payload,
            post_conditions=conditions,
            post_condition_mode=mode,
        )
        return self.admit(tx.serialize(), tx, verify=False)

    def replace_by_fee(self, txid: str, *, fee: int | None = None) -> str:
        """A pending transaction's sender replaces it: same nonce and call, a higher fee. The
        original ends `dropped_replace_by_fee`. Returns the replacement's txid."""
        old = self.txs[normalize_txid(txid)]
        if old.status != "pending":
            raise ValueError(f"{old.txid} is {old.status}, not pending")
        new_fee = old.fee + 1 if fee is None else fee
        tx = Transaction(
            version=old.tx.version,
            chain_id=old.tx.chain_id,
            auth=StandardAuthorization(
                SingleSigSpendingCondition(old.tx.origin.signer, old.nonce, new_fee)
            ),
            payload=old.payload,
            post_conditions=old.tx.post_conditions,
            post_condition_mode=old.tx.post_condition_mode,
        )
        return self.admit(tx.serialize(), tx, verify=False)

    # --- ChainSource (each call goes through the real client to the JSON below) ---------------

    async def get_info(self) -> NetworkInfo:
        return await self._api.get_info()

    async def get_account(self, principal: str) -> AccountInfo:
        return await self._api.get_account(principal)

    async def broadcast(self, raw_tx: bytes) -> str:
        return await self._api.broadcast(raw_tx)

    async def call_read_only(
        self,
        contract_id: str,
        function_name: str,
        args: Sequence[ClarityValue] = (),
        *,
        sender: str | None = None,
    ) -> ClarityValue:
        return await self._api.call_read_only(contract_id, function_name, args, sender=sender)

    async def get_map_entry(
        self, contract_id: str, map_name: str, key: ClarityValue
    ) -> ClarityValue:
        return await self._api.get_map_entry(contract_id, map_name, key)

    async def get_data_var(self, contract_id: str, var_name: str) -> ClarityValue:
        return await self._api.get_data_var(contract_id, var_name)

    async def estimate_fee(self, payload: bytes, estimated_len: int | None = None) -> FeeEstimate:
        return await self._api.estimate_fee(payload, estimated_len)

    async def get_nonces(self, principal: str) -> NonceInfo:
        return await self._api.get_nonces(principal)

    async def get_transaction(
        self, txid: str, *, event_offset: int = 0, event_limit: int = 50
    ) -> TransactionInfo:
        return await self._api.get_transaction(
            txid, event_offset=event_offset, event_limit=event_limit
        )

    async def get_transaction_events(
        self, txid: str, *, page_size: int = 50
    ) -> list[TransactionEvent]:
        return await self._api.get_transaction_events(txid, page_size=page_size)

    async def get_contract_logs(
        self, contract_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> ContractLogPage:
        return await self._api.get_contract_logs(contract_id, cursor=cursor, limit=limit)

    async def get_block(self, height_or_hash: int | str = "latest") -> BlockInfo:
        return await self._api.get_block(height_or_hash)

    async def get_block_transactions(
        self, height_or_hash: int | str, *, limit: int = 50
    ) -> list[TransactionInfo]:
        return await self._api.get_block_transactions(height_or_hash, limit=limit)

    async def get_mempool_transactions(self, *, limit: int = 50) -> list[TransactionInfo]:
        return await self._api.get_mempool_transactions(limit=limit)

    async def aclose(self) -> None:
        """Nothing to release (`ChainTips.aclose` calls it on the clients it holds)."""

    # --- blocks and state ---------------------------------------------------------------------

    def _push_block(self, txids: list[str]) -> FakeBlock:
        height = len(self.blocks)
        parent = self.blocks[-1] if self.blocks else None
        zero = "0x" + "00" * 32
        burn_hash = digest("burn", self.burn_height, self.forks, self.seed)
        block_hash = digest(
            "block", height, parent.hash if parent else "", *txids, self.forks, self.seed
        )
        block = FakeBlock(
            height=height,
            hash=block_hash,
            index_block_hash=digest("index", block_hash, burn_hash),
            parent_block_hash=parent.hash if parent else zero,
            parent_index_block_hash=parent.index_block_hash if parent else zero,
            burn_block_height=self.burn_height,
            burn_block_hash=burn_hash,
            time=self.genesis_time + BLOCK_SECONDS * height,
            txids=txids,
        )
        self.blocks.append(block)
        self.all_blocks[block.hash] = block
        self.all_blocks[block.index_block_hash] = block
        self._states.append(copy.deepcopy(self.state))
        return block

    def _apply(self, mint: Mint) -> None:
        self.state.sbtc[mint.address] = self.state.sbtc.get(mint.address, 0) + mint.sbtc

    def confirmed_nonce(self, address: str) -> int:
        return self._nonces.get(address, 0)

    def _recount_nonces(self) -> None:
        self._nonces = {}
        for block in self.blocks:
            for txid in block.txids:
                record = self.txs[txid]
                self._nonces[record.sender] = record.nonce + 1

    def pending_of(self, address: str) -> list[FakeTx]:
        return [r for r in (self.txs[t] for t in self.mempool) if r.sender == address]

    def possible_next_nonce(self, address: str) -> int:
        taken = {r.nonce for r in self.pending_of(address)}
        nonce = self.confirmed_nonce(address)
        while nonce in taken:
            nonce += 1
        return nonce

    # --- admission ----------------------------------------------------------------------------

    def admit(self, raw: bytes, tx: Transaction | None, *, verify: bool) -> str:
        """The node's mempool checks (in the devnet's order); queues the transaction."""
        txid = sha512_256(raw).hex()
        if tx is None:
            try:
                tx = deserialize_transaction(raw)
            except TransactionError as exc:
                _reject(
                    "Deserialization",
                    txid,
                    {"message": f"Failed to deserialize transaction: {exc}"},
                )
            assert tx is not None
        known = self.txs.get(txid)
        if known is not None and known.status not in READMITTABLE:
            return txid  # stacks-core answers a known transaction with its txid again
        if (tx.version, tx.chain_id) != (self.network.transaction_version, self.network.chain_id):
            _reject("BadTransactionVersion", txid)
        if tx.is_sponsored:
            _reject("ServerFailureOther", txid, {"message": "sponsored transactions: not modelled"})
        if verify:
            try:
                verify_origin(tx)
            except SignatureError as exc:
                _reject("SignatureValidation", txid, {"message": str(exc)})
        payload = tx.payload
        if not isinstance(payload, ContractCallPayload):
            _reject("ServerFailureOther", txid, {"message": "the fake runs contract calls only"})
        assert isinstance(payload, ContractCallPayload)
        sender, nonce, fee = tx.sender_address(), tx.origin.nonce, tx.origin.fee
        if fee < len(raw) * MIN_FEE_RATE:
            _reject("FeeTooLow", txid, {"expected": len(raw) * MIN_FEE_RATE, "actual": fee})
        expected = self.confirmed_nonce(sender)
        if nonce < expected:
            data = {"expected": expected, "actual": nonce, "is_origin": True, "principal": sender}
            _reject("BadNonce", txid, data)
        same = next((r for r in self.pending_of(sender) if r.nonce == nonce), None)
        if same is not None and fee <= same.fee:
            _reject("ConflictingNonceInMempool", txid)
        if same is None and len(self.pending_of(sender)) >= MAX_CHAINED:
            _reject("TooMuchChaining", txid, {"max_nonce": expected + MAX_CHAINED})
        self._check_call(payload, txid)
        if same is not None:
            same.status, same.replaced_by = "dropped_replace_by_fee", txid
            self.mempool.remove(same.txid)
        self.txs[txid] = FakeTx(txid, tx, payload, sender, receipt_time=int(time.time()))
        self.mempool.append(txid)
        return txid

    def contracts(self) -> set[str]:
        """Contracts deployed on this chain: the gateway, and the sBTC contracts (the devnet's
        simnet has sbtc-token, sbtc-registry and sbtc-deposit)."""
        token_address = self.network.sbtc_token.split(".")[0]
        sbtc = {f"{token_address}.{n}" for n in ("sbtc-token", "sbtc-registry", "sbtc-deposit")}
        return {self.contract_id, *sbtc}

    def _check_call(self, payload: ContractCallPayload, txid: str) -> None:
        target, name = payload.contract_id, payload.function_name
        if target not in self.contracts():
            _reject("NoSuchContract", txid)
        if target != self.contract_id or name in contract.NOT_MODELLED:
            _reject("ServerFailureOther", txid, {"message": f"{target}::{name}: not modelled"})
        params = contract.PUBLIC.get(name)
        if params is None:
            _reject("NoSuchPublicFunction", txid)
        assert params is not None
        if len(params) != len(payload.args):
            message = f"expected {len(params)} arguments, got {len(payload.args)}"
            _reject("BadFunctionArgument", txid, {"message": message})
        for (arg, kind), value in zip(params, payload.args, strict=True):
            problem = contract.type_mismatch(value, kind)
            if problem is None and kind == "trait_reference":
                assert isinstance(value, ContractPrincipal)
                if value.contract_id not in self.contracts():
                    problem = f"no such contract {value.contract_id}"
            if problem is not None:
                _reject("BadFunctionArgument", txid, {"message": f"argument {arg}: {problem}"})

    # --- mining -------------------------------------------------------------------------------

    def _mineable(self) -> list[FakeTx]:
        """Pending transactions that can be mined now: each sender's nonces in a row from its
        confirmed nonce (in nonce order), senders interleaved in arrival order."""
        queues: dict[str, list[FakeTx]] = {}
        for record in sorted((self.txs[t] for t in list(self.mempool)), key=lambda r: r.nonce):
            if record.txid in self.held:
                continue
            confirmed = self.confirmed_nonce(record.sender)
            queue = queues.setdefault(record.sender, [])
            if record.nonce < confirmed:  # a stale sibling, e.g. re-queued by a reorg
                record.status = "dropped_stale_garbage_collect"
                self.mempool.remove(record.txid)
            elif record.nonce == confirmed + len(queue):
                queue.append(record)
        runs = {sender: iter(queue) for sender, queue in queues.items()}
        members = {r.txid for queue in queues.values() for r in queue}
        return [next(runs[self.txs[t].sender]) for t in self.mempool if t in members]

    def _mine_block(self, *, include_mempool: bool) -> FakeBlock:
        chosen = self._mineable() if include_mempool else []
        height = len(self.blocks)
        for record in chosen:
            self._execute(record, height)
        block = self._push_block([r.txid for r in chosen])
        for index, record in enumerate(chosen):
            record.block, record.tx_index = block, index
            self._nonces[record.sender] = record.nonce + 1
            self.mempool.remove(record.txid)
        return block

    def _execute(self, record: FakeTx, height: int) -> None:
        trial = copy.deepcopy(self.state)
        args = record.payload.args
        outcome = contract.execute(trial, record.sender, record.payload.function_name, args, height)
        record.result = outcome.result
        if isinstance(outcome.result, Err):
            record.status, record.events = "abort_by_response", ()
            return
        failure = self._post_condition_failure(record, outcome.events)
        if failure is not None:
            # The call's result stays (ok …); its effects are undone, as stacks-core does.
            record.status, record.events, record.vm_error = "abort_by_post_condition", (), failure
            return
        record.status, record.events = "success", outcome.events
        self.state = trial

    def _post_condition_failure(
        self, record: FakeTx, events: Sequence[ContractEvent]
    ) -> str | None:
        """None when the post-conditions hold for what the call moved, else the vm_error."""
        asset = self.sbtc_asset_id
        moves = [(e.sender, asset, e.amount) for e in events if isinstance(e, FtTransfer)]
        covered: set[tuple[str, str]] = set()
        for condition in record.tx.post_conditions:
            who = record.sender if isinstance(condition.principal, OriginPrincipal) else None
            who = who or str(condition.principal)
            if isinstance(condition, NonFungiblePostCondition):
                covered.add((who, str(condition.asset)))
                if condition.condition == NonFungibleConditionCode.SENT:  # no NFT ever moves
                    return f"Post-condition check failure on non-fungible asset {condition.asset}"
                continue
            what = "STX" if isinstance(condition, StxPostCondition) else str(condition.asset)
            assert isinstance(condition, StxPostCondition | FungiblePostCondition)
            sent = sum(amount for s, a, amount in moves if s == who and a == what)
            covered.add((who, what))
            if not _COMPARE[condition.condition](sent, condition.amount):
                code = condition.condition.name.lower()
                kind = "STX" if what == "STX" else f"fungible asset {what}"
                return (
                    f"Post-condition check failure on {kind} owned by {who}: "
                    f"{sent} sent, condition {code} {condition.amount}"
                )
        mode = record.tx.post_condition_mode
        if mode == PostConditionMode.ALLOW:
            return None
        for sender, what, amount in moves:
            if mode == PostConditionMode.ORIGINATOR and sender != record.sender:
                continue
            if (sender, what) not in covered:
                return (
                    f"Post-condition check failure: {sender} sent {amount} of {what} "
                    "not covered by a post-condition in deny mode"
                )
        return None


def _is_a_chain_source(chain: FakeChain) -> ChainSource:
    return chain  # the static proof: mypy checks this file (pyproject.toml)
