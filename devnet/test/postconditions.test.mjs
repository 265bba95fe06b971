// Post-conditions are enforced: a violating transaction is mined as abort_by_post_condition
// and changes nothing, not even for the transactions around it in the same block.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pc, TransactionSigner, createLPList, makeUnsignedSTXTokenTransfer, postConditionToWire, privateKeyToPublic } from '@stacks/transactions';
import { SBTC_ASSET, acct, client, network, payTx, startDevnet, stxTx } from './helpers.mjs';

/** A signed STX transfer that carries post-conditions (stacks.js's builder offers none for it). */
async function stxTransferWithPostConditions(devnet, { from, to, amount, nonce, fee }) {
  const tx = await makeUnsignedSTXTokenTransfer({ recipient: to.address, amount, nonce, fee, publicKey: privateKeyToPublic(from.private_key), ...network(devnet) });
  tx.postConditions = createLPList([postConditionToWire(Pc.principal(from.address).willSendEq(amount).ustx())]);
  new TransactionSigner(tx).signOrigin(from.private_key);
  return tx;
}

describe('post-conditions', () => {
  let devnet;
  let api;
  const sbtcOf = async (who) => (await api.get(`/extended/v1/address/${who.address}/balances`)).body.fungible_tokens[SBTC_ASSET]?.balance ?? '0';
  const countOf = async () => {
    const [a, n] = devnet.chain.gatewayContractId.split('.');
    return (await api.post(`/v2/contracts/call-read/${a}/${n}/get-payment-count`, { sender: acct.wallet_1.address, arguments: [] })).body.result;
  };

  before(async () => {
    devnet = await startDevnet();
    api = client(devnet);
    await api.post('/devnet/faucet', { address: acct.wallet_1.address, sbtc: 100_000 });
    await api.post('/devnet/faucet', { address: acct.wallet_3.address, sbtc: 100_000 });
  });
  after(() => devnet.stop());

  it('a transfer above the deny-mode post-condition aborts with no state change; its neighbours succeed', async () => {
    const payerBefore = await sbtcOf(acct.wallet_1);
    const merchantBefore = await sbtcOf(acct.wallet_2);
    const countBefore = await countOf();
    // same block: a good payment by wallet_3, the violating overpay by wallet_1, then wallet_1's next nonce
    const good = await payTx(devnet, { payer: acct.wallet_3, merchant: acct.wallet_4, amount: 700n, invoice: 'pc-good', nonce: 0n });
    const bad = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 1000n, nonce: 0n, fn: 'overpay' });
    const next = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 10n, invoice: 'pc-next', nonce: 1n, postConditions: [{ type: 'ft-postcondition', address: acct.wallet_1.address, condition: 'lte', amount: 10n, asset: SBTC_ASSET }] });
    for (const t of [good, bad, next]) assert.equal((await api.post('/v2/transactions', { tx: t.serialize() })).status, 200);
    const mined = (await api.post('/devnet/mine', {})).body;
    assert.equal(mined.blocks[0].tx_count, 3);

    const badTx = (await api.get(`/extended/v1/tx/${bad.txid()}`)).body;
    assert.equal(badTx.tx_status, 'abort_by_post_condition');
    assert.equal(badTx.events.length, 0);
    assert.equal(badTx.event_count, 0);
    assert.match(badTx.vm_error, /Post-condition/);
    assert.equal(badTx.block_height, mined.blocks[0].height);
    assert.equal((await api.get(`/extended/v1/tx/${good.txid()}`)).body.tx_status, 'success');
    assert.equal((await api.get(`/extended/v1/tx/${next.txid()}`)).body.tx_status, 'success');

    // overpay would have moved 2000 and bumped the counter: neither happened
    assert.equal(await sbtcOf(acct.wallet_1), String(BigInt(payerBefore) - 10n));
    assert.equal(await sbtcOf(acct.wallet_2), String(BigInt(merchantBefore) + 10n));
    assert.equal(await sbtcOf(acct.wallet_4), '700');
    const countAfter = await countOf();
    assert.notEqual(countAfter, countBefore);
    // two successful payments, the aborted overpay not counted
    assert.equal(countAfter, '0x0100000000000000000000000000000002');
    // the aborted transaction still used its nonce
    assert.equal((await api.get(`/v2/accounts/${acct.wallet_1.address}`)).body.nonce, 2);
  });

  it('deny mode with no post-condition for a moved asset aborts', async () => {
    const before = await sbtcOf(acct.wallet_1);
    const tx = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 50n, invoice: 'pc-none', nonce: 2n, postConditions: [] });
    await api.post('/v2/transactions', { tx: tx.serialize() });
    await api.post('/devnet/mine', {});
    assert.equal((await api.get(`/extended/v1/tx/${tx.txid()}`)).body.tx_status, 'abort_by_post_condition');
    assert.equal(await sbtcOf(acct.wallet_1), before);
  });

  it('allow mode lets an unlisted transfer through; an err response aborts by response', async () => {
    const allowed = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 50n, invoice: 'pc-allow', nonce: 3n, postConditions: [], mode: 'allow' });
    const duplicate = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 50n, invoice: 'pc-allow', nonce: 4n, mode: 'allow' });
    await api.post('/v2/transactions', { tx: allowed.serialize() });
    await api.post('/v2/transactions', { tx: duplicate.serialize() });
    await api.post('/devnet/mine', {});
    assert.equal((await api.get(`/extended/v1/tx/${allowed.txid()}`)).body.tx_status, 'success');
    const dup = (await api.get(`/extended/v1/tx/${duplicate.txid()}`)).body;
    assert.equal(dup.tx_status, 'abort_by_response');
    assert.equal(dup.tx_result.repr, '(err u102)');
  });

  it('a post-condition on the wrong amount (eq) fails even when less moved', async () => {
    const tx = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 10n, invoice: 'pc-eq', nonce: 5n, postConditions: [{ type: 'ft-postcondition', address: acct.wallet_1.address, condition: 'eq', amount: 11n, asset: SBTC_ASSET }] });
    await api.post('/v2/transactions', { tx: tx.serialize() });
    await api.post('/devnet/mine', {});
    assert.equal((await api.get(`/extended/v1/tx/${tx.txid()}`)).body.tx_status, 'abort_by_post_condition');
  });

  it('a runtime error is mined as abort_by_response with vm_error and no state change', async () => {
    const [contractAddress, contractName] = devnet.chain.gatewayContractId.split('.');
    const { makeContractCall, Cl } = await import('@stacks/transactions');
    const boom = await makeContractCall({ contractAddress, contractName, functionName: 'explode', functionArgs: [Cl.uint(0)], senderKey: acct.wallet_5.private_key, nonce: 0n, fee: 3000n, network: 'testnet', client: { baseUrl: devnet.url } });
    const fine = await stxTx(devnet, { from: acct.wallet_6, to: acct.wallet_7, nonce: 0n, fee: 180n });
    const rebuildsBefore = devnet.chain.stats.rebuilds;
    await api.post('/v2/transactions', { tx: boom.serialize() });
    await api.post('/v2/transactions', { tx: fine.serialize() });
    const mined = (await api.post('/devnet/mine', {})).body;
    assert.equal(mined.blocks[0].tx_count, 2);
    const b = (await api.get(`/extended/v1/tx/${boom.txid()}`)).body;
    assert.equal(b.tx_status, 'abort_by_response');
    assert.match(b.vm_error, /DivisionByZero/);
    assert.equal(devnet.chain.stats.rebuilds, rebuildsBefore + 1, 'one rebuild, culprit named by the VM');
    assert.equal((await api.get(`/extended/v1/tx/${fine.txid()}`)).body.tx_status, 'success');
    assert.equal(devnet.chain.simnet.stacksBlockHeight, devnet.chain.tipHeight);
  });
});

