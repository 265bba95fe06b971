// A transaction built and signed by @stacks/transactions is broadcast, waits in the mempool,
// is mined and read back through the node RPC and the Hiro API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cl, broadcastTransaction, cvToString, fetchCallReadOnlyFunction, hexToCV } from '@stacks/transactions';
import { SBTC, SBTC_ASSET, acct, client, network, payTx, startDevnet, stxTx } from './helpers.mjs';

describe('broadcast, mine, read back', () => {
  let devnet;
  let api;
  before(async () => {
    devnet = await startDevnet();
    api = client(devnet);
    await api.post('/devnet/faucet', { address: acct.wallet_1.address, sbtc: 1_000_000 });
  });
  after(() => devnet.stop());

  it('broadcasts with stacks.js (JSON body), mines on demand, reports success with events', async () => {
    const tx = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 25000n, invoice: 'inv-0001', nonce: 0n });
    const result = await broadcastTransaction({ transaction: tx, ...network(devnet) });
    assert.equal(result.txid, tx.txid());
    assert.equal(result.error, undefined);

    const pending = await api.get(`/extended/v1/tx/0x${tx.txid()}`);
    assert.equal(pending.status, 200);
    assert.equal(pending.body.tx_status, 'pending');
    const nonces = await api.get(`/extended/v1/address/${acct.wallet_1.address}/nonces`);
    assert.equal(nonces.body.possible_next_nonce, 1);
    assert.deepEqual(nonces.body.detected_mempool_nonces, [0]);

    const mined = await api.post('/devnet/mine', { blocks: 1 });
    assert.equal(mined.status, 200);
    assert.deepEqual(mined.body.blocks[0].txids, ['0x' + tx.txid()]);

    const got = (await api.get(`/extended/v1/tx/${tx.txid()}`)).body;
    assert.equal(got.tx_status, 'success');
    assert.equal(got.tx_result.repr, '(ok true)');
    assert.equal(got.block_height, mined.body.blocks[0].height);
    assert.equal(got.canonical, true);
    assert.equal(got.contract_call.function_name, 'pay');
    assert.deepEqual(got.contract_call.function_args.map((a) => a.name), ['token', 'amount', 'merchant', 'invoice']);
    assert.equal(got.contract_call.function_args[1].repr, 'u25000');
    const ft = got.events.find((e) => e.event_type === 'fungible_token_asset');
    assert.deepEqual(ft.asset, { asset_event_type: 'transfer', asset_id: SBTC_ASSET, sender: acct.wallet_1.address, recipient: acct.wallet_2.address, amount: '25000' });
    const log = got.events.find((e) => e.event_type === 'smart_contract_log' && e.contract_log.contract_id === devnet.chain.gatewayContractId);
    assert.match(log.contract_log.value.repr, /\(invoice "inv-0001"\)/);
    assert.equal(got.event_count, got.events.length);

    const acc = (await api.get(`/v2/accounts/${acct.wallet_1.address}?proof=0`)).body;
    assert.equal(acc.nonce, 1);
    const bal = (await api.get(`/extended/v1/address/${acct.wallet_2.address}/balances`)).body;
    assert.equal(bal.fungible_tokens[SBTC_ASSET].balance, '25000');
  });

  it('accepts a raw octet-stream body and fetches nonce and fee through the devnet like a wallet', async () => {
    // nonce and fee omitted: stacks.js asks the devnet (/extended/v1/address/…/nonces, /v2/fees/transaction)
    const tx = await stxTx(devnet, { from: acct.wallet_3, to: acct.wallet_4, amount: 1234n });
    const res = await api.post('/v2/transactions', tx.serializeBytes());
    assert.equal(res.status, 200);
    assert.equal(res.body, tx.txid());
    await api.post('/devnet/mine', {});
    const got = (await api.get(`/extended/v1/tx/0x${tx.txid()}`)).body;
    assert.equal(got.tx_status, 'success');
    assert.equal(got.tx_type, 'token_transfer');
    assert.equal(got.token_transfer.amount, '1234');
    assert.equal(got.events[0].event_type, 'stx_asset');
  });

  it('answers read-only calls, interfaces, map entries and lists', async () => {
    const [addr, name] = devnet.chain.gatewayContractId.split('.');
    const count = await fetchCallReadOnlyFunction({ contractAddress: addr, contractName: name, functionName: 'get-payment-count', functionArgs: [], senderAddress: acct.wallet_1.address, ...network(devnet) });
    assert.equal(cvToString(count), 'u1');
    const bad = await api.post(`/v2/contracts/call-read/${addr}/${name}/no-such-fn`, { sender: acct.wallet_1.address, arguments: [] });
    assert.equal(bad.body.okay, false);

    const iface = (await api.get(`/v2/contracts/interface/${addr}/${name}`)).body;
    assert.ok(iface.functions.some((f) => f.name === 'pay' && f.access === 'public'));
    const sbtcIface = await api.get(`/v2/contracts/interface/${SBTC.replace('.', '/')}`);
    assert.equal(sbtcIface.status, 200);

    const entry = (await api.post(`/v2/map_entry/${addr}/${name}/payments`, '0x' + Cl.serialize(Cl.stringAscii('inv-0001')))).body;
    assert.match(cvToString(hexToCV(entry.data)), /amount u25000/);

    const logs = (await api.get(`/extended/v2/smart-contracts/${devnet.chain.gatewayContractId}/logs`)).body;
    assert.equal(logs.total, 1);
    assert.equal(logs.results[0].event_type, 'smart_contract_log');

    const events = (await api.get(`/extended/v1/tx/events?address=${acct.wallet_2.address}&type=fungible_token_asset`)).body;
    assert.equal(events.events.length, 1);

    const txs = (await api.get(`/extended/v1/address/${acct.wallet_1.address}/transactions`)).body;
    assert.equal(txs.total, 1);
    const latest = (await api.get('/extended/v2/blocks/latest')).body;
    assert.equal(latest.height, devnet.chain.tipHeight);
    const byHash = (await api.get(`/extended/v2/blocks/${latest.hash}`)).body;
    assert.equal(byHash.height, latest.height);
    const byHeight = (await api.get(`/extended/v2/blocks/${latest.height - 1}`)).body;
    assert.equal(byHeight.hash, latest.parent_block_hash);
    assert.equal((await api.get('/extended/v1/tx/' + 'ab'.repeat(32))).status, 404);
  });

  it('enforces the Hiro paging limits (tx lists 50, events 100, blocks 30)', async () => {
    const w = acct.wallet_1.address;
    assert.equal((await api.get(`/extended/v1/address/${w}/transactions?limit=50`)).status, 200);
    assert.equal((await api.get(`/extended/v1/address/${w}/transactions?limit=51`)).status, 400);
    assert.equal((await api.get(`/extended/v1/tx/events?address=${w}&limit=101`)).status, 400);
    assert.equal((await api.get(`/extended/v2/smart-contracts/${devnet.chain.gatewayContractId}/logs?limit=101`)).status, 400);
    assert.equal((await api.get('/extended/v2/blocks?limit=31')).status, 400);
    const page = (await api.get('/extended/v2/blocks?limit=2')).body;
    const next = (await api.get(`/extended/v2/blocks?limit=2&cursor=${page.next_cursor}`)).body;
    assert.equal(next.results[0].height, page.results[1].height - 1);
    assert.equal((await api.get('/v2/accounts/not-an-address')).status, 404);
  });

  it('advances burn blocks on demand and reports them in /v2/info', async () => {
    const before = (await api.get('/v2/info')).body;
    const mined = await api.post('/devnet/mine', { blocks: 0, burn_blocks: 2 });
    assert.equal(mined.body.blocks.length, 2);
    const info = (await api.get('/v2/info')).body;
    assert.equal(info.burn_block_height, before.burn_block_height + 2);
    assert.equal(info.stacks_tip_height, before.stacks_tip_height + 2);
    assert.equal(info.network_id, 2147483648);
  });

  it('mines a chain of nonces from one sender in one block, in nonce order', async () => {
    const txs = [];
    for (let n = 1; n <= 3; n++) txs.push(await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 10n, invoice: `inv-chain-${n}`, nonce: BigInt(n) }));
    // submit out of order: 3, 1, 2
    for (const t of [txs[2], txs[0], txs[1]]) assert.equal((await api.post('/v2/transactions', { tx: t.serialize() })).status, 200);
    const mined = (await api.post('/devnet/mine', {})).body;
    assert.equal(mined.blocks[0].tx_count, 3);
    const statuses = await Promise.all(txs.map(async (t) => (await api.get(`/extended/v1/tx/${t.txid()}`)).body));
    assert.deepEqual(statuses.map((s) => s.tx_status), ['success', 'success', 'success']);
    assert.deepEqual(statuses.map((s) => s.tx_index), [0, 1, 2]);
  });

  it('mines on a timer when a block time is set', async () => {
    devnet.setBlockTimes(50, 0);
    try {
      await api.post('/devnet/faucet', { address: acct.wallet_5.address, stx: 1_000_000 });
      const tx = await stxTx(devnet, { from: acct.wallet_5, to: acct.wallet_6, nonce: 0n, fee: 180n });
      await api.post('/v2/transactions', { tx: tx.serialize() });
      let status = 'pending';
      for (let i = 0; i < 1200 && status === 'pending'; i++) {
        await new Promise((r) => setTimeout(r, 25));
        status = (await api.get(`/extended/v1/tx/${tx.txid()}`)).body.tx_status;
      }
      assert.equal(status, 'success');
    } finally {
      devnet.setBlockTimes(0, 0);
    }
  });
});

