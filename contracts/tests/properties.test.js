// Property-based tests: fast-check generates random call sequences (signed payments, honest
// and tampered; on-chain intents; refunds; fee pay-outs; cancels; block production; fee,
// pause and suspension changes) and after every call checks the invariants:
//   1. the sum of sBTC balances of everyone involved (customers, merchants, fee recipient, the
//      contract) never changes: the contract creates and destroys nothing;
//   2. the contract's sBTC balance equals `fees-pending`, which equals the sum of the fees of
//      paid intents not yet distributed;
//   3. no intent is paid twice (a successful pay of an id already paid fails the property);
//   4. on every successful payment the merchant receives at least `amount - fee` (exactly),
//      the contract `fee`, and the payer pays exactly `amount`;
//   5. a failed call moves no money;
//   6. refunds of an intent never exceed its amount.
// Runs: FC_RUNS (default 25) sequences of up to 60 calls; FC_SEED reproduces a failure.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Cl } from "@stacks/transactions";
import {
  ERR,
  MAINNET_CHAIN_ID,
  accounts,
  contractId,
  call,
  ro,
  mintSbtc,
  sbtcBalance,
  sbtcBalances,
  sbtcBalanceViaToken,
  feesPending,
  setGatewayKey,
  registerMerchant,
  signTerms,
  payArgs,
  createIntent,
  processPayment,
  refund,
  distributeFees,
  getIntent,
  getConfig,
  printEvents,
} from "./helpers.js";

const RUNS = Number(process.env.FC_RUNS ?? 25);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
// how many calls of each kind succeeded / failed, printed at the end (shows the generator
// reaches the interesting states: successful payments, refunds, pay-outs)
const stats = {};
const IDS = ["pi_a", "pi_b", "pi_c", "pi_d", "pi_e", "pi_f", "pi_g", "pi_h"];
// an id: either any id of the pool, or (more often) one the model knows is in a useful state
// (paid, for refunds and fee pay-outs; created on chain, for process/cancel), resolved when run
const target = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...IDS) },
  { weight: 3, arbitrary: fc.nat(1000).map((n) => ({ known: n })) },
);

const cmd = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("pay-signed"),
      payer: fc.nat(3),
      merchant: fc.nat(1),
      id: fc.constantFrom(...IDS),
      amount: fc.bigInt(1n, 2_000_000n),
      feeBps: fc.bigInt(0n, 1200n),
      expDelta: fc.integer({ min: -2, max: 15 }),
      tamper: fc.constantFrom("none", "none", "none", "amount", "merchant", "chain", "fee"),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("create"),
      merchant: fc.nat(1),
      id: fc.constantFrom(...IDS),
      amount: fc.bigInt(0n, 2_000_000n),
      expDelta: fc.integer({ min: 0, max: 15 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("process"),
      payer: fc.nat(3),
      id: target,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("refund"),
      // "merchant": the intent's own merchant (the one allowed to refund), else anyone
      sender: fc.oneof(fc.constant("merchant"), fc.constant("merchant"), fc.nat(5)),
      id: target,
      // a fraction (in 1/1000) of the intent's amount, sometimes above it
      permille: fc.integer({ min: 0, max: 1100 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("distribute"),
      sender: fc.nat(5),
      id: target,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("cancel"),
      sender: fc.oneof(fc.constant("merchant"), fc.nat(5)),
      id: target,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("mine"), n: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fee-bps"), bps: fc.integer({ min: 0, max: 1000 }) }) },
  // pause, try to pay (must fail), unpause
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("pause-blip"), payer: fc.nat(3), id: fc.constantFrom(...IDS) }) },
  // suspend a merchant, try to pay it (must fail), reinstate
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("suspend-blip"), merchant: fc.nat(1), payer: fc.nat(2), amount: fc.bigInt(1n, 100_000n) }) },
);

