// The wallet, through @stacks/connect 8's `request` API. This module (and @stacks/connect
// with its wallet picker) is a chunk of its own, imported only when the customer presses
// "Pay with wallet": the first load stays small.
import { request } from '@stacks/connect';

import type { ContractCall } from '../lib/api';

// What wallets answer when the customer closes or refuses: EIP-1193's 4001, and
// @stacks/connect's UserRejection / UserCanceled.
const REFUSALS = new Set([4001, -32000, -31001]);

export function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && REFUSALS.has(code);
}

/** The wallet's Stacks address for the intent's network (ST… for test networks, SP… on mainnet). */
export async function connect(network: string): Promise<string> {
  const result = await request('stx_getAddresses', { network } as never);
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
  const result = (await request('stx_callContract', params as never)) as { txid?: string };
  if (!result.txid) throw new Error('The wallet did not return a transaction id.');
  return result.txid;
}
