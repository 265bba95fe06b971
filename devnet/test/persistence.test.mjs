// A state folder keeps the chain across restarts: the devnet started again on it serves the same
// chain (heights, hashes, times, txids, outcomes, balances, contract state, mempool) and continues
// it. Writes are atomic: a crash mid-write leaves the previous chain.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { Cl, makeContractDeploy } from '@stacks/transactions';
import { StateError, StateStore } from '../src/state.mjs';
import { DEVNET_DIR, FIXTURE, acct, client, network, payTx, startDevnet, stxTx } from './helpers.mjs';

const freshDir = () => mkdtempSync(join(tmpdir(), 'devnet-state-'));

/** Everything the API says about the chain, to compare two runs. */
async function view(devnet, txids, orphanHash) {
  const api = client(devnet);
  const info = (await api.get('/v2/info')).body;
  const blocks = [];
  for (let h = 0; h <= info.stacks_tip_height; h++) blocks.push((await api.get(`/extended/v2/blocks/${h}`)).body);
  const txs = {};
  for (const id of txids) txs[id] = (await api.get(`/extended/v1/tx/${id}`)).body;
  const balances = {};
  for (const a of [acct.wallet_1, acct.wallet_2, acct.wallet_3, acct.wallet_4, acct.deployer]) {
    balances[a.name] = { ...(await api.get(`/extended/v1/address/${a.address}/balances`)).body, nonces: (await api.get(`/extended/v1/address/${a.address}/nonces`)).body };
  }
  const [addr, name] = devnet.chain.gatewayContractId.split('.');
  const count = (await api.post(`/v2/contracts/call-read/${addr}/${name}/get-payment-count`, { sender: acct.wallet_1.address, arguments: [] })).body;
  const mempool = (await api.get('/extended/v1/tx/mempool')).body;
  const burn = (await api.get('/extended/v2/burn-blocks/latest')).body;
  const orphan = (await api.get(`/extended/v2/blocks/${orphanHash}`)).body;
  return { info, blocks, txs, balances, count, mempool, burn, orphan };
}