async function runSequence(cmds) {
  await simnet.initSession(process.cwd(), "./Clarinet.toml");
  const A = accounts();
  const merchants = [A.merchant, A.merchant2];
  const payers = [A.customer, A.customer2, A.stranger, A.merchant]; // a merchant can shop too
  const everyone = [A.deployer, A.merchant, A.merchant2, A.customer, A.customer2, A.stranger];
  const contract = contractId();
  const universe = [...everyone, contract];

  setGatewayKey();
  for (const m of merchants) registerMerchant(m);
  for (const p of everyone) mintSbtc(p, 5_000_000n);

  const balances = () => {
    const m = sbtcBalances();
    return Object.fromEntries(universe.map((p) => [p, m.get(p) ?? 0n]));
  };
  const sum = (b) => Object.values(b).reduce((x, y) => x + y, 0n);
  const total0 = sum(balances());

  const paid = new Set(); // ids the model has seen paid
  let paused = false;
  const created = new Set(); // ids created on chain by create-payment-intent
  const pick = (id, pool) => {
    if (typeof id === "string") return id;
    const list = [...pool];
    return list.length ? list[id.known % list.length] : IDS[id.known % IDS.length];
  };

  for (const c0 of cmds) {
    const c = { ...c0 };
    if (c.id !== undefined && typeof c.id !== "string") {
      c.id = pick(c.id, c.kind === "refund" || c.kind === "distribute" ? paid : created);
    }
    const before = balances();
    let res;
    switch (c.kind) {
      case "pay-signed": {
        const t = {
          intentId: c.id,
          merchant: merchants[c.merchant],
          amount: c.amount,
          fee: (c.amount * c.feeBps) / 10000n,
          expiresAt: BigInt(Math.max(0, simnet.blockHeight + c.expDelta)),
        };
        let sig = signTerms(t);
        let sent = t;
        if (c.tamper === "amount") sent = { ...t, amount: t.amount > 1n ? t.amount - 1n : 2n };
        if (c.tamper === "merchant") sent = { ...t, merchant: merchants[1 - c.merchant] };
        if (c.tamper === "fee") sent = { ...t, fee: t.fee + 1n };
        if (c.tamper === "chain") sig = signTerms({ ...t, chainId: MAINNET_CHAIN_ID });
        res = call("pay-signed-intent", payArgs(sent, sig), payers[c.payer]);
        if (c.tamper !== "none") {
          // a tampered payment never succeeds
          expect(res.result.type).toBe("err");
        }
        break;
      }
      case "create":
        res = createIntent(merchants[c.merchant], c.id, c.amount, simnet.blockHeight + c.expDelta);
        if (res.result.type === "ok") created.add(c.id);
        break;
      case "process":
        res = processPayment(c.id, payers[c.payer]);
        break;
      case "refund": {
        const intent = getIntent(c.id);
        const sender =
          c.sender === "merchant" ? (intent?.merchant ?? A.merchant) : everyone[c.sender];
        const amount = intent ? (intent.amount * BigInt(c.permille)) / 1000n : 1n;
        res = refund(c.id, amount, sender);
        if (res.result.type === "ok") {
          expect(sender).toBe(intent.merchant);
          expect(getIntent(c.id).refunded).toBeLessThanOrEqual(intent.amount);
        }
        break;
      }
      case "distribute":
        res = distributeFees(c.id, everyone[c.sender]);
        break;
      case "cancel": {
        const intent = getIntent(c.id);
        const sender =
          c.sender === "merchant" ? (intent?.merchant ?? A.merchant) : everyone[c.sender];
        res = call("cancel-payment-intent", [Cl.stringAscii(c.id)], sender);
        break;
      }
      case "mine":
        simnet.mineEmptyBlocks(c.n);
        break;
      case "fee-bps":
        res = call("set-fee-bps", [Cl.uint(c.bps)], A.deployer);
        expect(res.result).toBeOk(Cl.bool(true));
        break;
      case "pause-blip": {
        expect(call("pause", [], A.deployer).result).toBeOk(Cl.bool(true));
        paused = true;
        res = processPayment(c.id, payers[c.payer]);
        expect(res.result).toBeErr(Cl.uint(ERR.PAUSED));
        expect(call("unpause", [], A.deployer).result).toBeOk(Cl.bool(true));
        paused = false;
        break;
      }
      case "suspend-blip": {
        const m = merchants[c.merchant];
        expect(call("suspend-merchant", [Cl.principal(m)], A.deployer).result).toBeOk(Cl.bool(true));
        const t = {
          intentId: `pi_susp_${simnet.blockHeight}`,
          merchant: m,
          amount: c.amount,
          fee: 0n,
          expiresAt: BigInt(simnet.blockHeight + 10),
        };
        res = call("pay-signed-intent", payArgs(t, signTerms(t)), payers[c.payer]);
        expect(res.result).toBeErr(Cl.uint(ERR.MERCHANT_INACTIVE));
        expect(call("reinstate-merchant", [Cl.principal(m)], A.deployer).result).toBeOk(Cl.bool(true));
        break;
      }
    }
    const after = balances();
    if (res) {
      const key = `${c.kind}${c.tamper && c.tamper !== "none" ? "(tampered)" : ""}`;
      stats[key] ??= { ok: 0, err: 0 };
      stats[key][res.result.type === "ok" ? "ok" : "err"] += 1;
    }

    // 1. conservation
    expect(sum(after)).toBe(total0);

    // 5. failures move nothing
    if (res && res.result.type === "err") expect(after).toEqual(before);

    if (res && res.result.type === "ok" && (c.kind === "pay-signed" || c.kind === "process")) {
      // 3. never twice
      expect(paid.has(c.id), `intent ${c.id} paid twice`).toBe(false);
      paid.add(c.id);
      expect(paused).toBe(false);
      const ev = printEvents(res).find((e) => e.event === "intent-paid");
      const payer = ev.payer;
      const merchant = ev.merchant;
      // 4. merchant receives amount - fee, contract fee, payer pays amount
      expect(after[merchant] - before[merchant]).toBeGreaterThanOrEqual(ev.amount - ev.fee);
      expect(after[merchant] - before[merchant]).toBe(ev.amount - ev.fee);
      expect(after[contract] - before[contract]).toBe(ev.fee);
      expect(before[payer] - after[payer]).toBe(ev.amount);
      expect(ev.fee * 10000n).toBeLessThanOrEqual(ev.amount * 1000n);
      expect(merchant).not.toBe(payer);
    }
    if (res && res.result.type === "ok" && c.kind === "distribute") {
      const fee = BigInt(res.result.value.value);
      expect(before[contract] - after[contract]).toBe(fee);
    }

    // 2. the contract holds exactly the undistributed fees
    expect(after[contract]).toBe(feesPending());
  }

  // end-of-sequence checks over every id
  let undistributed = 0n;
  for (const id of IDS) {
    const intent = getIntent(id);
    if (!intent) {
      expect(paid.has(id)).toBe(false);
      continue;
    }
    // 6. refunds never exceed the amount
    expect(intent.refunded).toBeLessThanOrEqual(intent.amount);
    const isPaid = intent["paid-at"] !== null;
    expect(isPaid).toBe(paid.has(id));
    if (isPaid) {
      expect(["paid", "refunded"]).toContain(intent.status);
      if (!intent["fee-distributed"]) undistributed += intent.fee;
    } else {
      expect(intent.refunded).toBe(0n);
    }
  }
  expect(getConfig()["fees-pending"]).toBe(undistributed);
  // the asset table agrees with the token contract's own get-balance
  for (const p of universe) expect(sbtcBalanceViaToken(p)).toBe(sbtcBalance(p));
  return true;
}

