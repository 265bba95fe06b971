// Push delivery of new blocks to registered observers, in order, per observer:
//  - "chainhook": Chainhook 2.x payloads {apply, rollback, chainhook} POSTed to the URL;
//  - "event_observer": the node's event-observer calls, POST {url}/new_block (and
//    /new_burn_block on a tenure change, /new_mempool_tx for new pending transactions).
// Each request carries `Authorization: Bearer <token>` when a token is set.
import { randomUUID } from 'node:crypto';
import { chainhookBlock, newBlockPayload } from './shapes.mjs';

const ATTEMPTS = 3;
const TIMEOUT_MS = 5000;

export class Observers {
  constructor({ log = () => {} } = {}) {
    this.log = log;
    this.list = [];
  }

  add({ url, format = 'chainhook', token = null }) {
    if (!/^https?:\/\//.test(url ?? '')) throw new Error('observer url must be http(s)');
    if (format !== 'chainhook' && format !== 'event_observer') throw new Error('format must be "chainhook" or "event_observer"');
    const observer = { id: randomUUID(), url: url.replace(/\/$/, ''), format, token, queue: Promise.resolve(), delivered: 0, failed: 0 };
    this.list.push(observer);
    return observer;
  }

  remove(id) {
    const before = this.list.length;
    this.list = this.list.filter((o) => o.id !== id);
    return this.list.length !== before;
  }

  describe() {
    return this.list.map(({ id, url, format, token, delivered, failed }) => ({ id, url, format, authenticated: !!token, delivered, failed }));
  }

  /** Chain event → payloads. */
  handle(event) {
    for (const o of this.list) {
      for (const { path, body } of this.#payloads(o, event)) this.#enqueue(o, path, body);
    }
  }

  #payloads(o, event) {
    if (o.format === 'chainhook') {
      const chainhook = { uuid: o.id, predicate: { scope: 'block_height', higher_than: 0 }, is_streaming_blocks: true };
      if (event.type === 'block') return [{ path: '', body: { apply: [chainhookBlock(event.block, event.txs)], rollback: [], events: [], chainhook } }];
      if (event.type === 'rollback') return [{ path: '', body: { apply: [], rollback: event.blocks.map((b) => chainhookBlock(b, event.txsOf(b))), events: [], chainhook } }];
      return [];
    }
    if (event.type === 'block') {
      const out = [];
      if (event.block.tenure_change) {
        out.push({ path: '/new_burn_block', body: { burn_block_hash: event.block.burn_block_hash, burn_block_height: event.block.burn_block_height, reward_recipients: [], reward_slot_holders: [], burn_amount: 0, consensus_hash: event.block.burn_block_hash.slice(0, 42) } });
      }
      out.push({ path: '/new_block', body: newBlockPayload(event.block, event.txs, event.parent) });
      return out;
    }
    if (event.type === 'mempool') return [{ path: '/new_mempool_tx', body: event.txs.map((r) => '0x' + r.raw) }];
    // The node has no rollback call: a reorg shows as a /new_block whose parent is not the last
    // block delivered.
    return [];
  }

  #enqueue(o, path, body) {
    o.queue = o.queue.then(() => this.#deliver(o, path, body));
  }

  async #deliver(o, path, body) {
    const headers = { 'content-type': 'application/json' };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const res = await fetch(o.url + path, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS) });
        await res.arrayBuffer();
        if (res.ok) {
          o.delivered++;
          return;
        }
        this.log(`observer ${o.url}${path} answered ${res.status}`);
      } catch (err) {
        this.log(`observer ${o.url}${path} failed: ${err.message}`);
      }
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
    o.failed++;
  }

  /** Resolves when every queued delivery has been attempted. */
  async drain() {
    await Promise.all(this.list.map((o) => o.queue));
  }
}
