// Pays a PaymentIntent as a customer's wallet would: builds the contract call from exactly what
// `next_action.sbtc_contract_call` gave (hex arguments, hex post-conditions, deny mode), signs it
// with the payer's key and broadcasts it. Run from tests/watcher/test_devnet.py:
//   node pay_intent.mjs '{"call": {...}, "senderKey": "...", "apiUrl": "http://127.0.0.1:N",
//                          "fee": 10000, "nonce": 3, "override": {...}}'
// Prints one JSON line: {"txid": "...", "broadcast": <node answer>}.
import { Cl, broadcastTransaction, makeContractCall } from '@stacks/transactions';

const input = JSON.parse(process.argv[2]);
const call = { ...input.call, ...(input.override ?? {}) };
const [contractAddress, contractName] = call.contract_id.split('.');
const network = call.network === 'mainnet' ? 'mainnet' : 'testnet';

const options = {
  contractAddress,
  contractName,
  functionName: call.function_name,
  functionArgs: call.function_args.map((hex) => Cl.deserialize(hex)),
  postConditions: call.post_conditions,
  postConditionMode: call.post_condition_mode,
  senderKey: input.senderKey,
  network,
  client: { baseUrl: input.apiUrl },
  fee: input.fee ?? 10000,
};
if (input.nonce !== undefined && input.nonce !== null) options.nonce = input.nonce;

const tx = await makeContractCall(options);
const result = await broadcastTransaction({ transaction: tx, network, client: { baseUrl: input.apiUrl } });
console.log(JSON.stringify({ txid: tx.txid(), broadcast: result }));