// stacks-core admits such a transfer to its mempool (its admission checks do not look at a
// transfer's post-conditions; stacks-core issue #2896) but can never mine it: executing it in a
// block fails with "Invalid Stacks transaction: TokenTransfer transactions do not support
// post-conditions", so the miner skips it, and the sender's later nonces wait behind it.
describe('an STX transfer that carries post-conditions', () => {
  let devnet;
  let api;
  before(async () => {
    devnet = await startDevnet();
    api = client(devnet);
  });
  after(() => devnet.stop());

  it('is admitted but never mined; a valid replacement by fee unblocks the sender', async () => {
    const balance = async (who) => BigInt((await api.get(`/v2/accounts/${who.address}?proof=0`)).body.balance);
    const recipientBefore = await balance(acct.wallet_2);
    const invalid = await stxTransferWithPostConditions(devnet, { from: acct.wallet_1, to: acct.wallet_2, amount: 1000n, nonce: 0n, fee: 300n });
    const after = await stxTx(devnet, { from: acct.wallet_1, to: acct.wallet_2, amount: 5n, nonce: 1n, fee: 300n });
    const other = await stxTx(devnet, { from: acct.wallet_3, to: acct.wallet_2, amount: 7n, nonce: 0n, fee: 300n });
    for (const t of [invalid, after, other]) assert.equal((await api.post('/v2/transactions', { tx: t.serialize() })).status, 200);
    assert.equal(devnet.chain.hasWork(), true);

    const mined = (await api.post('/devnet/mine', { blocks: 2 })).body;
    assert.deepEqual(mined.blocks.map((b) => b.txids), [['0x' + other.txid()], []]);
    const stuck = (await api.get(`/extended/v1/tx/${invalid.txid()}`)).body;
    assert.equal(stuck.tx_status, 'pending');
    assert.equal(stuck.post_conditions.length, 1);
    assert.equal((await api.get(`/extended/v1/tx/${after.txid()}`)).body.tx_status, 'pending');
    assert.equal((await api.get(`/v2/accounts/${acct.wallet_1.address}`)).body.nonce, 0);
    assert.equal(await balance(acct.wallet_2), recipientBefore + 7n);
    assert.equal(devnet.chain.hasWork(), false, 'the block timer does not mine empty blocks for it');

    const replacement = await stxTx(devnet, { from: acct.wallet_1, to: acct.wallet_2, amount: 1000n, nonce: 0n, fee: 600n });
    assert.equal((await api.post('/v2/transactions', { tx: replacement.serialize() })).status, 200);
    const next = (await api.post('/devnet/mine', {})).body;
    assert.deepEqual(next.blocks[0].txids, ['0x' + replacement.txid(), '0x' + after.txid()]);
    assert.equal((await api.get(`/extended/v1/tx/${invalid.txid()}`)).body.tx_status, 'dropped_replace_by_fee');
    assert.equal(await balance(acct.wallet_2), recipientBefore + 7n + 1005n);
  });
});
