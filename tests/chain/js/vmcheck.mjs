// Line-oriented bridge to the Clarity VM (a Clarinet SDK simnet) for the Python tests: one JSON
// request per input line, one JSON answer per output line. Request: {"expr": "<Clarity code>"};
// answer: {"type": "<result type>", "hex": "<buffer hex, for (some buff) or buff results>"}.
// The simnet runs in a throwaway Clarinet project created in a temporary directory.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';
import { initSimnet } from '@stacks/clarinet-sdk';

const dir = mkdtempSync(join(tmpdir(), 'chain-vmcheck-'));
mkdirSync(join(dir, 'contracts'));
mkdirSync(join(dir, 'settings'));
writeFileSync(join(dir, 'contracts', 'vm-check.clar'), '(define-read-only (ping) (ok u1))\n');
writeFileSync(
  join(dir, 'Clarinet.toml'),
  [
    '[project]',
    'name = "chain-vm-check"',
    'authors = []',
    'telemetry = false',
    'cache_dir = "./.cache"',
    '',
    '[contracts.vm-check]',
    'path = "contracts/vm-check.clar"',
    'clarity_version = 3',
    'epoch = "latest"',
    '',
    '[repl.analysis]',
    'passes = []',
    '',
  ].join('\n'),
);
// The standard public Clarinet devnet deployer mnemonic: a test fixture with no value anywhere.
writeFileSync(
  join(dir, 'settings', 'Devnet.toml'),
  [
    '[network]',
    'name = "devnet"',
    '',
    '[accounts.deployer]',
    'mnemonic = "twice kind fence tip hidden tilt action fragile skin nothing glory cousin green tomorrow spring wrist shed math olympic multiply hip blue scout claw"',
    'balance = 100_000_000_000_000',
    '',
  ].join('\n'),
);


console.log = () => {}; // the SDK chats on stdout; our protocol owns it
process.chdir(dir);
const simnet = await initSimnet(join(dir, 'Clarinet.toml'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function answer(result) {
  const out = { type: result.type };
  if (result.type === 'some' && result.value.type === 'buffer') out.hex = result.value.value;
  if (result.type === 'buffer') out.hex = result.value;
  if ((result.type === 'ok' || result.type === 'err') && result.value.type === 'buffer') out.hex = result.value.value;
  return out;
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
for await (const line of rl) {
  if (!line.trim()) continue;
  let reply;
  try {
    const { expr } = JSON.parse(line);
    reply = answer(simnet.execute(expr).result);
  } catch (err) {
    reply = { error: String(err?.message ?? err) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