describe('chain clock', () => {
  it('block_time is the contracts\' clock: starts near now, +10 s per block, ~600 s per burn block, same after a rebuild', async () => {
    const devnet = await startDevnet();
    try {
      const api = client(devnet);
      const now = Math.floor(Date.now() / 1000);
      const t0 = (await api.get('/extended/v2/blocks/latest')).body.block_time;
      assert.ok(Math.abs(t0 - now) < 120, `tip time ${t0} vs now ${now}`);
      await api.post('/devnet/mine', { blocks: 2 });
      const t1 = (await api.get('/extended/v2/blocks/latest')).body.block_time;
      assert.equal(t1, t0 + 20, JSON.stringify(devnet.chain.blocks.map((b) => [b.height, b.block_time])));
      await api.post('/devnet/mine', { blocks: 0, burn_blocks: 1 });
      const t2 = (await api.get('/extended/v2/blocks/latest')).body.block_time;
      // a new tenure starts at genesis + 600 s × burn height (then +10 s per Stacks block)
      assert.ok(t2 >= t1 + 500, `${t2} vs ${t1}`);
      const inContract = devnet.chain.simnet.execute('stacks-block-time').result;
      assert.equal(Number(inContract.value), t2);
      await api.post('/devnet/mine', { blocks: 1 });
      await api.post('/devnet/reorg', { depth: 1 });
      assert.equal(Number(devnet.chain.simnet.getBlockTime()), t2, 'replayed simnet has the same clock');
    } finally {
      await devnet.stop();
    }
  });
});
