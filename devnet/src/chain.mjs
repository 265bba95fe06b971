// The devnet chain: a Clarinet SDK simnet (the real Clarity VM, with the real sBTC contracts) plus
// everything a node does that the simnet does not: a mempool, signature / chain id / nonce / fee
// checks, post-conditions, blocks with hashes, burn blocks, and reorgs.
//
// The simnet cannot undo anything. The chain therefore keeps a log of every state-changing step
// (deploys, blocks, burn blocks, faucet mints) and, when a step must be undone (a post-condition
// abort, a runtime error, a reorg), builds a fresh simnet and replays the log up to the wanted
// point. One devnet block is always exactly one simnet block, so `stacks-block-height` inside
// contracts equals the height the API reports.
//
// With a state folder (`opts.stateDir`) the same log is kept on disk after every change
// (`state.mjs`) and replayed at start: a restarted devnet continues the same chain, with the same
// heights, hashes, times, txids, balances and contract state.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  AddressHashMode,
  AuthType,
  ClarityType,
  ClarityVersion,
  PayloadType,
  PostConditionMode,
  addressToString,
  deserializeCV,
  deserializeTransaction,
  serializeCV,
} from '@stacks/transactions';
import { c32address } from 'c32check';
import { typeMismatch } from './clarity.mjs';
import { checkPostConditions } from './postconditions.mjs';
import { StateError, StateStore } from './state.mjs';

export const CHAIN_ID = 0x80000000;

function isDeploy(record) {
  const type = record.wire.payload.payloadType;
  return type === PayloadType.SmartContract || type === PayloadType.VersionedSmartContract;
}

/**
 * A transaction the simnet executed: its status, result and events. A deploy that ran yields the
 * bare value `true` from the simnet; a node reports it as `success` with `(ok true)`. Contract
 * calls report their own response.
 */
function executedOutcome(record, res) {
  const deploy = isDeploy(record);
  const ok = deploy || res.result.type === 'ok';
  record.status = ok ? 'success' : 'abort_by_response';
  record.result = deploy ? DEPLOYED : res.result;
  record.events = ok ? res.events : [];
  record.vm_error = null;
}
export const TX_VERSION_TESTNET = 0x80;
export const SBTC_CONTRACT = 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token';
export const SBTC_ASSET = `${SBTC_CONTRACT}::sbtc-token`;
/** stacks-core's minimum relay fee: 1 µSTX per byte of the serialized transaction. */
export const MIN_FEE_RATE = 1n;
/** Pending transactions one sender may chain in the mempool (stacks-core allows 25). */
export const MAX_CHAINED = 25;
/** Dropped transactions that the same bytes, broadcast again, bring back to the mempool. */
const READMITTABLE = new Set(['dropped_replace_by_fee', 'dropped_replace_across_fork']);
/**
 * Why stacks-core cannot put a transaction in a block although its mempool admits it, or null.
 * Its admission checks do not look at a token transfer's post-conditions, while executing one
 * that carries any fails (`process_transaction_payload`): the miner skips it, and it stays
 * pending, with the sender's later nonces behind it, until it is replaced by fee.
 */
export function unmineable(wire) {
  if (wire.payload.payloadType === PayloadType.TokenTransfer && wire.postConditions.values.length > 0) {
    return 'Invalid Stacks transaction: TokenTransfer transactions do not support post-conditions';
  }
  return null;
}
/** Seconds the SDK's simnet clock runs ahead of its start instant after booting this manifest. */
const GENESIS_CLOCK_OFFSET_S = 1210;

export class Rejection extends Error {
  constructor(reason, reasonData, txid, status = 400) {
    super(reason);
    this.reason = reason;
    this.reasonData = reasonData;
    this.txid = txid;
    this.status = status;
  }
  toJSON() {
    const body = { error: 'transaction rejected', reason: this.reason };
    if (this.reasonData !== undefined) body.reason_data = this.reasonData;
    body.txid = this.txid;
    return body;
  }
}

/** A reorg request that cannot be carried out (the chain is left as it was). */
export class InvalidReorg extends Error {}

export { StateError };

/** The result a deploy reports (the simnet yields a bare `true`; a node says `(ok true)`). */
const DEPLOYED = { type: ClarityType.ResponseOk, value: { type: ClarityType.BoolTrue } };

