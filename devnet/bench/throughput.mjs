#!/usr/bin/env node
// Devnet benchmark: how many transactions per second the devnet admits and mines, and the
// latency from broadcast to `success` at the default block time.
//
//   node bench/throughput.mjs [--senders 20] [--per-sender 25] [--rounds 3] [--latency-samples 10]
//
// Everything runs in-process against loopback HTTP; transactions are real sBTC payments through
// the fixture contract (contract call + FT transfer + print), signed by @stacks/transactions
// before the clock starts.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { randomPrivateKey, getAddressFromPrivateKey } from '@stacks/transactions';
import { acct, client, payTx, startDevnet } from '../test/helpers.mjs';

const { values } = parseArgs({
  options: {
    senders: { type: 'string', default: '20' },
    'per-sender': { type: 'string', default: '25' },
    rounds: { type: 'string', default: '3' },
    'latency-samples': { type: 'string', default: '10' },
    'block-time-ms': { type: 'string', default: '2000' },
  },
});
const SENDERS = Number(values.senders);
const PER = Number(values['per-sender']);
const ROUNDS = Number(values.rounds);
const SAMPLES = Number(values['latency-samples']);
const BLOCK_MS = Number(values['block-time-ms']);

const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function throughput() {
  const devnet = await startDevnet({ blockTimeMs: 0 });
  const api = client(devnet);
  const senders = Array.from({ length: SENDERS }, () => {
    const private_key = randomPrivateKey();
    return { private_key, address: getAddressFromPrivateKey(private_key, 'testnet') };
  });
  for (const s of senders) await api.post('/devnet/faucet', { address: s.address, stx: 1_000_000_000, sbtc: 1_000_000_000 });
  const rows = [];
  for (let round = 0; round < ROUNDS; round++) {
    const txs = [];
    for (let n = 0; n < PER; n++) {
      for (const s of senders) txs.push(await payTx(devnet, { payer: s, merchant: acct.wallet_2, amount: 100n, invoice: `b-${round}-${n}-${s.address.slice(-6)}`, nonce: BigInt(round * PER + n) }));
    }
    const t0 = process.hrtime.bigint();
    for (const t of txs) {
      const r = await api.post('/v2/transactions', { tx: t.serialize() });
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    }
    const admitMs = ms(t0);
    const t1 = process.hrtime.bigint();
    const mined = await api.post('/devnet/mine', {});
    const mineMs = ms(t1);
    const count = mined.body.blocks[0].tx_count;
    if (count !== txs.length) throw new Error(`mined ${count} of ${txs.length}`);
    const ok = (await api.get(`/extended/v1/tx/${txs[txs.length - 1].txid()}`)).body.tx_status;
    if (ok !== 'success') throw new Error(`last tx ${ok}`);
    rows.push({ txs: txs.length, admitMs, mineMs });
  }
  // Cost of an undo: a reorg of the last block rebuilds the simnet and replays everything mined.
  const t2 = process.hrtime.bigint();
  await api.post('/devnet/reorg', { depth: 1 });
  const reorgMs = ms(t2);
  await devnet.stop();
  rows.reorgMs = reorgMs;
  rows.replayed = rows.slice(0, -1).reduce((n, r) => n + r.txs, 0);
  return rows;
}

async function latency() {
  const devnet = await startDevnet({ blockTimeMs: BLOCK_MS, burnBlockTimeMs: BLOCK_MS * 5 });
  const api = client(devnet);
  await api.post('/devnet/faucet', { address: acct.wallet_1.address, sbtc: 1_000_000 });
  const out = [];
  for (let i = 0; i < SAMPLES; i++) {
    const tx = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 100n, invoice: `lat-${i}`, nonce: BigInt(i) });
    const t0 = process.hrtime.bigint();
    const r = await api.post('/v2/transactions', { tx: tx.serialize() });
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    let status = 'pending';
    for (let polls = 0; status === 'pending' && polls < 2000; polls++) {
      await new Promise((res) => setTimeout(res, 20));
      status = (await api.get(`/extended/v1/tx/${tx.txid()}`)).body.tx_status;
    }
    if (status !== 'success') throw new Error(`sample ${i}: ${status}`);
    out.push(ms(t0));
    // desynchronise from the block timer so samples spread over its phase
    await new Promise((res) => setTimeout(res, Math.random() * BLOCK_MS));
  }
  await devnet.stop();
  return out;
}

const started = new Date().toISOString();
const rows = await throughput();
const lat = await latency();
const totalTx = rows.reduce((n, r) => n + r.txs, 0);
const admit = rows.reduce((n, r) => n + r.admitMs, 0);
const mine = rows.reduce((n, r) => n + r.mineMs, 0);
console.log(`devnet benchmark, ${started}`);
console.log(`  node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`  command: node bench/throughput.mjs --senders ${SENDERS} --per-sender ${PER} --rounds ${ROUNDS} --latency-samples ${SAMPLES} --block-time-ms ${BLOCK_MS}`);
console.log(`throughput (sBTC payments via a contract call, ${SENDERS} senders × ${PER} chained nonces per block):`);
for (const [i, r] of rows.entries()) {
  console.log(`  round ${i + 1}: ${r.txs} txs admitted in ${r.admitMs.toFixed(0)} ms (${((r.txs / r.admitMs) * 1000).toFixed(0)} tx/s), mined in one block in ${r.mineMs.toFixed(0)} ms (${((r.txs / r.mineMs) * 1000).toFixed(0)} tx/s)`);
}
console.log(`  overall: admission ${((totalTx / admit) * 1000).toFixed(0)} tx/s, mining ${((totalTx / mine) * 1000).toFixed(0)} tx/s, end to end ${((totalTx / (admit + mine)) * 1000).toFixed(0)} tx/s`);
console.log(`undo: a depth-1 reorg (fresh simnet + replay of ${rows.replayed} mined txs) took ${rows.reorgMs.toFixed(0)} ms`);
console.log(`latency broadcast → success at block time ${BLOCK_MS} ms (${SAMPLES} samples, polled every 20 ms):`);
console.log(`  min ${Math.min(...lat).toFixed(0)} ms, median ${pct(lat, 50).toFixed(0)} ms, p90 ${pct(lat, 90).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms, mean ${(lat.reduce((a, b) => a + b, 0) / lat.length).toFixed(0)} ms`);
