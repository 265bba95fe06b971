// The entry point as the Python CLI uses it: flags, the one ready line on stdout, the accounts
// on stderr, a clear message when the gateway contract is missing, a clean SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { DEVNET_DIR, FIXTURE, acct } from './helpers.mjs';
import { configFrom } from '../src/main.mjs';

const READY = /^devnet ready on (http:\/\/\S+) (\{.*\})$/;

function startCli(args, env = {}) {
  const child = spawn(process.execPath, [resolve(DEVNET_DIR, 'src', 'main.mjs'), ...args], { cwd: DEVNET_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const ready = new Promise((resolveReady, reject) => {
    child.stdout.on('data', () => {
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n')) resolveReady(line);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
  });
  return { child, ready, out: () => stdout, err: () => stderr };
}

describe('command line', () => {
  it('parses flags, with env vars as fallbacks', () => {
    const cfg = configFrom(['--port', '4000', '--block-time-ms', '0', '--observer', 'http://127.0.0.1:9/a', '--observer', 'http://127.0.0.1:9/b'], { DEVNET_HOST: '127.0.0.2', DEVNET_OBSERVER_TOKEN: 't', DEVNET_OBSERVERS: 'http://127.0.0.1:9/c' });
    assert.equal(cfg.port, 4000);
    assert.equal(cfg.host, '127.0.0.2');
    assert.equal(cfg.blockTimeMs, 0);
    assert.equal(cfg.burnBlockTimeMs, 0);
    assert.deepEqual(cfg.observers.map((o) => o.url), ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b', 'http://127.0.0.1:9/c']);
    assert.ok(cfg.observers.every((o) => o.token === 't' && o.format === 'chainhook'));
    const defaults = configFrom([], {});
    assert.equal(defaults.port, 3999);
    assert.equal(defaults.host, '127.0.0.1');
    assert.equal(defaults.blockTimeMs, 2000);
    assert.equal(defaults.burnBlockTimeMs, 600_000);
    assert.match(defaults.contractPath, /contracts\/contracts\/sbtc-payment-gateway\.clar$/);
    assert.equal(defaults.contractName, 'sbtc-payment-gateway');
    assert.equal(defaults.stateDir, null);
    assert.equal(configFrom(['--state-dir', '/tmp/a'], { DEVNET_STATE_DIR: '/tmp/b' }).stateDir, '/tmp/a');
    assert.equal(configFrom([], { DEVNET_STATE_DIR: '/tmp/b' }).stateDir, '/tmp/b');
    assert.throws(() => configFrom(['--port', 'x'], {}));
    assert.throws(() => configFrom(['--bogus'], {}));
  });

  it('prints one ready line, lists accounts, serves, and exits 0 on SIGTERM', { timeout: 60_000 }, async () => {
    const cli = startCli(['--port', '0', '--block-time-ms', '0', '--contract', FIXTURE]);
    const line = await cli.ready;
    const m = line.match(READY);
    assert.ok(m, `ready line: ${line}`);
    const info = JSON.parse(m[2]);
    assert.equal(info.url, m[1]);
    assert.equal(info.gateway_contract, `${acct.deployer.address}.pay-fixture`);
    assert.match(m[1], /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(info.chain_id, /^[0-9a-f]{32}$/);
    assert.equal(info.state_dir, null);
    assert.equal(info.resumed, false);
    assert.ok(cli.err().includes(acct.wallet_1.address), 'accounts listed');
    const res = await fetch(`${m[1]}/devnet/accounts`);
    const list = await res.json();
    assert.equal(list[0].name, 'deployer');
    assert.equal(list[0].address, 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM');
    assert.equal(list[0].private_key, acct.deployer.private_key);
    cli.child.kill('SIGTERM');
    const [code] = await once(cli.child, 'exit');
    assert.equal(code, 0);
    assert.equal(cli.out().trim().split('\n').length, 1, 'stdout holds only the ready line');
  });

  it('--state-dir: stopped and started again, it continues the same chain', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devnet-cli-state-'));
    const run = async () => {
      const cli = startCli(['--port', '0', '--block-time-ms', '0', '--quiet', '--contract', FIXTURE], { DEVNET_STATE_DIR: dir });
      const info = JSON.parse((await cli.ready).match(READY)[2]);
      const mined = await (await fetch(`${info.url}/devnet/mine`, { method: 'POST', body: '{}' })).json();
      cli.child.kill('SIGTERM');
      const [code] = await once(cli.child, 'exit');
      assert.equal(code, 0);
      return { info, mined, err: cli.err() };
    };
    const first = await run();
    const second = await run();
    assert.equal(first.info.state_dir, dir);
    assert.equal(first.info.resumed, false);
    assert.equal(second.info.resumed, true);
    assert.equal(second.info.chain_id, first.info.chain_id);
    assert.equal(second.info.stacks_tip_height, first.mined.tip.height);
    assert.equal(second.mined.tip.height, first.mined.tip.height + 1);
    assert.match(second.err, new RegExp(`chain ${first.info.chain_id} resumed from ${dir}: height ${first.mined.tip.height}`));
  });

  it('runs without the gateway contract when the file is missing, and says so', { timeout: 60_000 }, async () => {
    const cli = startCli(['--port', '0', '--block-time-ms', '0', '--quiet'], { DEVNET_CONTRACT: resolve(DEVNET_DIR, 'test', 'fixtures', 'does-not-exist.clar') });
    const line = await cli.ready;
    assert.equal(JSON.parse(line.match(READY)[2]).gateway_contract, null);
    assert.match(cli.err(), /gateway contract not found at .*does-not-exist\.clar: running without it/);
    const contracts = await (await fetch(`${line.match(READY)[1]}/devnet/contracts`)).json();
    assert.equal(contracts.gateway, null);
    assert.equal(contracts.sbtc_token, 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token');
    cli.child.kill('SIGTERM');
    const [code] = await once(cli.child, 'exit');
    assert.equal(code, 0);
  });
});