/** The Clarinet SDK's version (recorded with a saved chain: another version may replay it differently). */
function sdkVersion(manifestDir) {
  try {
    return JSON.parse(readFileSync(resolve(manifestDir, 'node_modules', '@stacks', 'clarinet-sdk', 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

const sha256hex = (s) => '0x' + createHash('sha256').update(s).digest('hex');
const hexCache = new WeakMap();
/** A Clarity value's serialization (cached: mined results do not change). */
function hexOf(cv) {
  let hex = hexCache.get(cv);
  if (hex === undefined) {
    hex = serializeCV(cv);
    hexCache.set(cv, hex);
  }
  return hex;
}

/** A transaction record as the chain keeps it, `pending` until mined. */
function newRecord(bytes, wire) {
  const sc = wire.auth.spendingCondition;
  return {
    txid: wire.txid(),
    raw: Buffer.from(bytes).toString('hex'),
    wire,
    sender: senderAddress(sc),
    nonce: Number(sc.nonce),
    fee: BigInt(sc.fee),
    size: bytes.length,
    status: 'pending',
    receipt_time: 0,
    block: null,
    tx_index: null,
    result: null,
    events: [],
    vm_error: null,
  };
}

function senderAddress(spendingCondition) {
  // Testnet single-sig (P2PKH/P2WPKH) → ST…; multisig hash modes → SN….
  const single = spendingCondition.hashMode === AddressHashMode.P2PKH || spendingCondition.hashMode === AddressHashMode.P2WPKH;
  return c32address(single ? 26 : 21, spendingCondition.signer);
}

/**
 * Runs a simnet call with console output swallowed: the SDK echoes every `print` and mint to
 * stdout, which would interleave with the devnet's own one-line ready message and logs.
 */
function silently(fn) {
  const saved = [console.log, console.info, console.warn, console.error];
  console.log = console.info = console.warn = console.error = () => {};
  try {
    return fn();
  } finally {
    [console.log, console.info, console.warn, console.error] = saved;
  }
}

async function silentlyAsync(fn) {
  const saved = [console.log, console.info, console.warn, console.error];
  console.log = console.info = console.warn = console.error = () => {};
  try {
    return await fn();
  } finally {
    [console.log, console.info, console.warn, console.error] = saved;
  }
}

/** The Clarinet SDK module, imported lazily. */
let sdk = null;
const simTx = {
  transferSTX: (...a) => sdk.tx.transferSTX(...a),
  callPublicFn: (...a) => sdk.tx.callPublicFn(...a),
  deployContract: (...a) => sdk.tx.deployContract(...a),
};

/** A serialized-queue lock: every state change runs one at a time. */
class Lock {
  #tail = Promise.resolve();
  run(fn) {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => {});
    return next;
  }
}

const ORIGINAL_DATE = globalThis.Date;
const simnetInitLock = new Lock();

export class Chain {
  /**
   * @param {object} opts
   * @param {string} opts.manifestDir  folder holding Clarinet.toml
   * @param {string|null} opts.contractPath  gateway contract to deploy (optional)
   * @param {string} [opts.contractName]
   * @param {string|null} [opts.clarityVersion]  e.g. "3"; default: the SDK's default for the epoch
   * @param {Array} opts.accounts  [{name,address,private_key}]
   * @param {(msg:string)=>void} [opts.log]
   */
  constructor(opts) {
    this.opts = opts;
    this.log = opts.log ?? (() => {});
    this.lock = new Lock();
    this.accounts = opts.accounts;
    this.deployer = opts.accounts.find((a) => a.name === 'deployer');
    this.simnet = null;
    this.genesisHeight = 0;
    this.genesisBurnHeight = 0;
    /** canonical blocks, index = height */
    this.blocks = [];
    /** every block ever made (orphans too), by hash and index hash */
    this.blockByHash = new Map();
    /** replay log per height: {kind:'txs', simTxs:[…]} | {kind:'burn'} | {kind:'deploy', …} */
    this.steps = [];
    /** faucet mints: {height, address, stx, sbtc} applied after the block at `height` */
    this.mints = [];
    /** txid → record */
    this.txs = new Map();
    /** pending txids in arrival order */
    this.mempool = [];
    /** confirmed next nonce per address */
    this.nonces = new Map();
    this.forkCounter = 0;
    /** burn height → time of its tenure's first block */
    this.burnTimes = new Map();
    this.deployedContracts = [];
    this.gatewayContractId = null;
    this.listeners = new Set();
    this.stats = { rebuilds: 0, rebuildMs: 0 };
    /** where the chain is kept between runs (null: in memory only) */
    this.store = opts.stateDir ? new StateStore(opts.stateDir) : null;
    /** random, drawn when the chain is created: every chain's block hashes differ */
    this.chainId = null;
    this.createdAt = null;
    /** true when init() continued a saved chain */
    this.resumed = false;
    /** false when the contract file differs from the contract the saved chain deployed */
    this.contractMatchesFile = null;
  }

  onBlock(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  #emit(event) {
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch (err) {
        this.log(`listener failed: ${err.message}`);
      }
    }
  }

  /**
   * A fresh simnet at genesis. The simnet reads the wall clock once, at start, and from then on
   * advances its block time by fixed steps (600 s per burn block, 10 s per Stacks block within a
   * tenure); the
   * clock is pinned to the devnet's genesis instant so every rebuilt simnet replays with exactly
   * the same block times (`stacks-block-time`) as the original run.
   */
  #newSimnet() {
    // One at a time per process: the clock pin and the working directory are process-global.
    return simnetInitLock.run(() => this.#newSimnetNow());
  }

  async #newSimnetNow() {
    // Loaded on first use: importing the SDK compiles its large WebAssembly module.
    sdk ??= await import('@stacks/clarinet-sdk');
    const simnet = await sdk.getSDK();
    const cwd = process.cwd();
    const RealDate = ORIGINAL_DATE;
    const fixed = this.genesisClockMs;
    class GenesisDate extends RealDate {
      constructor(...args) {
        if (args.length) super(...args);
        else super(fixed);
      }
      static now() {
        return fixed;
      }
    }
    try {
      process.chdir(this.opts.manifestDir);
      globalThis.Date = GenesisDate;
      await silentlyAsync(() => simnet.initSession(this.opts.manifestDir, './Clarinet.toml', null));
    } finally {
      globalThis.Date = RealDate;
      process.chdir(cwd);
    }
    return simnet;
  }

  /** The chain's clock: the simnet's time of the last block (what `stacks-block-time` sees). */
  #clock() {
    return Number(this.simnet.getBlockTime());
  }

  async init() {
    if (this.store) {
      this.store.lock();
      const saved = this.store.load();
      if (saved) {
        await this.#resume(saved);
        return;
      }
    }
    this.chainId = randomBytes(16).toString('hex');
    this.createdAt = Date.now();
    // Start the simnet's clock so that its tip time is "now"; the SDK adds a fixed amount for the
    // genesis blocks (1210 s with this manifest), corrected below if that ever changes.
    const startSec = Math.floor(Date.now() / 1000);
    this.genesisClockMs = (startSec - GENESIS_CLOCK_OFFSET_S) * 1000;
    this.simnet = await this.#newSimnet();
    const drift = this.#clock() - startSec;
    if (Math.abs(drift) > 5) {
      this.genesisClockMs -= drift * 1000;
      this.simnet = await this.#newSimnet();
    }
    this.genesisHeight = this.simnet.stacksBlockHeight;
    this.genesisBurnHeight = this.simnet.burnBlockHeight;
    const now = this.#clock();
    for (let h = 0; h <= this.genesisHeight; h++) {
      this.#pushBlock({ height: h, burnHeight: Math.min(h, this.genesisBurnHeight), txids: [], time: now, tenureChange: true });
      this.steps[h] = { kind: 'genesis' };
    }
    if (this.opts.contractPath) {
      const path = resolve(this.opts.contractPath);
      if (existsSync(path)) {
        const name = this.opts.contractName || basename(path).replace(/\.clar$/, '');
        const source = readFileSync(path, 'utf8');
        const version = this.opts.clarityVersion ? Number(this.opts.clarityVersion) : null;
        const step = { kind: 'deploy', name, source, version, sender: this.deployer.address };
        try {
          this.#runDeploy(this.simnet, step);
        } catch (err) {
          throw new Error(`deploying the gateway contract ${path} failed: ${err.message ?? err}`);
        }
        this.#invalidateInterfaces();
        this.steps[this.tipHeight + 1] = step;
        this.#pushBlock({ height: this.tipHeight + 1, burnHeight: this.burnHeight, txids: [], time: this.#clock(), tenureChange: false });
        this.gatewayContractId = `${this.deployer.address}.${name}`;
        this.deployedContracts.push(this.gatewayContractId);
        this.contractMatchesFile = true;
        this.log(`deployed ${this.gatewayContractId} from ${path}`);
      } else {
        this.log(`gateway contract not found at ${path}: running without it`);
      }
    }
    this.#assertInSync();
    this.#persist();
    if (this.store) this.log(`new chain ${this.chainId}, kept in ${this.store.dir}`);
  }

  /** Lets go of the state folder (the chain stays in it). */
  close() {
    this.store?.unlock();
  }

  #runDeploy(simnet, step) {
    const options = step.version ? { clarityVersion: step.version } : null;
    const res = silently(() => simnet.deployContract(step.name, step.source, options, step.sender));
    return res;
  }

  get tipHeight() {
    return this.blocks.length - 1;
  }
  get tip() {
    return this.blocks[this.blocks.length - 1];
  }
  get burnHeight() {
    return this.tip.burn_block_height;
  }

  #assertInSync() {
    if (this.simnet.stacksBlockHeight !== this.tipHeight) {
      throw new Error(`simnet at height ${this.simnet.stacksBlockHeight}, devnet at ${this.tipHeight}`);
    }
  }

  #burnHash(burnHeight) {
    return sha256hex(`burn:${burnHeight}:${this.forkCounter}:${this.chainId}`);
  }

  #pushBlock({ height, burnHeight, txids, time, tenureChange }) {
    const parent = this.blocks[height - 1];
    const burnHash = this.#burnHash(burnHeight);
    const hash = sha256hex(`block:${height}:${parent?.hash ?? ''}:${txids.join(',')}:${this.forkCounter}:${time}:${this.chainId}`);
    const block = {
      height,
      hash,
      index_block_hash: sha256hex(`index:${hash}:${burnHash}`),
      parent_block_hash: parent?.hash ?? '0x' + '00'.repeat(32),
      parent_index_block_hash: parent?.index_block_hash ?? '0x' + '00'.repeat(32),
      burn_block_height: burnHeight,
      burn_block_hash: burnHash,
      burn_block_time: tenureChange || !this.burnTimes.has(burnHeight) ? time : this.burnTimes.get(burnHeight),
      tenure_height: burnHeight,
      tenure_change: tenureChange,
      block_time: time,
      txids,
      canonical: true,
      miner_txid: sha256hex(`miner:${burnHeight}:${this.forkCounter}:${this.chainId}`),
    };
    this.blocks[height] = block;
    if (tenureChange || !this.burnTimes.has(burnHeight)) this.burnTimes.set(burnHeight, block.burn_block_time);
    this.blockByHash.set(hash, block);
    this.blockByHash.set(block.index_block_hash, block);
    return block;
  }

  // ---------------------------------------------------------------- reads

  /** Contract interfaces, cached: building them in the SDK costs ~15 ms (all boot contracts). */
  contractInterfaces() {
    if (!this.ifaceCache || this.ifaceCache.simnet !== this.simnet) {
      this.ifaceCache = { simnet: this.simnet, map: this.simnet.getContractsInterfaces() };
    }
    return this.ifaceCache.map;
  }

  #invalidateInterfaces() {
    this.ifaceCache = null;
  }

  contractExists(contractId) {
    return this.contractInterfaces().has(contractId);
  }

  stxBalance(address) {
    return this.simnet.getAssetsMap().get('STX')?.get(address) ?? 0n;
  }

  /** {"addr.contract::asset": bigint} for every fungible token the address holds. */
  ftBalances(address) {
    const out = {};
    const assets = this.simnet.getAssetsMap();
    const byShortKey = new Map();
    for (const [contractId, iface] of this.contractInterfaces()) {
      for (const ft of iface.fungible_tokens) {
        const [, name] = contractId.split('.');
        byShortKey.set(`.${name}.${ft.name}`, `${contractId}::${ft.name}`);
        byShortKey.set(`${contractId}.${ft.name}`, `${contractId}::${ft.name}`);
      }
    }
    for (const [key, holders] of assets) {
      if (key === 'STX') continue;
      const id = byShortKey.get(key);
      const bal = holders.get(address);
      if (id && bal !== undefined) out[id] = bal;
    }
    return out;
  }

  confirmedNonce(address) {
    return this.nonces.get(address) ?? 0;
  }

  /** Next nonce counting this sender's pending transactions that chain on the confirmed one. */
  possibleNextNonce(address) {
    let next = this.confirmedNonce(address);
    const pending = new Set(this.mempool.map((id) => this.txs.get(id)).filter((r) => r.sender === address).map((r) => r.nonce));
    while (pending.has(next)) next++;
    return next;
  }

  pendingNonces(address) {
    return this.mempool
      .map((id) => this.txs.get(id))
      .filter((r) => r.sender === address)
      .map((r) => r.nonce)
      .sort((a, b) => a - b);
  }

  callReadOnly(contractId, fn, args, sender) {
    return silently(() => this.simnet.callReadOnlyFn(contractId, fn, args, sender));
  }

  // ---------------------------------------------------------------- admission

  /** Checks a raw transaction as a node's mempool would; adds it as pending; returns the txid. */
  submit(bytes) {
    let wire;
    let txid = '';
    try {
      wire = deserializeTransaction(bytes);
      txid = wire.txid();
    } catch (err) {
      const fallback = createHash('sha512-256').update(bytes).digest('hex');
      throw new Rejection('Deserialization', { message: `Failed to deserialize transaction: ${err.message}` }, fallback);
    }
    if (this.txs.has(txid) && !READMITTABLE.has(this.txs.get(txid).status)) {
      // stacks-core answers a duplicate with the txid again (it is already known).
      return txid;
    }
    if (wire.transactionVersion !== TX_VERSION_TESTNET || wire.chainId !== CHAIN_ID) {
      throw new Rejection('BadTransactionVersion', undefined, txid);
    }
    if (wire.auth.authType !== AuthType.Standard) {
      throw new Rejection('ServerFailureOther', { message: 'sponsored transactions are not supported by the devnet' }, txid);
    }
    try {
      wire.verifyOrigin();
    } catch (err) {
      throw new Rejection('SignatureValidation', { message: err.message }, txid);
    }
    const sc = wire.auth.spendingCondition;
    const sender = senderAddress(sc);
    const nonce = Number(sc.nonce);
    const fee = BigInt(sc.fee);
    const payload = wire.payload;

    if (payload.payloadType === PayloadType.Coinbase || payload.payloadType === PayloadType.CoinbaseToAltRecipient || payload.payloadType === PayloadType.NakamotoCoinbase) {
      throw new Rejection('NoCoinbaseViaMempool', undefined, txid);
    }
    if (payload.payloadType === PayloadType.TenureChange || payload.payloadType === PayloadType.PoisonMicroblock) {
      throw new Rejection('ServerFailureOther', { message: 'transaction type not accepted via the mempool' }, txid);
    }

    const size = BigInt(bytes.length);
    const minFee = size * MIN_FEE_RATE;
    if (fee < minFee) {
      throw new Rejection('FeeTooLow', { expected: Number(minFee), actual: Number(fee) }, txid);
    }

    const expected = this.confirmedNonce(sender);
    if (nonce < expected) {
      throw new Rejection('BadNonce', { expected, actual: nonce, is_origin: true, principal: sender }, txid);
    }
    const pendingSame = this.mempool.map((id) => this.txs.get(id)).find((r) => r.sender === sender && r.nonce === nonce);
    if (pendingSame && fee <= pendingSame.fee) {
      throw new Rejection('ConflictingNonceInMempool', undefined, txid);
    }
    if (!pendingSame && this.pendingNonces(sender).length >= MAX_CHAINED) {
      throw new Rejection('TooMuchChaining', { max_nonce: expected + MAX_CHAINED, actual_nonce: nonce, principal: sender, is_origin: true, message: 'too many pending transactions' }, txid);
    }

    let spend = fee;
    if (payload.payloadType === PayloadType.TokenTransfer) {
      const recipient = payload.recipient.value;
      if (recipient === sender) throw new Rejection('TransferRecipientCannotEqualSender', { recipient }, txid);
      if (payload.amount <= 0n) throw new Rejection('TransferAmountMustBePositive', undefined, txid);
      spend += payload.amount;
    }
    const balance = this.stxBalance(sender);
    if (balance < spend) {
      const u128 = (v) => '0x' + v.toString(16).padStart(32, '0');
      throw new Rejection('NotEnoughFunds', { expected: u128(spend), actual: u128(balance) }, txid);
    }

    if (payload.payloadType === PayloadType.ContractCall) {
      const contractId = `${addressToString(payload.contractAddress)}.${payload.contractName.content}`;
      const iface = this.contractInterfaces().get(contractId);
      if (!iface) throw new Rejection('NoSuchContract', undefined, txid);
      const fn = iface.functions.find((f) => f.name === payload.functionName.content && f.access === 'public');
      if (!fn) throw new Rejection('NoSuchPublicFunction', undefined, txid);
      if (fn.args.length !== payload.functionArgs.length) {
        throw new Rejection('BadFunctionArgument', { message: `expected ${fn.args.length} arguments, got ${payload.functionArgs.length}` }, txid);
      }
      for (let i = 0; i < fn.args.length; i++) {
        const m = typeMismatch(payload.functionArgs[i], fn.args[i].type);
        if (m) throw new Rejection('BadFunctionArgument', { message: `argument ${fn.args[i].name}: ${m}` }, txid);
        if (fn.args[i].type === 'trait_reference' && !this.contractExists(payload.functionArgs[i].value)) {
          throw new Rejection('BadFunctionArgument', { message: `argument ${fn.args[i].name}: no such contract ${payload.functionArgs[i].value}` }, txid);
        }
      }
    }
    if (payload.payloadType === PayloadType.SmartContract || payload.payloadType === PayloadType.VersionedSmartContract) {
      const contractId = `${sender}.${payload.contractName.content}`;
      if (this.contractExists(contractId) || this.#pendingDeploy(contractId)) {
        throw new Rejection('ContractAlreadyExists', { contract_identifier: contractId }, txid);
      }
    }

    if (pendingSame) {
      pendingSame.status = 'dropped_replace_by_fee';
      pendingSame.replaced_by_tx_id = txid;
      this.mempool = this.mempool.filter((id) => id !== pendingSame.txid);
    }
    const record = { ...newRecord(bytes, wire), receipt_time: Math.floor(Date.now() / 1000) };
    this.txs.set(txid, record);
    this.mempool.push(txid);
    this.#persist();
    this.#emit({ type: 'mempool', txs: [record] });
    return txid;
  }

  #pendingDeploy(contractId) {
    return this.mempool.some((id) => {
      const r = this.txs.get(id);
      const p = r.wire.payload;
      return (p.payloadType === PayloadType.SmartContract || p.payloadType === PayloadType.VersionedSmartContract) && `${r.sender}.${p.contractName.content}` === contractId;
    });
  }

  // ---------------------------------------------------------------- mining

  #toSimTx(record) {
    const p = record.wire.payload;
    switch (p.payloadType) {
      case PayloadType.TokenTransfer:
        return simTx.transferSTX(Number(p.amount), p.recipient.value, record.sender);
      case PayloadType.ContractCall:
        return simTx.callPublicFn(`${addressToString(p.contractAddress)}.${p.contractName.content}`, p.functionName.content, p.functionArgs, record.sender);
      case PayloadType.SmartContract:
        return simTx.deployContract(p.contractName.content, p.codeBody.content, null, record.sender);
      case PayloadType.VersionedSmartContract:
        return simTx.deployContract(p.contractName.content, p.codeBody.content, { clarityVersion: p.clarityVersion ?? ClarityVersion.Clarity2 }, record.sender);
      default:
        throw new Error(`unsupported payload ${p.payloadType}`);
    }
  }

  /** Pending transactions that can go into the next block: nonce-contiguous per sender, fee order. */
  /**
   * Whether mining a block now would do anything: a mempool transaction can go in, or a stale
   * one would be dropped. (Transactions that wait — a nonce gap, one no block can take — do not
   * make the timer mine empty blocks.)
   */
  hasWork() {
    return this.#selectMineable(1, { dryRun: true }).length > 0;
  }

  #selectMineable(limit, { dryRun = false } = {}) {
    const bySender = new Map();
    for (const id of this.mempool) {
      const r = this.txs.get(id);
      if (!bySender.has(r.sender)) bySender.set(r.sender, []);
      bySender.get(r.sender).push(r);
    }
    const chosen = [];
    for (const [sender, list] of bySender) {
      list.sort((a, b) => a.nonce - b.nonce);
      let next = this.confirmedNonce(sender);
      for (const r of list) {
        if (r.nonce < next) {
          if (dryRun) return [r];
          // A stale nonce (e.g. after a reorg re-queued a replaced sibling): drop it.
          r.status = 'dropped_stale_garbage_collect';
          this.mempool = this.mempool.filter((id) => id !== r.txid);
          continue;
        }
        if (r.nonce !== next) break;
        const invalid = unmineable(r.wire);
        if (invalid) {
          if (!r.skipLogged && !dryRun) this.log(`not mining 0x${r.txid}: ${invalid}`);
          r.skipLogged ||= !dryRun;
          break;
        }
        chosen.push(r);
        next++;
      }
    }
    // Arrival order keeps per-sender nonce order (a sender's lower nonce usually arrives first);
    // enforce it explicitly.
    const order = new Map(this.mempool.map((id, i) => [id, i]));
    chosen.sort((a, b) => (a.sender === b.sender ? a.nonce - b.nonce : order.get(a.txid) - order.get(b.txid)));
    return chosen.slice(0, limit);
  }

  /** Mines one block with the mempool's mineable transactions (possibly none). */
  mineBlock({ includeMempool = true, maxTxs = 5000 } = {}) {
    return this.lock.run(() => this.#mineBlock(includeMempool, maxTxs));
  }

  /** Mines one burn (Bitcoin) block: a new tenure, with its tenure-change Stacks block. */
  mineBurnBlock() {
    return this.lock.run(() => this.#mineBurnBlock());
  }

  /** Mines `blocks` blocks (the first takes the mempool) then `burnBlocks` burn blocks. */
  mine({ blocks = 1, burnBlocks = 0 } = {}) {
    return this.lock.run(async () => {
      const made = [];
      for (let i = 0; i < blocks; i++) made.push(await this.#mineBlock(true, 5000));
      for (let i = 0; i < burnBlocks; i++) made.push(await this.#mineBurnBlock());
      return made;
    });
  }

  async #mineBurnBlock() {
    silently(() => this.simnet.mineEmptyBurnBlock());
    const height = this.tipHeight + 1;
    this.steps[height] = { kind: 'burn' };
    const block = this.#pushBlock({ height, burnHeight: this.burnHeight + 1, txids: [], time: this.#clock(), tenureChange: true });
    this.#assertInSync();
    this.#persist();
    this.#emit({ type: 'block', block, txs: [], parent: this.blocks[block.height - 1] });
    return block;
  }

  async #mineBlock(includeMempool, maxTxs) {
    let candidates = includeMempool ? this.#selectMineable(maxTxs) : [];
    const aborted = new Map(); // txid → {status, vm_error, result}
    let results = null;
    // Execute; when some transaction must not change state (post-condition failure, runtime
    // error), rebuild the pre-block state and execute the block again without it.
    for (;;) {
      const executed = candidates.filter((r) => !aborted.has(r.txid));
      let threw = null;
      try {
        results = silently(() => this.simnet.mineBlock(executed.map((r) => this.#toSimTx(r))));
      } catch (err) {
        threw = err;
      }
      if (threw) {
        // The simnet stops a whole block on a runtime error; find the culprit by running the
        // transactions one by one on a scratch simnet rebuilt at this height.
        // The simnet names the failing call in its message; when that is ambiguous, find the
        // culprit by running the transactions one by one on a rebuilt simnet.
        await this.#rebuild(this.tipHeight);
        let culprit = this.#culpritFromMessage(executed, threw);
        if (!culprit) {
          culprit = await this.#findRuntimeError(executed);
          await this.#rebuild(this.tipHeight);
        }
        aborted.set(culprit.record.txid, { status: 'abort_by_response', vm_error: culprit.message, result: null });
        continue;
      }
      let violation = false;
      executed.forEach((r, i) => {
        const res = results[i];
        // stacks-core checks post-conditions of contract calls and deploys only, and only when
        // the transaction did not already abort by response.
        if (res.result.type !== 'ok' || r.wire.payload.payloadType === PayloadType.TokenTransfer) return;
        const failure = checkPostConditions(r.wire, r.sender, res.events);
        if (failure) {
          aborted.set(r.txid, { status: 'abort_by_post_condition', vm_error: failure, result: res.result });
          violation = true;
        }
      });
      if (!violation) {
        const height = this.tipHeight + 1;
        const block = this.#pushBlock({ height, burnHeight: this.burnHeight, txids: candidates.map((r) => r.txid), time: this.#clock(), tenureChange: false });
        this.steps[height] = { kind: 'txs', records: executed };
        const byId = new Map(executed.map((r, i) => [r.txid, results[i]]));
        candidates.forEach((r, index) => {
          r.block = block;
          r.tx_index = index;
          const ab = aborted.get(r.txid);
          if (ab) {
            r.status = ab.status;
            r.result = ab.result ?? { type: 'none' };
            r.events = [];
            r.vm_error = ab.vm_error;
          } else {
            executedOutcome(r, byId.get(r.txid));
          }
          this.nonces.set(r.sender, r.nonce + 1);
        });
        if (executed.some(isDeploy)) {
          this.#invalidateInterfaces();
        }
        const mined = new Set(candidates.map((r) => r.txid));
        this.mempool = this.mempool.filter((id) => !mined.has(id));
        this.#assertInSync();
        this.#persist();
        this.#emit({ type: 'block', block, txs: candidates, parent: this.blocks[block.height - 1] });
        return block;
      }
      await this.#rebuild(this.tipHeight);
    }
  }

  #culpritFromMessage(records, err) {
    const message = String(err?.message ?? err);
    const m = message.match(/Call contract function error: (\S+)::([^(\s]+)\(/);
    if (!m) return null;
    const matches = records.filter((r) => {
      const p = r.wire.payload;
      return p.payloadType === PayloadType.ContractCall && `${addressToString(p.contractAddress)}.${p.contractName.content}` === m[1] && p.functionName.content === m[2];
    });
    return matches.length === 1 ? { record: matches[0], message: message.split('\n')[0] } : null;
  }

  async #findRuntimeError(records) {
    for (const r of records) {
      try {
        silently(() => this.simnet.mineBlock([this.#toSimTx(r)]));
      } catch (err) {
        return { record: r, message: String(err.message ?? err).split('\n')[0] };
      }
    }
    return { record: records[records.length - 1], message: 'runtime error' };
  }

  // ---------------------------------------------------------------- faucet

  faucet({ address, stx = 0n, sbtc = 0n }) {
    return this.lock.run(() => {
      const mint = { height: this.tipHeight, address, stx: BigInt(stx), sbtc: BigInt(sbtc) };
      this.#applyMint(this.simnet, mint);
      this.mints.push(mint);
      this.#persist();
      return mint;
    });
  }

  #applyMint(simnet, mint) {
    if (mint.stx > 0n) silently(() => simnet.mintSTX(mint.address, mint.stx));
    if (mint.sbtc > 0n) silently(() => simnet.mintFT(`${SBTC_CONTRACT}.sbtc-token`, mint.address, mint.sbtc));
  }

  // ---------------------------------------------------------------- reorg and rebuild

  /**
   * Rolls back the last `depth` blocks; their transactions go back to the mempool, except the
   * txids in `drop`: those are lost with the fork (`dropped_replace_across_fork`), as when the
   * new fork's miner never saw them. Throws InvalidReorg (nothing changed) when a txid in `drop`
   * is not in one of the rolled-back blocks.
   */
  reorg(depth, drop = []) {
    return this.lock.run(async () => {
      const lowest = this.genesisHeight + (this.gatewayContractId ? 1 : 0);
      const forkHeight = Math.max(lowest, this.tipHeight - depth);
      const orphaned = this.blocks.slice(forkHeight + 1).reverse();
      const dropping = new Set(drop.map((t) => t.toLowerCase().replace(/^0x/, '')));
      const inOrphans = new Set(orphaned.flatMap((b) => b.txids));
      const stray = [...dropping].filter((t) => !inOrphans.has(t));
      if (stray.length) throw new InvalidReorg(`drop: not in a rolled-back block: ${stray.map((t) => '0x' + t).join(', ')}`);
      // What the orphaned blocks contained, as they were (for rollback payloads).
      const snapshot = new Map(orphaned.map((b) => [b.hash, b.txids.map((id) => ({ ...this.txs.get(id) }))]));
      const requeue = [];
      for (const block of orphaned) {
        block.canonical = false;
        for (const id of [...block.txids].reverse()) requeue.unshift(this.txs.get(id));
      }
      this.blocks.length = forkHeight + 1;
      this.steps.length = forkHeight + 1;
      for (const m of this.mints) if (m.height > forkHeight) m.height = forkHeight;
      this.forkCounter++;
      for (const r of requeue) {
        r.status = dropping.has(r.txid) ? 'dropped_replace_across_fork' : 'pending';
        r.block = null;
        r.tx_index = null;
        r.result = null;
        r.events = [];
        r.vm_error = null;
      }
      const kept = requeue.filter((r) => !dropping.has(r.txid));
      this.mempool = [...kept.map((r) => r.txid), ...this.mempool];
      await this.#rebuild(forkHeight);
      this.#recomputeNonces();
      this.#persist();
      this.#emit({ type: 'rollback', blocks: orphaned, txsOf: (b) => snapshot.get(b.hash) });
      return { forkHeight, orphaned };
    });
  }

  /**
   * Replays the log into `simnet` up to and including `height`. With `verify` (a saved chain
   * being resumed) each transaction's outcome is taken from the execution and checked against the
   * saved one, and each block's height and time against the saved block: a replay that differs
   * (another SDK version, another manifest) is refused rather than served as the same chain.
   */
  #replay(simnet, height, { verify = false } = {}) {
    const mintsAt = new Map();
    for (const m of this.mints) mintsAt.set(m.height, [...(mintsAt.get(m.height) ?? []), m]);
    for (let h = 0; h <= height; h++) {
      const step = this.steps[h];
      if (h > this.genesisHeight) {
        if (step.kind === 'deploy') this.#runDeploy(simnet, step);
        else if (step.kind === 'burn') silently(() => simnet.mineEmptyBurnBlock());
        else if (step.kind === 'txs') {
          const results = silently(() => simnet.mineBlock(step.records.map((r) => this.#toSimTx(r))));
          if (verify) step.records.forEach((r, i) => this.#verifyOutcome(r, results[i], h));
        }
        if (verify && (simnet.stacksBlockHeight !== h || Number(simnet.getBlockTime()) !== this.blocks[h].block_time)) {
          throw new StateError(
            `the saved chain does not replay: block ${h} comes out at height ${simnet.stacksBlockHeight}, time ${simnet.getBlockTime()}; saved: time ${this.blocks[h].block_time}`,
          );
        }
      }
      for (const m of mintsAt.get(h) ?? []) this.#applyMint(simnet, m);
    }
  }

  #verifyOutcome(record, res, height) {
    const saved = `${record.status} ${record.result ? hexOf(record.result) : ''}`;
    executedOutcome(record, res);
    const now = `${record.status} ${hexOf(record.result)}`;
    if (now !== saved) {
      throw new StateError(`the saved chain does not replay: transaction 0x${record.txid} in block ${height} comes out ${now}; saved: ${saved}`);
    }
  }

  // ---------------------------------------------------------------- on disk

  /** Writes the chain to the state folder (when there is one), before anyone is told of it. */
  #persist() {
    if (!this.store) return;
    const orphans = new Set();
    for (const b of this.blockByHash.values()) if (!b.canonical) orphans.add(b);
    this.store.save({
      chain_id: this.chainId,
      created_at: this.createdAt,
      sdk_version: sdkVersion(this.opts.manifestDir),
      genesis_clock_ms: this.genesisClockMs,
      genesis_height: this.genesisHeight,
      genesis_burn_height: this.genesisBurnHeight,
      fork_counter: this.forkCounter,
      steps: this.steps.map((step) => (step.kind === 'txs' ? { kind: 'txs', txids: step.records.map((r) => r.txid) } : step)),
      blocks: this.blocks,
      orphans: [...orphans],
      txs: [...this.txs.values()].map((r) => ({
        txid: r.txid,
        raw: r.raw,
        status: r.status,
        receipt_time: r.receipt_time,
        block: r.block?.hash ?? null,
        tx_index: r.tx_index,
        result: r.result ? hexOf(r.result) : null,
        vm_error: r.vm_error,
        replaced_by_tx_id: r.replaced_by_tx_id ?? null,
      })),
      mempool: this.mempool,
      mints: this.mints.map((m) => ({ height: m.height, address: m.address, stx: String(m.stx), sbtc: String(m.sbtc) })),
    });
  }

  /** Rebuilds the chain saved in the state folder: the same blocks, transactions and state. */
  async #resume(saved) {
    const t0 = Date.now();
    this.chainId = saved.chain_id;
    this.createdAt = saved.created_at;
    this.genesisClockMs = saved.genesis_clock_ms;
    this.forkCounter = saved.fork_counter;
    const sdk = sdkVersion(this.opts.manifestDir);
    if (saved.sdk_version !== sdk) this.log(`the saved chain was made with Clarinet SDK ${saved.sdk_version}, this is ${sdk}: replaying it, and checking every block`);
    const simnet = await this.#newSimnet();
    if (simnet.stacksBlockHeight !== saved.genesis_height) {
      throw new StateError(`the saved chain does not replay: genesis at height ${simnet.stacksBlockHeight}, saved ${saved.genesis_height}`);
    }
    this.genesisHeight = saved.genesis_height;
    this.genesisBurnHeight = saved.genesis_burn_height;
    this.blocks = saved.blocks;
    for (const b of [...saved.blocks, ...saved.orphans]) {
      this.blockByHash.set(b.hash, b);
      this.blockByHash.set(b.index_block_hash, b);
    }
    for (const b of this.blocks) if (b.tenure_change || !this.burnTimes.has(b.burn_block_height)) this.burnTimes.set(b.burn_block_height, b.burn_block_time);
    for (const t of saved.txs) {
      const bytes = Buffer.from(t.raw, 'hex');
      const record = newRecord(bytes, deserializeTransaction(bytes));
      Object.assign(record, {
        status: t.status,
        receipt_time: t.receipt_time,
        block: t.block ? this.blockByHash.get(t.block) : null,
        tx_index: t.tx_index,
        result: t.result ? deserializeCV(t.result) : null,
        vm_error: t.vm_error,
      });
      if (t.replaced_by_tx_id) record.replaced_by_tx_id = t.replaced_by_tx_id;
      this.txs.set(record.txid, record);
    }
    this.mempool = saved.mempool;
    this.mints = saved.mints.map((m) => ({ height: m.height, address: m.address, stx: BigInt(m.stx), sbtc: BigInt(m.sbtc) }));
    this.steps = saved.steps.map((step) => (step.kind === 'txs' ? { kind: 'txs', records: step.txids.map((id) => this.txs.get(id)) } : step));
    this.#replay(simnet, this.tipHeight, { verify: true });
    this.simnet = simnet;
    this.#recomputeNonces();
    const deploy = this.steps.find((step) => step.kind === 'deploy');
    if (deploy) {
      this.gatewayContractId = `${deploy.sender}.${deploy.name}`;
      this.deployedContracts.push(this.gatewayContractId);
    }
    this.#compareContractFile(deploy);
    this.#assertInSync();
    this.resumed = true;
    this.log(`chain ${this.chainId} resumed from ${this.store.dir}: height ${this.tipHeight}, ${this.txs.size} transactions, replayed in ${Date.now() - t0} ms`);
  }

  /** A saved chain keeps the contract it deployed; says so when the file has changed since. */
  #compareContractFile(deploy) {
    const path = this.opts.contractPath ? resolve(this.opts.contractPath) : null;
    if (!path || !existsSync(path)) return;
    const name = this.opts.contractName || basename(path).replace(/\.clar$/, '');
    const source = readFileSync(path, 'utf8');
    this.contractMatchesFile = !!deploy && deploy.name === name && deploy.source === source;
    if (!this.contractMatchesFile) {
      const kept = deploy ? `keeps ${this.gatewayContractId} as it was deployed at its start` : 'has no gateway contract';
      this.log(`${path} has changed since this chain began: the chain ${kept}, and the file is not deployed again. To run the new contract, start a new chain (move ${this.store.dir} away).`);
    }
  }

  #recomputeNonces() {
    this.nonces.clear();
    for (const block of this.blocks) {
      for (const id of block.txids) {
        const r = this.txs.get(id);
        this.nonces.set(r.sender, r.nonce + 1);
      }
    }
  }

  /** Fresh simnet replayed up to and including `height`. */
  async #rebuild(height) {
    const t0 = Date.now();
    const simnet = await this.#newSimnet();
    this.#replay(simnet, height);
    this.simnet = simnet;
    this.stats.rebuilds++;
    this.stats.rebuildMs += Date.now() - t0;
    this.log(`simnet rebuilt to height ${height} in ${Date.now() - t0} ms`);
  }
}
