// The wallet, through @stacks/connect 8's `request` API. This module (and @stacks/connect
// with its wallet picker) is a chunk of its own, imported only when the customer presses
// "Pay with wallet": the first load stays small.
import { getSelectedProviderId, request } from '@stacks/connect';

import type { ContractCall } from '../lib/api';

// What wallets answer when the customer closes or refuses: EIP-1193's 4001, and
// @stacks/connect's UserRejection / UserCanceled.
const REFUSALS = new Set([4001, -32000, -31001]);

export function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && REFUSALS.has(code);
}

type Provider = { request: (...args: unknown[]) => Promise<unknown> };
type Registered = { id: string };

function storageWorks(): boolean {
  try {
    window.localStorage.getItem('STX_PROVIDER');
    return true;
  } catch {
    return false; // a third-party frame (the widget on a merchant's page) may have no storage
  }
}

function byPath(id: string): Provider | undefined {
  const found = id.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], window);
  return found && typeof (found as Provider).request === 'function' ? (found as Provider) : undefined;
}

let chosen: Provider | undefined;

/** The wallet to use: the one chosen before (remembered by @stacks/connect), or, where this
 * frame has no storage, the one wallet that announced itself; else the picker decides. */
function provider(): Provider | undefined {
  if (chosen) return chosen;
  if (storageWorks()) {
    const id = getSelectedProviderId();
    return id ? byPath(id) : undefined;
  }
  const registered = ((window as unknown as { wbip_providers?: Registered[] }).wbip_providers ?? []).map((p) => p.id);
  const found = [...registered, 'LeatherProvider', 'XverseProviders.StacksProvider'].map(byPath).filter(Boolean);
  return found.length === 1 ? found[0] : undefined;
}

async function ask(method: string, params: unknown): Promise<unknown> {
  const storage = storageWorks();
  const options = { provider: provider(), enableLocalStorage: storage, persistWalletSelect: storage };
  return request(options as never, method as never, params as never);
}

/** The wallet's Stacks address for the intent's network (ST… for test networks, SP… on mainnet). */
export async function connect(network: string): Promise<string> {
  const result = await ask('stx_getAddresses', { network });
  chosen = provider() ?? chosen;
  const addresses = (result as { addresses?: { address: string }[] }).addresses ?? [];
  const prefix = network === 'mainnet' ? 'SP' : 'ST';
  const found =
    addresses.find((a) => a.address.startsWith(prefix)) ?? addresses.find((a) => a.address.startsWith('S'));
  if (!found) throw new Error('The wallet has no Stacks address for this network.');
  return found.address;
}

/** Asks the wallet to sign and broadcast exactly the intent's call; answers the txid. */
export async function pay(call: ContractCall): Promise<string> {
  const params = {
    contract: call.contract_id,
    functionName: call.function_name,
    functionArgs: call.function_args,
    postConditions: call.post_conditions,
    postConditionMode: call.post_condition_mode,
    network: call.network,
  };
  const result = (await ask('stx_callContract', params)) as { txid?: string };
  if (!result.txid) throw new Error('The wallet did not return a transaction id.');
  return result.txid;
}