describe("invariants over random call sequences (fast-check)", () => {
  it("conservation, single payment, merchant share, refund bound", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 60, size: "max" }), runSequence),
      { numRuns: RUNS, seed: SEED, verbose: 1 },
    );
    console.log(`calls per kind over ${RUNS} sequences: ${JSON.stringify(stats)}`);
    expect(stats["pay-signed"].ok).toBeGreaterThan(0);
    expect(stats.process.ok).toBeGreaterThan(0);
    expect(stats.refund.ok).toBeGreaterThan(0);
    expect(stats.distribute.ok).toBeGreaterThan(0);
  });

  it("a known-dangerous sequence: pay, refund in parts, pay again, distribute twice", async () => {
    const seq = [
      { kind: "pay-signed", payer: 0, merchant: 0, id: "pi_a", amount: 10_000n, feeBps: 100n, expDelta: 5, tamper: "none" },
      { kind: "refund", sender: "merchant", id: "pi_a", permille: 400 },
      { kind: "refund", sender: "merchant", id: "pi_a", permille: 600 },
      { kind: "refund", sender: "merchant", id: "pi_a", permille: 1 },
      { kind: "pay-signed", payer: 1, merchant: 0, id: "pi_a", amount: 10_000n, feeBps: 100n, expDelta: 5, tamper: "none" },
      { kind: "process", payer: 1, id: "pi_a" },
      { kind: "create", merchant: 0, id: "pi_a", amount: 5n, expDelta: 5 },
      { kind: "distribute", sender: 3, id: "pi_a" },
      { kind: "distribute", sender: 3, id: "pi_a" },
    ];
    expect(await runSequence(seq)).toBe(true);
    // the contract state after it
    expect(ro("get-intent-status", [Cl.stringAscii("pi_a")])).toStrictEqual(
      Cl.stringAscii("refunded"),
    );
    expect(ERR.ALREADY_PAID).toBe(109);
  });
});
