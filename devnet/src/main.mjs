#!/usr/bin/env node
// Entry point: `node src/main.mjs [flags]` (what `npm start` runs).
//
// Flags (each also an environment variable; flags win):
//   --host H                 DEVNET_HOST              default 127.0.0.1
//   --port N                 DEVNET_PORT              default 3999 (0 = any free port)
//   --block-time-ms N        DEVNET_BLOCK_TIME_MS     default 2000; 0 = mine only on demand
//   --burn-block-time-ms N   DEVNET_BURN_BLOCK_TIME_MS default 600000 (Bitcoin pace); 0 = on demand only
//   --contract PATH          DEVNET_CONTRACT          default ../contracts/contracts/sbtc-payment-gateway.clar
//   --contract-name NAME     DEVNET_CONTRACT_NAME     default sbtc-payment-gateway
//   --clarity-version N      DEVNET_CLARITY_VERSION   default: the SDK's default for its epoch
//   --observer URL           DEVNET_OBSERVERS         repeatable / comma-separated; chainhook format
//   --observer-format F      DEVNET_OBSERVER_FORMAT   chainhook (default) | event_observer
//   --observer-token T       DEVNET_OBSERVER_TOKEN    bearer token sent to observers
//   --state-dir DIR          DEVNET_STATE_DIR         keep the chain in DIR and continue it at the next
//                                                     start; default: none (a new chain each start)
//   --quiet                  DEVNET_QUIET=1           no account table
//   --verbose                DEVNET_VERBOSE=1         log every request
//
// When ready it prints exactly one line to stdout:
//   devnet ready on http://127.0.0.1:3999 {"url":…,"port":…,"gateway_contract":…,…}
// Logs go to stderr. SIGTERM / SIGINT stop it cleanly (exit code 0).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAccounts } from './accounts.mjs';
import { StateError } from './chain.mjs';
import { Devnet } from './server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const DEVNET_DIR = resolve(here, '..');
export const DEFAULT_CONTRACT = resolve(DEVNET_DIR, '..', 'contracts', 'contracts', 'sbtc-payment-gateway.clar');

export function configFrom(argv, env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'block-time-ms': { type: 'string' },
      'burn-block-time-ms': { type: 'string' },
      contract: { type: 'string' },
      'contract-name': { type: 'string' },
      'clarity-version': { type: 'string' },
      observer: { type: 'string', multiple: true },
      'observer-format': { type: 'string' },
      'observer-token': { type: 'string' },
      'state-dir': { type: 'string' },
      quiet: { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
    strict: true,
  });
  const num = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
    return n;
  };
  const blockTimeMs = num(values['block-time-ms'] ?? env.DEVNET_BLOCK_TIME_MS ?? 2000, 'block time');
  const burnRaw = values['burn-block-time-ms'] ?? env.DEVNET_BURN_BLOCK_TIME_MS;
  const contractName = values['contract-name'] ?? env.DEVNET_CONTRACT_NAME ?? null;
  const contractPath = values.contract ?? env.DEVNET_CONTRACT ?? DEFAULT_CONTRACT;
  const observerUrls = [...(values.observer ?? []), ...(env.DEVNET_OBSERVERS ?? '').split(',')].map((s) => s.trim()).filter(Boolean);
  const format = values['observer-format'] ?? env.DEVNET_OBSERVER_FORMAT ?? 'chainhook';
  const token = values['observer-token'] ?? env.DEVNET_OBSERVER_TOKEN ?? null;
  return {
    host: values.host ?? env.DEVNET_HOST ?? '127.0.0.1',
    port: num(values.port ?? env.DEVNET_PORT ?? 3999, 'port'),
    blockTimeMs,
    // Bitcoin pace by default: each burn block moves the contracts' clock 600 s (see README).
    burnBlockTimeMs: burnRaw !== undefined ? num(burnRaw, 'burn block time') : blockTimeMs > 0 ? 600_000 : 0,
    manifestDir: DEVNET_DIR,
    contractPath,
    contractName: contractName ?? (contractPath === DEFAULT_CONTRACT ? 'sbtc-payment-gateway' : null),
    clarityVersion: values['clarity-version'] ?? env.DEVNET_CLARITY_VERSION ?? null,
    observers: observerUrls.map((url) => ({ url, format, token })),
    stateDir: values['state-dir'] ?? (env.DEVNET_STATE_DIR || null),
    quiet: values.quiet ?? env.DEVNET_QUIET === '1',
    verbose: values.verbose ?? env.DEVNET_VERBOSE === '1',
  };
}

async function main() {
  let cfg;
  try {
    cfg = configFrom(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`devnet: ${err.message}\n`);
    process.exit(2);
  }
  const log = (msg) => process.stderr.write(`[devnet] ${msg}\n`);
  const accounts = loadAccounts(resolve(DEVNET_DIR, 'settings', 'Devnet.toml'));
  const devnet = new Devnet({ ...cfg, accounts, log });
  await devnet.start();

  if (!cfg.quiet) {
    log('accounts (devnet only, well-known keys):');
    for (const a of accounts) log(`  ${a.name.padEnd(9)} ${a.address} ${a.private_key}`);
  }
  const info = {
    url: devnet.url,
    port: devnet.port,
    host: cfg.host,
    block_time_ms: cfg.blockTimeMs,
    gateway_contract: devnet.chain.gatewayContractId,
    sbtc_token: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token',
    deployer: devnet.chain.deployer.address,
    stacks_tip_height: devnet.chain.tipHeight,
    ...devnet.chainInfo(),
  };
  process.stdout.write(`devnet ready on ${devnet.url} ${JSON.stringify(info)}\n`);

  let stopping = false;
  const shutdown = async (signal) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    await devnet.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    if (err instanceof StateError) process.stderr.write(`devnet failed to start: ${err.message}\n`);
    else process.stderr.write(`devnet failed to start: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
