// HTTP surface: the subset of the Stacks node RPC (/v2/…) and Hiro Stacks API (/extended/…) the
// gateway uses, plus the devnet's own /devnet/… endpoints.
import { createServer } from 'node:http';
import { ClarityType, addressToString, deserializeCV, validateStacksAddress } from '@stacks/transactions';
import { CHAIN_ID, Chain, InvalidReorg, Rejection, SBTC_ASSET, SBTC_CONTRACT } from './chain.mjs';
import { hex0x } from './clarity.mjs';
import { Observers } from './observers.mjs';
import { apiBlock, apiEvents, apiTx } from './shapes.mjs';

const SERVER_VERSION = 'stacks-node sbtc-gateway-devnet (Clarinet SDK simnet)';
const u128hex = (v) => '0x' + BigInt(v).toString(16).padStart(32, '0');
const norm = (txid) => (txid ?? '').toLowerCase().replace(/^0x/, '');

class HttpError extends Error {
  constructor(status, body) {
    super(typeof body === 'string' ? body : body.error);
    this.status = status;
    this.body = body;
  }
}

const notFound = (message = 'Not Found') => new HttpError(404, { error: message });
const badRequest = (message) => new HttpError(400, { error: message });

function intParam(url, name, def, max) {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`${name} must be a non-negative integer`);
  if (max !== undefined && n > max) throw badRequest(`${name} must be at most ${max}`);
  return n;
}

function isPrincipal(p) {
  const [addr, name] = p.split('.');
  return validateStacksAddress(addr) && (name === undefined || /^[a-zA-Z]([a-zA-Z0-9]|[-_])*$/.test(name));
}

export class Devnet {
  /**
   * @param {object} cfg  {host, port, blockTimeMs, burnBlockTimeMs, manifestDir, contractPath,
   *   contractName, clarityVersion, accounts, observers:[{url,format,token}], log}
   */
  constructor(cfg) {
    this.cfg = cfg;
    this.log = cfg.log ?? (() => {});
    this.chain = new Chain({ ...cfg, log: this.log });
    this.observers = new Observers({ log: this.log });
    for (const o of cfg.observers ?? []) this.observers.add(o);
    this.chain.onBlock((e) => this.observers.handle(e));
    this.timers = [];
    this.server = null;
    this.routes = this.#routes();
  }

