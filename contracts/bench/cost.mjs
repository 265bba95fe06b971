#!/usr/bin/env node
// Execution cost of the gateway's state-changing calls, measured by the Clarity VM of the
// Clarinet SDK (the same cost functions as the node). Prints a table and, with --json, JSON.
//   cd contracts && node bench/cost.mjs [--json]
// The payment figures include the sBTC token's own work (two `transfer`s, one `get-balance`).
// Fee custody (ADR 0100): a payment's fee goes straight to the fee recipient; it is held by the
// contract (and paid out by a `distribute-fees` transaction of its own) only when the payer is
// the fee recipient. The last lines compare the two per paid intent.
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { initSimnet } from "@stacks/clarinet-sdk";
import { Cl } from "@stacks/transactions";
import { secp256k1 } from "@noble/curves/secp256k1.js";

const here = path.dirname(fileURLToPath(import.meta.url));
process.chdir(path.join(here, ".."));

const simnet = await initSimnet("./Clarinet.toml", false, {
  trackCosts: true,
  trackCoverage: false,
});
const C = "sbtc-payment-gateway";
const SBTC = "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token";
const a = simnet.getAccounts();
const owner = a.get("deployer");
const merchant = a.get("wallet_1");
const customer = a.get("wallet_2");
const token = Cl.contractPrincipal(...SBTC.split("."));

const priv = createHash("sha256").update("bench gateway key").digest();
const pub = secp256k1.getPublicKey(priv, true);

const rows = [];
function measure(label, fn, args, sender) {
  const r = simnet.callPublicFn(C, fn, args, sender);
  if (r.result.type !== "ok") throw new Error(`${label}: ${Cl.prettyPrint(r.result)}`);
  rows.push({ label, ...r.costs.total, limit: r.costs.limit });
  return r;
}

function termsHash(t) {
  const contract = `${simnet.deployer}.${C}`;
  const cv = Cl.tuple({
    amount: Cl.uint(t.amount),
    "chain-id": Cl.uint(2147483648n),
    contract: Cl.principal(contract),
    "expires-at": Cl.uint(t.expiresAt),
    fee: Cl.uint(t.fee),
    "intent-id": Cl.stringAscii(t.id),
    merchant: Cl.principal(merchant),
    token: Cl.principal(SBTC),
  });
  return createHash("sha256").update(Buffer.from(Cl.serialize(cv), "hex")).digest();
}

function sign(hash) {
  const vrs = secp256k1.sign(hash, priv, { prehash: false, lowS: true, format: "recovered" });
  return Buffer.concat([vrs.subarray(1), vrs.subarray(0, 1)]);
}

simnet.mintFT(`${SBTC}.sbtc-token`, customer, 100_000_000n);
simnet.mintFT(`${SBTC}.sbtc-token`, merchant, 100_000_000n);
simnet.mintFT(`${SBTC}.sbtc-token`, owner, 100_000_000n);
measure("set-gateway-key", "set-gateway-key", [Cl.buffer(pub)], owner);
measure(
  "register-merchant",
  "register-merchant",
  [Cl.tuple({ name: Cl.stringAscii("Coffee shop"), email: Cl.stringAscii("shop@example.com") })],
  merchant,
);

// warm-up payment so both payer and merchant already hold balances (typical case)
const pay = (id, amount, fee) => {
  const t = { id, amount, fee, expiresAt: BigInt(simnet.blockHeight + 100) };
  return [
    token,
    Cl.stringAscii(t.id),
    Cl.principal(merchant),
    Cl.uint(t.amount),
    Cl.uint(t.fee),
    Cl.uint(t.expiresAt),
    Cl.buffer(sign(termsHash(t))),
  ];
};
// warm-up (first payment to this merchant and recipient: creates their balance entries)
simnet.callPublicFn(C, "pay-signed-intent", pay("pi_01JBENCH0000000000000000000000", 2_500_000n, 25_000n), customer);
measure("pay-signed-intent (fee > 0)", "pay-signed-intent", pay("pi_01JBENCH0000000000000000000001", 2_500_000n, 25_000n), customer);
measure("pay-signed-intent (fee = 0)", "pay-signed-intent", pay("pi_01JBENCH0000000000000000000002", 2_500_000n, 0n), customer);
// the payer is the fee recipient (the deployer): the fee is held
measure("pay-signed-intent (fee held)", "pay-signed-intent", pay("pi_01JBENCH0000000000000000000004", 2_500_000n, 25_000n), owner);
measure(
  "create-payment-intent",
  "create-payment-intent",
  [
    Cl.stringAscii("pi_01JBENCH0000000000000000000003"),
    Cl.uint(2_500_000),
    Cl.some(Cl.stringUtf8("Order #1234")),
    Cl.uint(simnet.blockHeight + 100),
  ],
  merchant,
);
measure("process-payment", "process-payment", [token, Cl.principal(merchant), Cl.stringAscii("pi_01JBENCH0000000000000000000003"), Cl.uint(2_500_000)], customer);
measure("refund-payment (partial)", "refund-payment", [token, Cl.stringAscii("pi_01JBENCH0000000000000000000001"), Cl.uint(1_000_000)], merchant);
measure("distribute-fees (held fee)", "distribute-fees", [token, Cl.stringAscii("pi_01JBENCH0000000000000000000004")], customer);

// Per paid intent with a fee: straight to the recipient (one transaction) vs held and paid
// out (two transactions: the payment, then distribute-fees).
const row = (label) => rows.find((r) => r.label === label);
const add = (a, b) => Object.fromEntries(["runtime", "readCount", "readLength", "writeCount", "writeLength"].map((k) => [k, a[k] + b[k]]));
rows.push({ label: "per intent: fee direct (1 tx)", ...add(row("pay-signed-intent (fee > 0)"), { runtime: 0, readCount: 0, readLength: 0, writeCount: 0, writeLength: 0 }), limit: rows[0].limit });
rows.push({ label: "per intent: held + distribute (2 tx)", ...add(row("pay-signed-intent (fee held)"), row("distribute-fees (held fee)")), limit: rows[0].limit });

const limit = rows[0].limit;
const pct = (v, l) => ((100 * v) / l).toFixed(4) + "%";
if (process.argv.includes("--json")) {
  console.log(JSON.stringify(rows.map(({ limit: _l, ...r }) => r), null, 2));
} else {
  console.log(
    `Clarity cost per call (${simnet.currentEpoch === "3.3" ? "epoch 3.3, Clarity 4" : simnet.currentEpoch}); block limit: runtime ${limit.runtime}, read count ${limit.readCount}, read length ${limit.readLength}, write count ${limit.writeCount}, write length ${limit.writeLength}`,
  );
  console.log(
    ["call".padEnd(30), "runtime", "readCount", "readLength", "writeCount", "writeLength", "runtime % of block"].join(" | "),
  );
  for (const r of rows) {
    console.log(
      [
        r.label.padEnd(30),
        String(r.runtime).padStart(7),
        String(r.readCount).padStart(9),
        String(r.readLength).padStart(10),
        String(r.writeCount).padStart(10),
        String(r.writeLength).padStart(11),
        pct(r.runtime, limit.runtime).padStart(18),
      ].join(" | "),
    );
  }
}
