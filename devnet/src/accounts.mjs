// The devnet's accounts: the standard Clarinet devnet wallets, read from settings/Devnet.toml (the
// same file the simnet reads) and turned into private keys the way every Stacks wallet does it
// (BIP39 seed, BIP32 path m/44'/5757'/0'/0/0, compressed key with the trailing 01 flag).
import { readFileSync } from 'node:fs';
import { mnemonicToSeedSync } from '@scure/bip39';
import { HDKey } from '@scure/bip32';
import { getAddressFromPrivateKey } from '@stacks/transactions';

const STACKS_PATH = "m/44'/5757'/0'/0/0";

/** Minimal reader for the [accounts.NAME] tables of a Clarinet settings file. */
export function parseAccountsToml(text) {
  const accounts = [];
  let current = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    const table = line.match(/^\[accounts\.([A-Za-z0-9_-]+)\]$/);
    if (table) {
      current = { name: table[1] };
      accounts.push(current);
      continue;
    }
    if (line.startsWith('[')) {
      current = null;
      continue;
    }
    const kv = line.match(/^([a-z_]+)\s*=\s*(.+)$/);
    if (current && kv) {
      const value = kv[2].trim();
      if (value.startsWith('"')) current[kv[1]] = value.slice(1, value.lastIndexOf('"'));
      else current[kv[1]] = value.replace(/_/g, '');
    }
  }
  return accounts;
}

export function privateKeyFromMnemonic(mnemonic) {
  const root = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic));
  const child = root.derive(STACKS_PATH);
  return Buffer.from(child.privateKey).toString('hex') + '01';
}

/** [{name, address, private_key, mnemonic}] in file order, deployer first. */
export function loadAccounts(settingsPath) {
  const parsed = parseAccountsToml(readFileSync(settingsPath, 'utf8'));
  const out = parsed
    .filter((a) => a.mnemonic)
    .map((a) => {
      const private_key = privateKeyFromMnemonic(a.mnemonic);
      return {
        name: a.name,
        address: getAddressFromPrivateKey(private_key, 'testnet'),
        private_key,
        mnemonic: a.mnemonic,
      };
    });
  out.sort((a, b) => (a.name === 'deployer' ? -1 : b.name === 'deployer' ? 1 : 0));
  return out;
}
