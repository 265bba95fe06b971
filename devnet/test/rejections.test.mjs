// Every admission check answers with the node's rejection shape and leaves no trace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cl, deserializeTransaction, makeContractCall, makeContractDeploy, makeSTXTokenTransfer } from '@stacks/transactions';
import { SBTC, acct, client, network, payTx, startDevnet, stxTx } from './helpers.mjs';

describe('transaction rejections', () => {
  let devnet;
  let api;
  before(async () => {
    devnet = await startDevnet();
    api = client(devnet);
    await api.post('/devnet/faucet', { address: acct.wallet_1.address, sbtc: 100_000 });
  });
  after(() => devnet.stop());

  async function expectRejected(hexOrBytes, reason, check = () => {}) {
    const res = hexOrBytes instanceof Uint8Array ? await api.post('/v2/transactions', hexOrBytes) : await api.post('/v2/transactions', { tx: hexOrBytes });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error, 'transaction rejected');
    assert.equal(res.body.reason, reason, JSON.stringify(res.body));
    assert.equal(typeof res.body.txid, 'string');
    check(res.body);
    assert.equal(devnet.chain.mempool.length, 0, 'nothing entered the mempool');
    return res.body;
  }

  it('Deserialization: garbage bytes and a truncated transaction', async () => {
    await expectRejected(new Uint8Array([1, 2, 3]), 'Deserialization', (b) => assert.ok(b.reason_data.message));
    const tx = await stxTx(devnet, { from: acct.wallet_1, to: acct.wallet_2, nonce: 0n, fee: 180n });
    await expectRejected(tx.serialize().slice(0, 60), 'Deserialization');
    await expectRejected('zz', 'Deserialization');
  });

  it('SignatureValidation: a signature that does not match the signer', async () => {
    const tx = await stxTx(devnet, { from: acct.wallet_1, to: acct.wallet_2, nonce: 0n, fee: 180n });
    const hex = tx.serialize();
    // flip one byte inside the 65-byte signature (after version, chain id, auth type, hash mode,
    // signer, nonce, fee, key encoding = 1+4+1+1+20+8+8+1 bytes)
    const at = (1 + 4 + 1 + 1 + 20 + 8 + 8 + 1 + 10) * 2;
    const flipped = hex.slice(0, at) + ((parseInt(hex.slice(at, at + 2), 16) ^ 0xff).toString(16).padStart(2, '0')) + hex.slice(at + 2);
    const body = await expectRejected(flipped, 'SignatureValidation', (b) => assert.ok(b.reason_data.message));
    assert.equal(body.txid, deserializeTransaction(flipped).txid());
  });

  it('BadTransactionVersion: a mainnet transaction (wrong chain id and version)', async () => {
    const tx = await makeSTXTokenTransfer({ recipient: acct.wallet_2.address, amount: 10n, senderKey: acct.wallet_1.private_key, nonce: 0n, fee: 180n, network: 'mainnet' });
    await expectRejected(tx.serialize(), 'BadTransactionVersion');
  });

  it('BadTransactionVersion: testnet version byte but a foreign chain id', async () => {
    const tx = await makeSTXTokenTransfer({ recipient: acct.wallet_2.address, amount: 10n, senderKey: acct.wallet_1.private_key, nonce: 0n, fee: 180n, network: { ...(await import('@stacks/network')).STACKS_TESTNET, chainId: 0x12345678 } });
    await expectRejected(tx.serialize(), 'BadTransactionVersion');
  });

  it('FeeTooLow: below 1 µSTX per byte', async () => {
    const tx = await stxTx(devnet, { from: acct.wallet_1, to: acct.wallet_2, nonce: 0n, fee: 1n });
    await expectRejected(tx.serialize(), 'FeeTooLow', (b) => {
      assert.equal(b.reason_data.actual, 1);
      assert.equal(b.reason_data.expected, tx.serializeBytes().length);
    });
  });

  it('BadNonce: a nonce already used', async () => {
    const first = await stxTx(devnet, { from: acct.wallet_7, to: acct.wallet_2, nonce: 0n, fee: 180n });
    assert.equal((await api.post('/v2/transactions', { tx: first.serialize() })).status, 200);
    await api.post('/devnet/mine', {});
    const again = await stxTx(devnet, { from: acct.wallet_7, to: acct.wallet_2, amount: 5n, nonce: 0n, fee: 180n });
    await expectRejected(again.serialize(), 'BadNonce', (b) => {
      assert.equal(b.reason_data.expected, 1);
      assert.equal(b.reason_data.actual, 0);
    });
  });

  it('ConflictingNonceInMempool: same nonce, no higher fee; a higher fee replaces (RBF)', async () => {
    const a = await stxTx(devnet, { from: acct.wallet_8, to: acct.wallet_2, amount: 1n, nonce: 0n, fee: 300n });
    assert.equal((await api.post('/v2/transactions', { tx: a.serialize() })).status, 200);
    const b = await stxTx(devnet, { from: acct.wallet_8, to: acct.wallet_2, amount: 2n, nonce: 0n, fee: 300n });
    const res = await api.post('/v2/transactions', { tx: b.serialize() });
    assert.equal(res.status, 400);
    assert.equal(res.body.reason, 'ConflictingNonceInMempool');
    const c = await stxTx(devnet, { from: acct.wallet_8, to: acct.wallet_2, amount: 3n, nonce: 0n, fee: 400n });
    assert.equal((await api.post('/v2/transactions', { tx: c.serialize() })).status, 200);
    const old = (await api.get(`/extended/v1/tx/${a.txid()}`)).body;
    assert.equal(old.tx_status, 'dropped_replace_by_fee');
    await api.post('/devnet/mine', {});
    assert.equal((await api.get(`/extended/v1/tx/${c.txid()}`)).body.tx_status, 'success');
    assert.equal(devnet.chain.mempool.length, 0);
  });

  it('NotEnoughFunds: fee plus amount above the balance', async () => {
    const broke = { address: 'ST2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXH4HF6PF', private_key: 'b244296d5907de9864c0b0d51f98a13c52890be0404e83f273144cd5b9960eed01' };
    const tx = await stxTx(devnet, { from: broke, to: acct.wallet_2, amount: 10n, nonce: 0n, fee: 180n });
    await expectRejected(tx.serialize(), 'NotEnoughFunds', (b) => {
      assert.equal(b.reason_data.expected, '0x' + (190).toString(16).padStart(32, '0'));
      assert.equal(b.reason_data.actual, '0x' + '0'.repeat(32));
    });
  });

  it('TransferRecipientCannotEqualSender', async () => {
    const tx = await stxTx(devnet, { from: acct.wallet_1, to: acct.wallet_1, nonce: 0n, fee: 180n });
    await expectRejected(tx.serialize(), 'TransferRecipientCannotEqualSender');
  });

  it('NoSuchContract, NoSuchPublicFunction, BadFunctionArgument', async () => {
    const base = { senderKey: acct.wallet_1.private_key, nonce: 0n, fee: 3000n, postConditionMode: 'allow', validateWithAbi: false, ...network(devnet) };
    const [addr, name] = devnet.chain.gatewayContractId.split('.');
    const noContract = await makeContractCall({ ...base, contractAddress: addr, contractName: 'nope', functionName: 'pay', functionArgs: [] });
    await expectRejected(noContract.serialize(), 'NoSuchContract');
    const noFn = await makeContractCall({ ...base, contractAddress: addr, contractName: name, functionName: 'get-payment-count', functionArgs: [] });
    await expectRejected(noFn.serialize(), 'NoSuchPublicFunction');
    const wrongType = await makeContractCall({ ...base, contractAddress: addr, contractName: name, functionName: 'pay', functionArgs: [Cl.principal(SBTC), Cl.int(5), Cl.principal(acct.wallet_2.address), Cl.stringAscii('x')] });
    await expectRejected(wrongType.serialize(), 'BadFunctionArgument', (b) => assert.match(b.reason_data.message, /amount/));
    const wrongCount = await makeContractCall({ ...base, contractAddress: addr, contractName: name, functionName: 'pay', functionArgs: [Cl.uint(1)] });
    await expectRejected(wrongCount.serialize(), 'BadFunctionArgument');
    const tooLong = await makeContractCall({ ...base, contractAddress: addr, contractName: name, functionName: 'pay', functionArgs: [Cl.principal(SBTC), Cl.uint(5), Cl.principal(acct.wallet_2.address), Cl.stringAscii('x'.repeat(37))] });
    await expectRejected(tooLong.serialize(), 'BadFunctionArgument');
  });

  it('ContractAlreadyExists', async () => {
    const tx = await makeContractDeploy({ contractName: 'pay-fixture', codeBody: '(define-read-only (x) u1)', senderKey: acct.deployer.private_key, nonce: 0n, fee: 10000n, ...network(devnet) });
    await expectRejected(tx.serialize(), 'ContractAlreadyExists', (b) => assert.equal(b.reason_data.contract_identifier, devnet.chain.gatewayContractId));
  });

  it('a duplicate broadcast answers the same txid and is not queued twice', async () => {
    const tx = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 5n, invoice: 'dup', nonce: 0n });
    assert.equal((await api.post('/v2/transactions', { tx: tx.serialize() })).body, tx.txid());
    assert.equal((await api.post('/v2/transactions', { tx: tx.serialize() })).body, tx.txid());
    assert.equal(devnet.chain.mempool.length, 1);
    await api.post('/devnet/mine', {});
    assert.equal(devnet.chain.mempool.length, 0);
  });
});