describe('a state folder', () => {
  const running = [];
  const start = async (extra) => {
    const d = await startDevnet(extra);
    running.push(d);
    return d;
  };
  const stop = async (d) => {
    running.splice(running.indexOf(d), 1);
    await d.stop();
  };
  after(async () => {
    for (const d of running) await d.stop();
  });

  it('keeps the chain across a restart, which continues it', { timeout: 180_000 }, async () => {
    const dir = freshDir();
    const first = await start({ stateDir: dir });
    assert.equal(first.chainInfo().resumed, false);
    const api = client(first);
    await api.post('/devnet/faucet', { address: acct.wallet_1.address, sbtc: 100_000 });
    const txids = [];
    const send = async (tx) => {
      const res = await api.post('/v2/transactions', { tx: tx.serialize() });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      txids.push(tx.txid());
    };
    // a block with a payment, a post-condition abort and a transfer; a burn block; a deploy
    await send(await payTx(first, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 700n, invoice: 'kept-1', nonce: 0n }));
    await send(await payTx(first, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 10n, nonce: 1n, fn: 'overpay' }));
    await send(await stxTx(first, { from: acct.wallet_3, to: acct.wallet_4, amount: 12_345n, nonce: 0n, fee: 300n }));
    await api.post('/devnet/mine', { blocks: 2, burn_blocks: 1 });
    await send(await makeContractDeploy({ contractName: 'kept', codeBody: '(define-data-var n uint u7) (define-read-only (get-n) (var-get n))', senderKey: acct.wallet_4.private_key, nonce: 0n, fee: 10_000n, ...network(first) }));
    await send(await payTx(first, { payer: acct.wallet_1, merchant: acct.wallet_3, amount: 50n, invoice: 'kept-2', nonce: 2n }));
    await api.post('/devnet/mine', {});
    // a reorg: the last block's payment is lost with the fork, the deploy comes back
    const lost = txids.at(-1);
    const { orphaned } = (await api.post('/devnet/reorg', { depth: 1, drop: [lost] })).body;
    await api.post('/devnet/mine', {});
    // a replacement by fee, and a transaction left in the mempool
    await send(await stxTx(first, { from: acct.wallet_2, to: acct.wallet_4, amount: 1n, nonce: 0n, fee: 300n }));
    await send(await stxTx(first, { from: acct.wallet_2, to: acct.wallet_4, amount: 2n, nonce: 0n, fee: 400n }));
    await send(await stxTx(first, { from: acct.wallet_3, to: acct.wallet_4, amount: 3n, nonce: 5n, fee: 300n }));
    assert.equal((await api.get(`/extended/v1/tx/${lost}`)).body.tx_status, 'dropped_replace_across_fork');
    const before = await view(first, txids, orphaned[0].hash);
    assert.equal(before.orphan.canonical, false);
    assert.equal(before.txs[txids[1]].tx_status, 'abort_by_post_condition');
    assert.equal(before.mempool.total, 2);
    await stop(first);

    const second = await start({ stateDir: dir });
    assert.equal(second.chainInfo().resumed, true);
    assert.equal(second.chainInfo().chain_id, first.chainInfo().chain_id);
    const resumed = await view(second, txids, orphaned[0].hash);
    assert.deepEqual(resumed, before);
    const kept = (await client(second).post(`/v2/contracts/call-read/${acct.wallet_4.address}/kept/get-n`, { sender: acct.wallet_4.address, arguments: [] })).body;
    assert.equal(kept.result, '0x' + Cl.serialize(Cl.uint(7)));

    // it continues: the next block follows the old tip, ten seconds later, with the pending RBF winner
    const tip = before.blocks.at(-1);
    const next = (await client(second).post('/devnet/mine', {})).body.blocks[0];
    const block = (await client(second).get(`/extended/v2/blocks/${next.height}`)).body;
    assert.equal(block.height, tip.height + 1);
    assert.equal(block.parent_block_hash, tip.hash);
    assert.equal(block.block_time, tip.block_time + 10);
    assert.equal(next.tx_count, 1);
    assert.equal((await client(second).get(`/extended/v1/tx/${txids.at(-2)}`)).body.tx_status, 'success');
    assert.equal(second.chain.stats.rebuilds, 0, 'resuming is one replay, not a rebuild per block');
  });

  it('a crash mid-write leaves the previous chain', async () => {
    const dir = freshDir();
    const store = new StateStore(dir);
    store.save({ tip: 1 });
    // the process dies while writing the next version: half a file, never renamed
    let writes = 0;
    const crashing = new StateStore(dir, {
      fs: {
        ...fs,
        writeSync: (fd, buf, at, len) => {
          if (++writes > 1) throw new Error('killed');
          return fs.writeSync(fd, buf, at, Math.floor(len / 2));
        },
      },
    });
    assert.throws(() => crashing.save({ tip: 2, padding: 'x'.repeat(10_000) }), /killed/);
    assert.ok(fs.existsSync(join(dir, 'chain.json.tmp')));
    assert.equal(new StateStore(dir).load().tip, 1);
    assert.ok(!fs.existsSync(join(dir, 'chain.json.tmp')), 'the torn write is cleared');
  });

  it('refuses a folder it cannot read, and one another devnet uses, and leaves them as they are', async () => {
    const garbled = freshDir();
    writeFileSync(join(garbled, 'chain.json'), '{"format": 1, "blo');
    await assert.rejects(startDevnet({ stateDir: garbled }), (err) => err instanceof StateError && /is not a devnet chain.*move the folder away/.test(err.message));
    assert.equal(readFileSync(join(garbled, 'chain.json'), 'utf8'), '{"format": 1, "blo');

    const shared = freshDir();
    const holder = spawn(process.execPath, [resolve(DEVNET_DIR, 'src', 'main.mjs'), '--port', '0', '--block-time-ms', '0', '--quiet', '--contract', FIXTURE, '--state-dir', shared], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((ok, fail) => {
        holder.stdout.on('data', (d) => String(d).includes('devnet ready') && ok());
        holder.on('exit', (code) => fail(new Error(`exited ${code}`)));
      });
      await assert.rejects(startDevnet({ stateDir: shared }), new RegExp(`another devnet \\(pid ${holder.pid}\\) keeps its chain in`));
    } finally {
      holder.kill('SIGTERM');
    }
  });

  it('keeps the deployed contract when the file changed, and says so', { timeout: 120_000 }, async () => {
    const dir = freshDir();
    const contract = join(dir, 'gateway.clar');
    writeFileSync(contract, readFileSync(FIXTURE, 'utf8'));
    const first = await start({ stateDir: join(dir, 'chain'), contractPath: contract, contractName: 'pay-fixture' });
    assert.equal(first.chainInfo().contract_matches_file, true);
    const tip = first.chain.tip.hash;
    await stop(first);
    writeFileSync(contract, readFileSync(FIXTURE, 'utf8') + '\n(define-read-only (added) u1)\n');
    const logs = [];
    const second = await start({ stateDir: join(dir, 'chain'), contractPath: contract, contractName: 'pay-fixture', log: (m) => logs.push(m) });
    assert.equal(second.chain.tip.hash, tip);
    assert.equal(second.chainInfo().contract_matches_file, false);
    assert.ok(!second.chain.contractInterfaces().get(second.chain.gatewayContractId).functions.some((f) => f.name === 'added'));
    assert.ok(logs.some((m) => /has changed since this chain began: the chain keeps .*pay-fixture.*start a new chain/.test(m)), logs.join('\n'));
  });

  it('without one, every start is a new chain: no block hash is shared', async () => {
    const a = await start();
    const b = await start();
    assert.equal(a.chainInfo().state_dir, null);
    assert.notEqual(a.chainInfo().chain_id, b.chainInfo().chain_id);
    for (let h = 0; h <= a.chain.tipHeight; h++) assert.notEqual(a.chain.blocks[h].hash, b.chain.blocks[h].hash);
    assert.equal(a.chain.store, null);
  });
});
