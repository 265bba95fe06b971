// Response shapes checked against the Hiro API's own published schemas:
//  - /extended/… responses against the OpenAPI types of @stacks/blockchain-api-client 9.x,
//    by type-checking the live JSON as object literals with the TypeScript compiler (strict,
//    with excess-property checks, so a missing, extra or mistyped field fails);
//  - node RPC /v2/… responses (not in that client) against the JSON schemas of
//    @stacks/stacks-blockchain-api-types, with ajv.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { makeContractCall, Cl } from '@stacks/transactions';
import { DEVNET_DIR, SBTC_ASSET, acct, client, network, payTx, startDevnet, stxTx } from './helpers.mjs';

const require = createRequire(import.meta.url);
const run = promisify(execFile);

function schema(rel) {
  return JSON.parse(readFileSync(require.resolve(`@stacks/stacks-blockchain-api-types/${rel}`), 'utf8'));
}

describe('response shapes', () => {
  let devnet;
  let api;
  const samples = []; // [type key, json, label]
  const rpc = {};

  before(async () => {
    devnet = await startDevnet();
    api = client(devnet);
    await api.post('/devnet/faucet', { address: acct.wallet_1.address, sbtc: 100_000 });
    const ok = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 2500n, invoice: 'shape-1', nonce: 0n });
    const aborted = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 10n, nonce: 1n, fn: 'overpay' });
    const transfer = await stxTx(devnet, { from: acct.wallet_3, to: acct.wallet_4, nonce: 0n, fee: 180n, memo: 'inv-0001' });
    const [addr, name] = devnet.chain.gatewayContractId.split('.');
    const failed = await makeContractCall({ contractAddress: addr, contractName: name, functionName: 'pay', functionArgs: [Cl.principal('SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token'), Cl.uint(0), Cl.principal(acct.wallet_2.address), Cl.stringAscii('zero')], senderKey: acct.wallet_5.private_key, nonce: 0n, fee: 3000n, postConditionMode: 'allow', ...network(devnet) });
    for (const t of [ok, aborted, transfer, failed]) await api.post('/v2/transactions', { tx: t.serialize() });
    await api.post('/devnet/mine', {});
    const pending = await payTx(devnet, { payer: acct.wallet_1, merchant: acct.wallet_2, amount: 1n, invoice: 'shape-pending', nonce: 2n });
    await api.post('/v2/transactions', { tx: pending.serialize() });
    const block = devnet.chain.tip;
    const contract = devnet.chain.gatewayContractId;
    const w1 = acct.wallet_1.address;

    const add = async (key, path, label = path) => {
      const res = await api.get(path);
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
      samples.push([key, res.body, label]);
    };
    await add('/extended/v1/tx/{tx_id}', `/extended/v1/tx/0x${ok.txid()}`, 'contract call, success');
    await add('/extended/v1/tx/{tx_id}', `/extended/v1/tx/0x${aborted.txid()}`, 'abort_by_post_condition');
    await add('/extended/v1/tx/{tx_id}', `/extended/v1/tx/0x${failed.txid()}`, 'abort_by_response');
    await add('/extended/v1/tx/{tx_id}', `/extended/v1/tx/0x${transfer.txid()}`, 'token transfer');
    await add('/extended/v1/tx/{tx_id}', `/extended/v1/tx/0x${pending.txid()}`, 'pending');
    await add('/extended/v1/tx/mempool', '/extended/v1/tx/mempool');
    await add('/extended/v1/tx/multiple', `/extended/v1/tx/multiple?tx_id=0x${ok.txid()}&tx_id=0x${pending.txid()}&tx_id=0x${'00'.repeat(32)}`);
    await add('/extended/v1/tx/events', `/extended/v1/tx/events?tx_id=0x${ok.txid()}`);
    await add('/extended/v1/tx/events', `/extended/v1/tx/events?address=${w1}`);
    await add('/extended/v2/smart-contracts/{contract_id}/logs', `/extended/v2/smart-contracts/${contract}/logs`);
    await add('/extended/v1/contract/{contract_id}/events', `/extended/v1/contract/${contract}/events`);
    await add('/extended/v1/address/{principal}/transactions', `/extended/v1/address/${w1}/transactions`);
    await add('/extended/v2/addresses/{address}/transactions', `/extended/v2/addresses/${w1}/transactions`);
    await add('/extended/v2/addresses/{address}/transactions', `/extended/v2/addresses/${acct.wallet_3.address}/transactions`);
    await add('/extended/v1/address/{principal}/balances', `/extended/v1/address/${w1}/balances`);
    await add('/extended/v1/address/{principal}/stx', `/extended/v1/address/${w1}/stx`);
    await add('/extended/v1/address/{principal}/nonces', `/extended/v1/address/${w1}/nonces`);
    await add('/extended/v1/address/{principal}/mempool', `/extended/v1/address/${w1}/mempool`);
    await add('/extended/v2/blocks/{height_or_hash}', '/extended/v2/blocks/latest');
    await add('/extended/v2/blocks/{height_or_hash}', `/extended/v2/blocks/${block.hash}`);
    await add('/extended/v2/blocks/', '/extended/v2/blocks');
    await add('/extended/v2/blocks/{height_or_hash}/transactions', `/extended/v2/blocks/${block.height}/transactions`);
    await add('/extended/v2/burn-blocks/{height_or_hash}', '/extended/v2/burn-blocks/latest');
    await add('/extended/v2/mempool/fees', '/extended/v2/mempool/fees');

    rpc.info = (await api.get('/v2/info')).body;
    rpc.account = (await api.get(`/v2/accounts/${w1}`)).body;
    rpc.accountNoProof = (await api.get(`/v2/accounts/${w1}?proof=0`)).body;
    rpc.readOk = (await api.post(`/v2/contracts/call-read/${addr}/${name}/get-payment-count`, { sender: w1, arguments: [] })).body;
    rpc.readBad = (await api.post(`/v2/contracts/call-read/${addr}/${name}/nope`, { sender: w1, arguments: [] })).body;
    rpc.iface = (await api.get(`/v2/contracts/interface/${addr}/${name}`)).body;
    rpc.feeTx = (await api.post('/v2/fees/transaction', { transaction_payload: '00'.repeat(100), estimated_len: 250 })).body;
    rpc.mapEntry = (await api.post(`/v2/map_entry/${addr}/${name}/payments`, '0x' + Cl.serialize(Cl.stringAscii('shape-1')))).body;
    rpc.rejection = (await api.post('/v2/transactions', { tx: ok.serialize() + '' })).body; // duplicate → txid string
    const bad = await stxTx(devnet, { from: acct.wallet_6, to: acct.wallet_7, nonce: 0n, fee: 1n });
    rpc.rejection = (await api.post('/v2/transactions', { tx: bad.serialize() })).body;

    // last, since it rolls the tip back: a transaction lost with a fork
    const lost = await stxTx(devnet, { from: acct.wallet_8, to: acct.wallet_7, nonce: 0n, fee: 3000n });
    await api.post('/v2/transactions', { tx: lost.serialize() });
    await api.post('/devnet/mine', {});
    await api.post('/devnet/reorg', { depth: 1, drop: ['0x' + lost.txid()] });
    await add('/extended/v1/tx/{tx_id}', `/extended/v1/tx/0x${lost.txid()}`, 'dropped_replace_across_fork');
  });
  after(() => devnet.stop());

  it('Hiro API responses type-check against @stacks/blockchain-api-client', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(DEVNET_DIR, 'test', '.shapes-'));
    try {
      const lines = ["import type { OperationResponse } from '@stacks/blockchain-api-client';"];
      samples.forEach(([key, json, label], i) => {
        lines.push(`// ${label}`);
        lines.push(`export const sample${i}: OperationResponse[${JSON.stringify(key)}] = ${JSON.stringify(json, null, 1)};`);
      });
      const file = join(dir, 'samples.ts');
      writeFileSync(file, lines.join('\n') + '\n');
      const tsc = join(DEVNET_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
      let out = '';
      try {
        await run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', file], { cwd: DEVNET_DIR });
      } catch (err) {
        out = String(err.stdout) + String(err.stderr);
      }
      assert.equal(out, '', `type errors against the Hiro API schema:\n${out}\n(samples in ${file})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('node RPC responses validate against @stacks/stacks-blockchain-api-types JSON schemas', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const check = (schemaPath, value, adapt = (s) => s) => {
      const validate = ajv.compile(adapt(schema(schemaPath)));
      assert.ok(validate(value), `${schemaPath}: ${JSON.stringify(validate.errors)} for ${JSON.stringify(value)}`);
    };
    // Nakamoto nodes add tenure_height, is_fully_synced, … and send exit_at_block_height: null;
    // the published v7 schema predates them. Allow exactly those differences, nothing else.
    check('api/core-node/get-info.schema.json', rpc.info, (s) => {
      s.properties.exit_at_block_height = { type: ['integer', 'null'] };
      s.properties.tenure_height = { type: 'integer' };
      s.properties.is_fully_synced = { type: 'boolean' };
      s.properties.genesis_chainstate_hash = { type: 'string' };
      return s;
    });
    check('api/core-node/get-account-data.schema.json', rpc.account);
    assert.match(rpc.account.balance, /^0x[0-9a-f]{32}$/);
    assert.deepEqual(Object.keys(rpc.accountNoProof).sort(), ['balance', 'locked', 'nonce', 'unlock_height']);
    check('api/contract/post-call-read-only-fn.schema.json', rpc.readOk);
    check('api/contract/post-call-read-only-fn.schema.json', rpc.readBad);
    assert.equal(rpc.readOk.result, '0x0100000000000000000000000000000001');
    // Clarity 2+ nodes add the interface's epoch and clarity_version.
    check('api/core-node/get-contract-interface.schema.json', rpc.iface, (s) => {
      s.properties.epoch = { type: 'string' };
      s.properties.clarity_version = { type: 'string' };
      return s;
    });
    check('api/core-node/post-fee-transaction-response.schema.json', rpc.feeTx);
    check('api/core-node/get-contract-data-map-entry.schema.json', rpc.mapEntry);
    check('api/transaction/post-core-node-transactions-error.schema.json', rpc.rejection);
    assert.equal(rpc.rejection.reason, 'FeeTooLow');
  });

  it('balances are keyed by the asset identifier', () => {
    const bal = samples.find(([k]) => k === '/extended/v1/address/{principal}/balances')[1];
    assert.ok(bal.fungible_tokens[SBTC_ASSET]);
  });
});
