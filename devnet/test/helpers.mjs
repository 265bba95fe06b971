// Shared test plumbing: an in-process devnet on a free loopback port, mining only on demand,
// with the fixture contract deployed as the "gateway"; plus signing helpers built on
// @stacks/transactions, exactly as a wallet or the gateway would build transactions.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cl, makeContractCall, makeSTXTokenTransfer } from '@stacks/transactions';
import { loadAccounts } from '../src/accounts.mjs';
import { Devnet } from '../src/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const DEVNET_DIR = resolve(here, '..');
export const FIXTURE = resolve(here, 'fixtures', 'pay-fixture.clar');
export const SBTC = 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token';
export const SBTC_ASSET = `${SBTC}::sbtc-token`;
export const accounts = loadAccounts(resolve(DEVNET_DIR, 'settings', 'Devnet.toml'));
export const acct = Object.fromEntries(accounts.map((a) => [a.name, a]));

export async function startDevnet(extra = {}) {
  const devnet = new Devnet({
    host: '127.0.0.1',
    port: 0,
    blockTimeMs: 0,
    burnBlockTimeMs: 0,
    manifestDir: DEVNET_DIR,
    contractPath: FIXTURE,
    contractName: 'pay-fixture',
    clarityVersion: null,
    accounts,
    observers: [],
    log: process.env.DEVNET_TEST_LOG ? (m) => process.stderr.write(`[devnet] ${m}\n`) : () => {},
    ...extra,
  });
  await devnet.start();
  return devnet;
}

export function client(devnet) {
  const base = devnet.url;
  const call = async (method, path, body, headers = {}) => {
    const init = { method, headers: { ...headers } };
    if (body !== undefined) {
      if (body instanceof Uint8Array) {
        init.body = body;
        init.headers['content-type'] ??= 'application/octet-stream';
      } else {
        init.body = JSON.stringify(body);
        init.headers['content-type'] ??= 'application/json';
      }
    }
    const res = await fetch(base + path, init);
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  };
  return {
    get: (p) => call('GET', p),
    post: (p, b, h) => call('POST', p, b, h),
    del: (p) => call('DELETE', p),
  };
}

export const network = (devnet) => ({ network: 'testnet', client: { baseUrl: devnet.url } });

/** A signed `pay-fixture.pay` call moving `amount` sBTC from `payer` to `merchant`. */
export function payTx(devnet, { payer, merchant, amount, invoice, nonce, fee = 3000n, postConditions, mode = 'deny', fn = 'pay' }) {
  const [contractAddress, contractName] = devnet.chain.gatewayContractId.split('.');
  const args = fn === 'overpay' ? [Cl.principal(SBTC), Cl.uint(amount), Cl.principal(merchant.address)] : [Cl.principal(SBTC), Cl.uint(amount), Cl.principal(merchant.address), Cl.stringAscii(invoice)];
  return makeContractCall({
    contractAddress,
    contractName,
    functionName: fn,
    functionArgs: args,
    senderKey: payer.private_key,
    nonce,
    fee,
    postConditionMode: mode,
    postConditions: postConditions ?? [{ type: 'ft-postcondition', address: payer.address, condition: 'eq', amount, asset: SBTC_ASSET }],
    ...network(devnet),
  });
}

/** A signed STX transfer; `nonce`/`fee` left undefined are fetched from the devnet by stacks.js. */
export function stxTx(devnet, { from, to, amount = 1000n, nonce, fee, memo = 'devnet' }) {
  const opts = { recipient: to.address, amount, senderKey: from.private_key, memo, ...network(devnet) };
  if (nonce !== undefined) opts.nonce = nonce;
  if (fee !== undefined) opts.fee = fee;
  return makeSTXTokenTransfer(opts);
}

export const hexOf = (tx) => tx.serialize();
