// Line-oriented bridge for the Python cross-check tests: one JSON request per input line, one
// JSON answer per output line. It serializes with @stacks/transactions so the Python codec can
// be compared with it byte for byte.
import readline from 'node:readline';
import {
  Cl,
  serializeCV,
  deserializeCV,
  makeContractCall,
  makeSTXTokenTransfer,
  makeContractDeploy,
  sponsorTransaction,
  deserializeTransaction,
  PostConditionMode,
} from '@stacks/transactions';

function toCV(v) {
  switch (v.t) {
    case 'int': return Cl.int(BigInt(v.v));
    case 'uint': return Cl.uint(BigInt(v.v));
    case 'buffer': return Cl.bufferFromHex(v.v);
    case 'true': return Cl.bool(true);
    case 'false': return Cl.bool(false);
    case 'std': return Cl.standardPrincipal(v.v);
    case 'contract': return Cl.contractPrincipal(v.v, v.n);
    case 'ok': return Cl.ok(toCV(v.v));
    case 'err': return Cl.error(toCV(v.v));
    case 'none': return Cl.none();
    case 'some': return Cl.some(toCV(v.v));
    case 'list': return Cl.list(v.v.map(toCV));
    case 'tuple': return Cl.tuple(Object.fromEntries(Object.entries(v.v).map(([k, x]) => [k, toCV(x)])));
    case 'ascii': return Cl.stringAscii(v.v);
    case 'utf8': return Cl.stringUtf8(v.v);
    default: throw new Error(`unknown value type ${v.t}`);
  }
}

function common(req) {
  return {
    network: req.network,
    nonce: BigInt(req.nonce),
    fee: BigInt(req.fee),
    postConditionMode: req.mode === 'allow' ? PostConditionMode.Allow : PostConditionMode.Deny,
    postConditions: req.postConditions ?? [],
    sponsored: Boolean(req.sponsored),
  };
}

async function handle(req) {
  switch (req.op) {
    case 'cv': {
      const hex = serializeCV(toCV(req.value));
      return { hex, roundtrip: serializeCV(deserializeCV(req.hex ?? hex)) };
    }
    case 'call': {
      const tx = await makeContractCall({
        ...common(req),
        contractAddress: req.contract.split('.')[0],
        contractName: req.contract.split('.')[1],
        functionName: req.function,
        functionArgs: req.args.map(toCV),
        senderKey: req.key,
      });
      return { hex: tx.serialize(), txid: tx.txid() };
    }
    case 'transfer': {
      const tx = await makeSTXTokenTransfer({
        ...common(req),
        recipient: req.recipient,
        amount: BigInt(req.amount),
        memo: req.memo,
        senderKey: req.key,
      });
      return { hex: tx.serialize(), txid: tx.txid() };
    }
    case 'deploy': {
      const tx = await makeContractDeploy({
        ...common(req),
        contractName: req.name,
        codeBody: req.code,
        clarityVersion: req.clarityVersion,
        senderKey: req.key,
      });
      return { hex: tx.serialize(), txid: tx.txid() };
    }
    case 'sponsor': {
      const tx = await sponsorTransaction({
        transaction: deserializeTransaction(req.tx),
        sponsorPrivateKey: req.key,
        fee: BigInt(req.fee),
        sponsorNonce: BigInt(req.nonce),
      });
      return { hex: tx.serialize(), txid: tx.txid() };
    }
    case 'parse': {
      const tx = deserializeTransaction(req.tx);
      let verified = true;
      try { tx.verifyOrigin(); } catch { verified = false; }
      return { hex: tx.serialize(), txid: tx.txid(), verified };
    }
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
for await (const line of rl) {
  if (!line.trim()) continue;
  let answer;
  try {
    answer = await handle(JSON.parse(line));
  } catch (err) {
    answer = { error: String(err?.message ?? err) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