  async start() {
    await this.chain.init();
    this.server = createServer((req, res) => this.#handle(req, res));
    this.server.keepAliveTimeout = 5000;
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.cfg.port, this.cfg.host, resolve);
    });
    const { port } = this.server.address();
    this.port = port;
    this.url = `http://${this.cfg.host}:${port}`;
    this.setBlockTimes(this.cfg.blockTimeMs, this.cfg.burnBlockTimeMs);
    return this;
  }

  /** (Re)starts the mining timers; 0 turns a timer off. */
  setBlockTimes(blockTimeMs, burnBlockTimeMs) {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.cfg.blockTimeMs = blockTimeMs;
    this.cfg.burnBlockTimeMs = burnBlockTimeMs;
    if (blockTimeMs > 0) this.timers.push(setInterval(() => this.#tick(), blockTimeMs));
    if (burnBlockTimeMs > 0) {
      this.timers.push(setInterval(() => this.chain.mineBurnBlock().catch((e) => this.log(`burn block failed: ${e.message}`)), burnBlockTimeMs));
    }
  }

  #tick() {
    if (this.mining || !this.chain.hasWork()) return;
    this.mining = true;
    this.chain
      .mineBlock()
      .catch((e) => this.log(`mining failed: ${e.stack ?? e.message}`))
      .finally(() => {
        this.mining = false;
      });
  }

  async stop() {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.chain.lock.run(() => {});
    if (this.server) {
      this.server.closeAllConnections?.();
      await new Promise((r) => this.server.close(() => r()));
    }
    this.chain.close();
  }

  /** Which chain this is and where it is kept (the ready line and `/devnet/status`). */
  chainInfo() {
    const c = this.chain;
    return { chain_id: c.chainId, state_dir: c.store?.dir ?? null, resumed: c.resumed, contract_matches_file: c.contractMatchesFile };
  }

  // ------------------------------------------------------------------ plumbing

  async #handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const started = Date.now();
    try {
      const body = req.method === 'POST' ? await readBody(req) : null;
      let handler = null;
      let match = null;
      for (const [method, pattern, fn] of this.routes) {
        if (method !== req.method) continue;
        match = url.pathname.match(pattern);
        if (match) {
          handler = fn;
          break;
        }
      }
      if (!handler) throw notFound(`no route for ${req.method} ${url.pathname}`);
      const out = await handler({ req, url, match, body });
      send(res, out?.status ?? 200, out?.body !== undefined ? out.body : out);
    } catch (err) {
      if (err instanceof Rejection) send(res, err.status, err.toJSON());
      else if (err instanceof HttpError) send(res, err.status, err.body);
      else {
        this.log(`500 ${req.method} ${url.pathname}: ${err.stack ?? err.message}`);
        send(res, 500, { error: 'internal error', message: err.message });
      }
    }
    if (this.cfg.verbose) this.log(`${req.method} ${url.pathname} ${res.statusCode} ${Date.now() - started}ms`);
  }

  #json(body) {
    if (!body || body.length === 0) return {};
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw badRequest('body must be JSON');
    }
  }

  #routes() {
    const c = this.chain;
    const P = '([A-Z0-9]+)';
    const NAME = '([a-zA-Z][a-zA-Z0-9_-]*)';
    const PRINC = '([A-Z0-9]+(?:\\.[a-zA-Z][a-zA-Z0-9_-]*)?)';
    const r = (method, path, fn) => [method, new RegExp('^' + path + '/?$'), fn];
    return [
      // ---------------------------------------------------------- node RPC
      r('GET', '/v2/info', () => this.#info()),
      r('GET', `/v2/accounts/${PRINC}`, ({ match, url }) => {
        const p = match[1];
        if (!isPrincipal(p)) throw badRequest('invalid principal');
        const body = { balance: u128hex(c.stxBalance(p)), locked: u128hex(0), unlock_height: 0, nonce: c.confirmedNonce(p) };
        if (url.searchParams.get('proof') !== '0') Object.assign(body, { balance_proof: '', nonce_proof: '' });
        return body;
      }),
      r('POST', '/v2/transactions', ({ req, body }) => {
        let bytes = body;
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
        if (type === 'application/json') {
          let parsed;
          try {
            parsed = JSON.parse(body.toString('utf8'));
          } catch {
            throw new Rejection('Deserialization', { message: 'body is not JSON' }, '');
          }
          const hex = String(parsed?.tx ?? '').replace(/^0x/, '');
          if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Rejection('Deserialization', { message: 'tx is not hex' }, '');
          bytes = Buffer.from(hex, 'hex');
        } else if (type === 'text/plain' && /^(0x)?[0-9a-fA-F]+$/.test(body.toString('utf8').trim())) {
          bytes = Buffer.from(body.toString('utf8').trim().replace(/^0x/, ''), 'hex');
        }
        return c.submit(new Uint8Array(bytes));
      }),
      r('POST', `/v2/contracts/call-read/${P}/${NAME}/${NAME}`, ({ match, body }) => {
        const contractId = `${match[1]}.${match[2]}`;
        const req = this.#json(body);
        if (!c.contractExists(contractId)) return { okay: false, cause: `Unchecked(NoSuchContract("${contractId}"))` };
        const fn = c.contractInterfaces().get(contractId).functions.find((f) => f.name === match[3]);
        if (!fn || fn.access !== 'read_only') return { okay: false, cause: `Unchecked(NoSuchPublicFunction("${contractId}", "${match[3]}"))` };
        let args;
        try {
          args = (req.arguments ?? []).map((h) => deserializeCV(String(h).replace(/^0x/, '')));
        } catch (e) {
          throw badRequest(`bad argument: ${e.message}`);
        }
        const sender = req.sender && isPrincipal(req.sender) ? req.sender : c.deployer.address;
        try {
          const res = c.callReadOnly(contractId, match[3], args, sender);
          return { okay: true, result: hex0x(res.result) };
        } catch (e) {
          return { okay: false, cause: String(e.message ?? e) };
        }
      }),
      r('GET', `/v2/contracts/interface/${P}/${NAME}`, ({ match }) => {
        const iface = c.contractInterfaces().get(`${match[1]}.${match[2]}`);
        if (!iface) throw notFound('No contract interface data found');
        return iface;
      }),
      r('GET', `/v2/contracts/source/${P}/${NAME}`, ({ match }) => {
        const source = c.simnet.getContractSource(`${match[1]}.${match[2]}`);
        if (source === undefined) throw notFound('No contract source data found');
        return { source, publish_height: 0, proof: '' };
      }),
      r('POST', `/v2/map_entry/${P}/${NAME}/${NAME}`, ({ match, body }) => {
        const contractId = `${match[1]}.${match[2]}`;
        if (!c.contractExists(contractId)) throw notFound('No contract found');
        let keyHex;
        try {
          keyHex = JSON.parse(body.toString('utf8'));
        } catch {
          throw badRequest('body must be a JSON string of the hex key');
        }
        let key;
        try {
          key = deserializeCV(String(keyHex).replace(/^0x/, ''));
        } catch (e) {
          throw badRequest(`bad key: ${e.message}`);
        }
        const maps = c.contractInterfaces().get(contractId)?.maps ?? [];
        if (!maps.some((m) => m.name === match[3])) throw notFound('No such map');
        let value;
        try {
          value = c.simnet.getMapEntry(contractId, match[3], key);
        } catch {
          value = undefined; // the SDK throws for an absent key
        }
        // A node answers the entry as an optional: `none` (0x09) when the key is absent.
        return { data: hex0x(value ?? { type: ClarityType.OptionalNone }), proof: '' };
      }),
      r('GET', `/v2/data_var/${P}/${NAME}/${NAME}`, ({ match }) => {
        const contractId = `${match[1]}.${match[2]}`;
        if (!c.contractExists(contractId)) throw notFound('No contract found');
        let value;
        try {
          value = c.simnet.getDataVar(contractId, match[3]);
        } catch {
          value = undefined;
        }
        if (value === undefined || value === null) throw notFound('Data var not found');
        return { data: hex0x(value), proof: '' };
      }),
      r('GET', '/v2/fees/transfer', () => 1),
      r('POST', '/v2/fees/transaction', ({ body }) => {
        const req = this.#json(body);
        const len = Math.max(Number(req.estimated_len ?? 0), String(req.transaction_payload ?? '').length / 2, 180);
        const fees = [1, 2, 4].map((m) => Math.ceil(len * m));
        return {
          estimated_cost: { write_length: 0, write_count: 0, read_length: 0, read_count: 0, runtime: 0 },
          estimated_cost_scalar: 1,
          estimations: fees.map((fee) => ({ fee_rate: fee / len, fee })),
          cost_scalar_change_by_byte: 0.00476837158203125,
        };
      }),
      // ---------------------------------------------------------- Hiro API
      r('GET', '/extended', () => this.#status()),
      r('GET', '/extended/v1/status', () => this.#status()),
      r('GET', '/extended/v2/mempool/fees', () => ({
        all: { no_priority: 180, low_priority: 180, medium_priority: 360, high_priority: 720 },
        token_transfer: { no_priority: 180, low_priority: 180, medium_priority: 360, high_priority: 720 },
        contract_call: { no_priority: 300, low_priority: 300, medium_priority: 600, high_priority: 1200 },
        smart_contract: { no_priority: 1000, low_priority: 1000, medium_priority: 2000, high_priority: 4000 },
      })),
      r('GET', '/extended/v1/tx/mempool', ({ url }) => {
        const limit = intParam(url, 'limit', 20, 50);
        const offset = intParam(url, 'offset', 0);
        const list = [...c.mempool].reverse().map((id) => c.txs.get(id));
        return { limit, offset, total: list.length, results: list.slice(offset, offset + limit).map((r) => apiTx(r, c)) };
      }),
      r('GET', '/extended/v1/tx/events', ({ url }) => this.#txEvents(url)),
      r('GET', '/extended/v1/tx/multiple', ({ url }) => {
        const ids = url.searchParams.getAll('tx_id').flatMap((t) => t.split(',')).filter(Boolean);
        if (!ids.length) throw badRequest('tx_id is required');
        const out = {};
        for (const raw of ids) {
          const id = '0x' + norm(raw);
          const rec = c.txs.get(norm(raw));
          out[id] = rec ? { found: true, result: apiTx(rec, c) } : { found: false, result: { tx_id: id } };
        }
        return out;
      }),
      r('GET', '/extended/v1/tx/(0x)?([0-9a-fA-F]{64})', ({ match }) => {
        const rec = c.txs.get(norm(match[2]));
        if (!rec) throw notFound(`could not find transaction by ID 0x${norm(match[2])}`);
        return apiTx(rec, c);
      }),
      r('GET', '/extended/v1/tx/(0x)?([0-9a-fA-F]{64})/raw', ({ match }) => {
        const rec = c.txs.get(norm(match[2]));
        if (!rec) throw notFound(`could not find transaction by ID 0x${norm(match[2])}`);
        return { raw_tx: '0x' + rec.raw };
      }),
      r('GET', `/extended/v2/smart-contracts/${P}\\.${NAME}/logs`, ({ match, url }) => this.#contractLogs(`${match[1]}.${match[2]}`, url)),
      r('GET', `/extended/v1/contract/${P}\\.${NAME}/events`, ({ match, url }) => {
        const logs = this.#contractLogs(`${match[1]}.${match[2]}`, url);
        return { limit: logs.limit, offset: logs.offset, results: logs.results };
      }),
      r('GET', `/extended/v1/address/${PRINC}/transactions`, ({ match, url }) => this.#addressTxs(match[1], url)),
      r('GET', `/extended/v2/addresses/${PRINC}/transactions`, ({ match, url }) => this.#addressTxsV2(match[1], url)),
      r('GET', `/extended/v1/address/${PRINC}/balances`, ({ match }) => this.#balances(match[1])),
      r('GET', `/extended/v1/address/${PRINC}/stx`, ({ match }) => this.#balances(match[1]).stx),
      r('GET', `/extended/v1/address/${PRINC}/nonces`, ({ match }) => this.#nonces(match[1])),
      r('GET', `/extended/v1/address/${PRINC}/mempool`, ({ match, url }) => {
        const limit = intParam(url, 'limit', 20, 50);
        const offset = intParam(url, 'offset', 0);
        const list = [...c.mempool].reverse().map((id) => c.txs.get(id)).filter((t) => this.#involves(t, match[1]));
        return { limit, offset, total: list.length, results: list.slice(offset, offset + limit).map((t) => apiTx(t, c)) };
      }),
      r('GET', '/extended/v2/blocks', ({ url }) => {
        const limit = intParam(url, 'limit', 20, 30);
        const offset = intParam(url, 'offset', 0);
        const list = [...c.blocks].reverse();
        // Cursors are block heights (the Hiro API pages blocks by index_block_hash; heights are
        // as good a key here and survive as long as the block stays canonical).
        const cursor = url.searchParams.get('cursor');
        let start = offset;
        if (cursor !== null) {
          start = list.findIndex((b) => String(b.height) === cursor);
          if (start < 0) throw badRequest('invalid cursor');
        }
        const page = list.slice(start, start + limit);
        return {
          limit,
          offset: start,
          total: list.length,
          next_cursor: list[start + limit] ? String(list[start + limit].height) : null,
          prev_cursor: start > 0 ? String(list[Math.max(0, start - limit)].height) : null,
          cursor: page[0] ? String(page[0].height) : null,
          results: page.map(apiBlock),
        };
      }),
      r('GET', '/extended/v2/blocks/([^/]+)', ({ match }) => apiBlock(this.#findBlock(match[1]))),
      r('GET', '/extended/v2/blocks/([^/]+)/transactions', ({ match, url }) => {
        const block = this.#findBlock(match[1]);
        const limit = intParam(url, 'limit', 20, 50);
        const offset = intParam(url, 'offset', 0);
        const list = block.txids.map((id) => c.txs.get(id)).filter((t) => t.block === block);
        return { limit, offset, total: list.length, results: list.slice(offset, offset + limit).map((t) => apiTx(t, c)) };
      }),
      r('GET', '/extended/v2/burn-blocks/(latest|[0-9]+)', ({ match }) => {
        const h = match[1] === 'latest' ? c.burnHeight : Number(match[1]);
        const blocks = c.blocks.filter((b) => b.burn_block_height === h);
        if (!blocks.length) throw notFound('cannot find burn block');
        const first = blocks[0];
        return {
          burn_block_time: first.burn_block_time,
          burn_block_time_iso: new Date(first.burn_block_time * 1000).toISOString(),
          burn_block_hash: first.burn_block_hash,
          burn_block_height: h,
          stacks_blocks: blocks.map((b) => b.hash),
          avg_block_time: 0,
          total_tx_count: blocks.reduce((n, b) => n + b.txids.length, 0),
        };
      }),
      // ---------------------------------------------------------- devnet
      r('GET', '/devnet/accounts', () => c.accounts.map(({ name, address, private_key, mnemonic }) => ({ name, address, private_key, mnemonic }))),
      r('GET', '/devnet/contracts', () => ({
        gateway: c.gatewayContractId,
        sbtc_token: SBTC_CONTRACT,
        sbtc_asset: SBTC_ASSET,
        sbtc_registry: SBTC_CONTRACT.replace('sbtc-token', 'sbtc-registry'),
        sbtc_deposit: SBTC_CONTRACT.replace('sbtc-token', 'sbtc-deposit'),
        deployer: c.deployer.address,
        chain_id: CHAIN_ID,
      })),
      r('POST', '/devnet/faucet', async ({ body }) => {
        const req = this.#json(body);
        if (!req.address || !isPrincipal(req.address)) throw badRequest('address must be a Stacks principal');
        let stx;
        let sbtc;
        try {
          stx = BigInt(req.stx ?? 0);
          sbtc = BigInt(req.sbtc ?? 0);
        } catch {
          throw badRequest('stx and sbtc must be integers');
        }
        if (stx < 0n || sbtc < 0n) throw badRequest('amounts must be non-negative');
        await c.faucet({ address: req.address, stx, sbtc });
        return {
          address: req.address,
          stx: stx.toString(),
          sbtc: sbtc.toString(),
          balances: { stx: c.stxBalance(req.address).toString(), sbtc: (c.ftBalances(req.address)[SBTC_ASSET] ?? 0n).toString() },
        };
      }),
      r('POST', '/devnet/mine', async ({ body }) => {
        const req = this.#json(body);
        const blocks = req.blocks === undefined ? 1 : Number(req.blocks);
        const burnBlocks = Number(req.burn_blocks ?? 0);
        if (!Number.isInteger(blocks) || blocks < 0 || blocks > 1000) throw badRequest('blocks must be an integer 0..1000');
        if (!Number.isInteger(burnBlocks) || burnBlocks < 0 || burnBlocks > 1000) throw badRequest('burn_blocks must be an integer 0..1000');
        const made = await c.mine({ blocks, burnBlocks });
        return { blocks: made.map((b) => ({ height: b.height, hash: b.hash, burn_block_height: b.burn_block_height, tx_count: b.txids.length, txids: b.txids.map((t) => '0x' + t) })), tip: this.#tipSummary() };
      }),
      r('POST', '/devnet/reorg', async ({ body }) => {
        const req = this.#json(body);
        const depth = Number(req.depth ?? 1);
        if (!Number.isInteger(depth) || depth < 1) throw badRequest('depth must be a positive integer');
        const drop = req.drop ?? [];
        if (!Array.isArray(drop) || !drop.every((t) => typeof t === 'string' && /^(0x)?[0-9a-fA-F]{64}$/.test(t))) {
          throw badRequest('drop must be a list of txids');
        }
        let result;
        try {
          result = await c.reorg(depth, drop);
        } catch (err) {
          if (err instanceof InvalidReorg) throw badRequest(err.message);
          throw err;
        }
        const { forkHeight, orphaned } = result;
        return {
          fork_height: forkHeight,
          orphaned: orphaned.map((b) => ({ height: b.height, hash: b.hash, txids: b.txids.map((t) => '0x' + t) })),
          mempool: c.mempool.map((t) => '0x' + t),
          dropped: drop.map((t) => '0x' + norm(t)),
          tip: this.#tipSummary(),
        };
      }),
      r('GET', '/devnet/observers', () => this.observers.describe()),
      r('POST', '/devnet/observers', ({ body }) => {
        const req = this.#json(body);
        try {
          const o = this.observers.add({ url: req.url, format: req.format ?? 'chainhook', token: req.token ?? null });
          return { id: o.id, url: o.url, format: o.format };
        } catch (e) {
          throw badRequest(e.message);
        }
      }),
      r('DELETE', '/devnet/observers/([0-9a-f-]+)', ({ match }) => {
        if (!this.observers.remove(match[1])) throw notFound('no such observer');
        return { deleted: true };
      }),
      r('GET', '/devnet/status', () => ({ tip: this.#tipSummary(), mempool: c.mempool.length, block_time_ms: this.cfg.blockTimeMs, rebuilds: c.stats, ...this.chainInfo() })),
    ];
  }

  // ------------------------------------------------------------------ handlers

  #tipSummary() {
    const t = this.chain.tip;
    return { height: t.height, hash: t.hash, index_block_hash: t.index_block_hash, burn_block_height: t.burn_block_height };
  }

  #info() {
    const c = this.chain;
    const tip = c.tip;
    return {
      peer_version: 4207599113,
      pox_consensus: tip.burn_block_hash.slice(2, 42),
      burn_block_height: tip.burn_block_height,
      stable_pox_consensus: tip.burn_block_hash.slice(2, 42),
      stable_burn_block_height: Math.max(0, tip.burn_block_height - 1),
      server_version: SERVER_VERSION,
      network_id: CHAIN_ID,
      parent_network_id: 3669344250,
      stacks_tip_height: tip.height,
      stacks_tip: tip.hash.slice(2),
      stacks_tip_consensus_hash: tip.burn_block_hash.slice(2, 42),
      unanchored_tip: tip.index_block_hash.slice(2),
      exit_at_block_height: null,
      tenure_height: tip.tenure_height,
      is_fully_synced: true,
      genesis_chainstate_hash: '0'.repeat(64),
    };
  }

  #status() {
    const t = this.chain.tip;
    return {
      server_version: SERVER_VERSION,
      status: 'ready',
      chain_tip: {
        block_height: t.height,
        block_hash: t.hash,
        index_block_hash: t.index_block_hash,
        microblock_hash: undefined,
        microblock_sequence: undefined,
        burn_block_height: t.burn_block_height,
      },
    };
  }

  #findBlock(key) {
    const c = this.chain;
    if (key === 'latest') return c.tip;
    if (/^[0-9]+$/.test(key)) {
      const b = c.blocks[Number(key)];
      if (!b) throw notFound('cannot find block by height');
      return b;
    }
    const h = '0x' + norm(key);
    const b = c.blockByHash.get(h);
    if (!b) throw notFound('cannot find block by hash');
    return b;
  }

  /** Mined transactions, newest first. */
  #minedTxs() {
    const out = [];
    for (let h = this.chain.blocks.length - 1; h >= 0; h--) {
      const block = this.chain.blocks[h];
      for (let i = block.txids.length - 1; i >= 0; i--) out.push(this.chain.txs.get(block.txids[i]));
    }
    return out;
  }

  #involves(rec, principal) {
    if (rec.sender === principal) return true;
    const p = rec.wire.payload;
    if (p.recipient?.value === principal) return true;
    if (p.contractName && p.contractAddress) {
      if (addrOf(p) === principal) return true; // the called contract
    }
    for (const e of rec.events) {
      const d = e.data;
      if (d.sender === principal || d.recipient === principal || d.contract_identifier === principal) return true;
    }
    return false;
  }

  #addressTxs(principal, url) {
    if (!isPrincipal(principal)) throw badRequest('invalid principal');
    const limit = intParam(url, 'limit', 20, 50);
    const offset = intParam(url, 'offset', 0);
    const list = this.#minedTxs().filter((r) => this.#involves(r, principal));
    return { limit, offset, total: list.length, results: list.slice(offset, offset + limit).map((r) => apiTx(r, this.chain)) };
  }

  #addressTxsV2(principal, url) {
    if (!isPrincipal(principal)) throw badRequest('invalid principal');
    const limit = intParam(url, 'limit', 20, 50);
    const offset = intParam(url, 'offset', 0);
    const list = this.#minedTxs().filter((r) => this.#involves(r, principal));
    const results = list.slice(offset, offset + limit).map((r) => {
      const counts = { stx: { transfer: 0, mint: 0, burn: 0 }, ft: { transfer: 0, mint: 0, burn: 0 }, nft: { transfer: 0, mint: 0, burn: 0 } };
      let sent = r.sender === principal ? r.fee : 0n;
      let received = 0n;
      for (const e of r.events) {
        const [kind, action] = e.event.split('_');
        const d = e.data;
        if (!counts[kind] || !(action in counts[kind])) continue;
        if (d.sender !== principal && d.recipient !== principal) continue;
        counts[kind][action]++;
        if (kind === 'stx' && d.sender === principal) sent += BigInt(d.amount);
        if (kind === 'stx' && d.recipient === principal) received += BigInt(d.amount);
      }
      return { tx: apiTx(r, this.chain), stx_sent: sent.toString(), stx_received: received.toString(), events: counts };
    });
    return {
      limit,
      offset,
      total: list.length,
      next_cursor: null,
      prev_cursor: null,
      cursor: null,
      results,
    };
  }

  #balances(principal) {
    if (!isPrincipal(principal)) throw badRequest('invalid principal');
    const c = this.chain;
    const mined = this.#minedTxs();
    let sent = 0n;
    let received = 0n;
    let fees = 0n;
    const ftFlows = {};
    for (const r of mined) {
      if (r.sender === principal) fees += r.fee;
      for (const e of r.events) {
        const d = e.data;
        if (e.event.startsWith('stx_')) {
          if (d.sender === principal) sent += BigInt(d.amount);
          if (d.recipient === principal) received += BigInt(d.amount);
        } else if (e.event.startsWith('ft_')) {
          const f = (ftFlows[d.asset_identifier] ??= { sent: 0n, received: 0n });
          if (d.sender === principal) f.sent += BigInt(d.amount);
          if (d.recipient === principal) f.received += BigInt(d.amount);
        }
      }
    }
    const fungible_tokens = {};
    for (const [id, bal] of Object.entries(c.ftBalances(principal))) {
      const f = ftFlows[id] ?? { sent: 0n, received: 0n };
      fungible_tokens[id] = { balance: bal.toString(), total_sent: f.sent.toString(), total_received: f.received.toString() };
    }
    const balance = c.stxBalance(principal).toString();
    return {
      stx: {
        balance,
        estimated_balance: balance,
        pending_balance_inbound: '0',
        pending_balance_outbound: '0',
        total_sent: sent.toString(),
        total_received: received.toString(),
        total_fees_sent: fees.toString(),
        total_miner_rewards_received: '0',
        lock_tx_id: '',
        locked: '0',
        lock_height: 0,
        burnchain_lock_height: 0,
        burnchain_unlock_height: 0,
      },
      fungible_tokens,
      non_fungible_tokens: {},
    };
  }

  #nonces(principal) {
    if (!isPrincipal(principal)) throw badRequest('invalid principal');
    const c = this.chain;
    const confirmed = c.confirmedNonce(principal);
    const pending = c.pendingNonces(principal);
    const possible = c.possibleNextNonce(principal);
    const lastPending = pending.length ? pending[pending.length - 1] : null;
    const missing = [];
    if (lastPending !== null) {
      const have = new Set(pending);
      for (let n = lastPending - 1; n >= confirmed; n--) if (!have.has(n)) missing.push(n);
    }
    return {
      last_mempool_tx_nonce: lastPending,
      last_executed_tx_nonce: confirmed > 0 ? confirmed - 1 : null,
      possible_next_nonce: missing.length ? possible : lastPending !== null ? Math.max(possible, lastPending + 1) : possible,
      detected_missing_nonces: missing,
      detected_mempool_nonces: pending,
    };
  }

  #txEvents(url) {
    const limit = intParam(url, 'limit', 20, 100);
    const offset = intParam(url, 'offset', 0);
    const txid = url.searchParams.get('tx_id');
    const address = url.searchParams.get('address');
    const types = url.searchParams.getAll('type').flatMap((t) => t.split(','));
    if (!txid && !address) throw badRequest('tx_id or address is required');
    let recs;
    if (txid) {
      const r = this.chain.txs.get(norm(txid));
      recs = r && r.block ? [r] : [];
    } else {
      recs = this.#minedTxs().filter((r) => this.#involves(r, address));
    }
    let events = recs.flatMap((r) => apiEvents(r));
    if (address) events = events.filter((e) => eventInvolves(e, address));
    if (types.length) events = events.filter((e) => types.includes(e.event_type));
    return { limit, offset, events: events.slice(offset, offset + limit) };
  }

  #contractLogs(contractId, url) {
    const limit = intParam(url, 'limit', 20, 100);
    let offset = intParam(url, 'offset', 0);
    const all = [];
    for (const r of this.#minedTxs()) {
      const evs = apiEvents(r).filter((e) => e.event_type === 'smart_contract_log' && e.contract_log.contract_id === contractId);
      for (let i = evs.length - 1; i >= 0; i--) all.push({ event: evs[i], cursor: `${r.block.height}:${2147483647}:${r.tx_index}:${evs[i].event_index}` });
    }
    const cursor = url.searchParams.get('cursor');
    if (cursor) {
      const at = all.findIndex((x) => x.cursor === cursor);
      if (at < 0) throw badRequest('invalid cursor');
      offset = at;
    }
    const page = all.slice(offset, offset + limit);
    return {
      limit,
      offset,
      total: all.length,
      next_cursor: all[offset + limit]?.cursor ?? null,
      prev_cursor: offset > 0 ? all[Math.max(0, offset - limit)].cursor : null,
      cursor: page[0]?.cursor ?? null,
      results: page.map((x) => x.event),
    };
  }
}

function addrOf(payload) {
  return `${addressToString(payload.contractAddress)}.${payload.contractName.content}`;
}

function eventInvolves(e, address) {
  if (e.contract_log) return e.contract_log.contract_id === address;
  return e.asset?.sender === address || e.asset?.recipient === address;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (ch) => {
      size += ch.length;
      if (size > 4 * 1024 * 1024) {
        reject(new HttpError(413, { error: 'body too large' }));
        req.destroy();
      } else chunks.push(ch);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res, status, body) {
  const text = JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

