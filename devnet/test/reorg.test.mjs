// Reorgs roll blocks back (their transactions return to the mempool, state is undone; those in
// `drop` are lost with the fork) and observers receive Chainhook apply/rollback and node /new_block payloads with a bearer token.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Ajv from 'ajv';
import { StacksPayloadSchema } from '@hirosystems/chainhook-client/dist/schemas/stacks/payload.js';
import { SBTC_ASSET, acct, client, payTx, startDevnet, stxTx } from './helpers.mjs';

function receiver() {
  const got = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url, auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, got, url: `http://127.0.0.1:${server.address().port}` })));
}

describe('reorg and observers', () => {
  let devnet;
  let api;
  let hook;
  let node;
  before(async () => {
    hook = await receiver();
    node = await receiver();
    devnet = await startDevnet({ observers: [{ url: hook.url + '/chainhook', format: 'chainhook', token: 'hook-secret' }] });
    api = client(devnet);
    const reg = await api.post('/devnet/observers', { url: node.url, format: 'event_observer', token: 'node-secret' });
    assert.equal(reg.status, 200);
    await api.post('/devnet/faucet', { address: acct.wallet_1.address, sbtc: 100_000 });
  });
  after(async () => {
    await devnet.stop();
    hook.server.close();
    node.server.close();
  });

  it('pushes apply payloads and /new_block with the bearer token', async () => {
    const tx = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 100n, invoice: 'obs-1', nonce: 0n });
    await api.post('/v2/transactions', { tx: tx.serialize() });
    const mined = (await api.post('/devnet/mine', {})).body.blocks[0];
    await devnet.observers.drain();

    const apply = hook.got.find((g) => g.body.apply.length && g.body.apply[0].block_identifier.index === mined.height);
    assert.ok(apply, 'chainhook apply received');
    assert.equal(apply.auth, 'Bearer hook-secret');
    assert.equal(apply.path, '/chainhook');
    const block = apply.body.apply[0];
    assert.equal(block.block_identifier.hash, mined.hash);
    assert.equal(block.transactions[0].transaction_identifier.hash, '0x' + tx.txid());
    assert.equal(block.transactions[0].metadata.success, true);
    const types = block.transactions[0].metadata.receipt.events.map((e) => e.type);
    assert.ok(types.includes('FTTransferEvent'));
    assert.ok(types.includes('SmartContractEvent'));
    assert.ok(apply.body.chainhook.uuid);

    const nb = node.got.find((g) => g.path === '/new_block' && g.body.block_height === mined.height);
    assert.ok(nb, '/new_block received');
    assert.equal(nb.auth, 'Bearer node-secret');
    assert.equal(nb.body.index_block_hash, devnet.chain.blocks[mined.height].index_block_hash);
    assert.equal(nb.body.parent_index_block_hash, devnet.chain.blocks[mined.height - 1].index_block_hash);
    assert.equal(nb.body.transactions[0].txid, '0x' + tx.txid());
    assert.equal(nb.body.transactions[0].status, 'success');
    const ev = nb.body.events.find((e) => e.type === 'ft_transfer_event');
    assert.equal(ev.ft_transfer_event.asset_identifier, SBTC_ASSET);
    assert.ok(nb.body.events.some((e) => e.type === 'contract_event' && e.contract_event.raw_value.startsWith('0x0c')));
    assert.ok(node.got.some((g) => g.path === '/new_mempool_tx'));
  });

  it('reorg: rolls back blocks, returns their transactions to the mempool, undoes state, re-mines', async () => {
    const sbtc = async (who) => (await api.get(`/extended/v1/address/${who.address}/balances`)).body.fungible_tokens[SBTC_ASSET]?.balance ?? '0';
    const tx = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 500n, invoice: 'reorg-1', nonce: 1n });
    await api.post('/v2/transactions', { tx: tx.serialize() });
    const minedBlock = (await api.post('/devnet/mine', { blocks: 2 })).body.blocks[0];
    assert.equal((await api.get(`/extended/v1/tx/${tx.txid()}`)).body.tx_status, 'success');
    const merchantAfter = await sbtc(acct.wallet_2);
    const tipBefore = devnet.chain.tipHeight;

    const reorg = await api.post('/devnet/reorg', { depth: 2 });
    assert.equal(reorg.status, 200);
    assert.equal(reorg.body.fork_height, tipBefore - 2);
    assert.deepEqual(reorg.body.mempool, ['0x' + tx.txid()]);
    assert.equal(devnet.chain.tipHeight, tipBefore - 2);

    const back = (await api.get(`/extended/v1/tx/${tx.txid()}`)).body;
    assert.equal(back.tx_status, 'pending');
    assert.equal(await sbtc(acct.wallet_2), String(BigInt(merchantAfter) - 500n));
    assert.equal((await api.get(`/v2/accounts/${acct.wallet_1.address}`)).body.nonce, 1);
    // the orphaned block is still addressable by hash and says it is not canonical
    const orphan = (await api.get(`/extended/v2/blocks/${minedBlock.hash}`)).body;
    assert.equal(orphan.canonical, false);

    await devnet.observers.drain();
    const rb = hook.got.find((g) => g.body.rollback.length);
    assert.ok(rb, 'chainhook rollback received');
    assert.deepEqual(rb.body.rollback.map((b) => b.block_identifier.index), [tipBefore, tipBefore - 1]);
    assert.equal(rb.body.rollback[1].transactions[0].transaction_identifier.hash, '0x' + tx.txid());

    // mining again includes it in a new block on the new fork, with a different hash
    const again = (await api.post('/devnet/mine', {})).body.blocks[0];
    assert.equal(again.height, minedBlock.height);
    assert.notEqual(again.hash, minedBlock.hash);
    const final = (await api.get(`/extended/v1/tx/${tx.txid()}`)).body;
    assert.equal(final.tx_status, 'success');
    assert.equal(final.block_hash, again.hash);
    assert.equal(await sbtc(acct.wallet_2), merchantAfter);
    await devnet.observers.drain();
    const nb = node.got.filter((g) => g.path === '/new_block' && g.body.block_height === again.height).pop();
    assert.equal(nb.body.block_hash, again.hash);
    assert.equal(nb.body.parent_index_block_hash, devnet.chain.blocks[again.height - 1].index_block_hash);
  });

  it('every Chainhook payload validates against the chainhook-client StacksPayloadSchema', async () => {
    await devnet.observers.drain();
    const validate = new Ajv({ strict: false, allErrors: true }).compile(StacksPayloadSchema);
    assert.ok(hook.got.length >= 3);
    for (const g of hook.got) assert.ok(validate(g.body), JSON.stringify(validate.errors));
  });

  it('reorg with drop: the listed transactions are lost across the fork, the others re-mined', async () => {
    const sbtc = async (who) => (await api.get(`/extended/v1/address/${who.address}/balances`)).body.fungible_tokens[SBTC_ASSET]?.balance ?? '0';
    await api.post('/devnet/faucet', { address: acct.wallet_5.address, sbtc: 10_000 });
    const lost = await payTx(devnet, { payer: acct.wallet_5, merchant: acct.wallet_2, amount: 700n, invoice: 'lost-1', nonce: 0n });
    const kept = await stxTx(devnet, { from: acct.wallet_6, to: acct.wallet_7, nonce: 0n, fee: 3000n });
    for (const t of [lost, kept]) assert.equal((await api.post('/v2/transactions', { tx: t.serialize() })).status, 200);
    const merchantBefore = await sbtc(acct.wallet_2);
    const mined = (await api.post('/devnet/mine', {})).body.blocks[0];
    assert.equal(mined.tx_count, 2);
    assert.equal(await sbtc(acct.wallet_2), String(BigInt(merchantBefore) + 700n));

    // only transactions of the rolled-back blocks can be dropped; a refusal changes nothing
    const refused = await api.post('/devnet/reorg', { depth: 1, drop: ['0x' + '00'.repeat(32)] });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error, /not in a rolled-back block/);
    assert.equal((await api.post('/devnet/reorg', { depth: 1, drop: 'nope' })).status, 400);
    assert.equal(devnet.chain.tip.hash, mined.hash);

    const reorg = await api.post('/devnet/reorg', { depth: 1, drop: ['0x' + lost.txid()] });
    assert.equal(reorg.status, 200);
    assert.deepEqual(reorg.body.mempool, ['0x' + kept.txid()]);
    assert.deepEqual(reorg.body.dropped, ['0x' + lost.txid()]);
    const gone = (await api.get(`/extended/v1/tx/0x${lost.txid()}`)).body;
    assert.equal(gone.tx_status, 'dropped_replace_across_fork');
    assert.equal(gone.block_height, undefined);
    assert.equal(await sbtc(acct.wallet_2), merchantBefore);
    assert.equal((await api.get(`/extended/v1/address/${acct.wallet_5.address}/nonces`)).body.possible_next_nonce, 0);
    assert.ok(!(await api.get('/extended/v1/tx/mempool')).body.results.some((t) => t.tx_id === '0x' + lost.txid()));

    const again = (await api.post('/devnet/mine', {})).body.blocks[0];
    assert.deepEqual(again.txids, ['0x' + kept.txid()]);
    assert.equal((await api.get(`/extended/v1/tx/0x${lost.txid()}`)).body.tx_status, 'dropped_replace_across_fork');
    assert.equal(await sbtc(acct.wallet_2), merchantBefore);

    // the wallet may broadcast the lost transaction again: it is pending, then mined
    assert.equal((await api.post('/v2/transactions', { tx: lost.serialize() })).status, 200);
    assert.equal((await api.get(`/extended/v1/tx/0x${lost.txid()}`)).body.tx_status, 'pending');
    await api.post('/devnet/mine', {});
    assert.equal((await api.get(`/extended/v1/tx/0x${lost.txid()}`)).body.tx_status, 'success');
    assert.equal(await sbtc(acct.wallet_2), String(BigInt(merchantBefore) + 700n));
  });

  it('faucet mints survive a reorg; burn height rolls back with the blocks', async () => {
    await api.post('/devnet/mine', { blocks: 0, burn_blocks: 1 });
    const burnBefore = devnet.chain.burnHeight;
    await api.post('/devnet/faucet', { address: acct.wallet_8.address, sbtc: 4242 });
    await api.post('/devnet/reorg', { depth: 1 });
    assert.equal(devnet.chain.burnHeight, burnBefore - 1);
    const bal = (await api.get(`/extended/v1/address/${acct.wallet_8.address}/balances`)).body;
    assert.equal(bal.fungible_tokens[SBTC_ASSET].balance, '4242');
  });
});
