// Property-based tests: fast-check generates random call sequences (signed payments, honest
// and tampered; on-chain intents paid by name, merchant and amount; refunds of both kinds;
// pay-outs of held fees; cancels; block production and whole change delays; fee rate and fee
// recipient announcements; sBTC sent to the contract by mistake and its recovery; pause and
// deny-list blips) and after every call checks the invariants:
//   1. conservation: the sum of sBTC balances of everyone involved (customers, merchants, fee
//      recipients, the contract) never changes: the contract creates and destroys nothing;
//   2. the contract's balance equals what it owes (the fees it holds, `get-fees-held`, which
//      equals the model's sum of held, undistributed fees) plus the stray sBTC the model knows
//      was sent to it;
//   3. nothing owed moves except to its owner: the contract's balance only goes down by a held
//      fee paid to the recipient recorded when it was paid, or by a recovery that leaves what is
//      owed in place; a held fee is never paid twice;
//   4. a successful payment moves exactly `amount` from the payer: `amount - fee` to the
//      merchant and `fee` to the recipient in force at that block (to the contract, held, when
//      the payer is that recipient); never to oneself;
//   5. a failed call moves no money;
//   6. refunds of an intent never exceed its amount, go to its payer, and only its merchant
//      makes them;
//   7. no intent (signed id, or merchant + id) is paid twice;
//   8. each payee's totals (processed, received, payments) equal the model's sums.
// Runs: FC_RUNS (default 25) sequences of up to 60 calls; FC_SEED reproduces a failure.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Cl } from "@stacks/transactions";
import {
  ERR,
  SBTC,
  MAINNET_CHAIN_ID,
  CHANGE_DELAY,
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
  refundOnchain,
  distributeFees,
  distributeOnchainFees,
  cancelIntent,
  getIntent,
  getOnchainIntent,
  getConfig,
  merchantTotals,
  printEvents,
  ftTransfers,
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
// 0..2: the two registered merchants and a payee that never registered
const payee = fc.nat(2);

const cmd = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("pay-signed"),
      payer: fc.nat(5),
      merchant: payee,
      id: fc.constantFrom(...IDS),
      amount: fc.bigInt(1n, 2_000_000n),
      feeBps: fc.bigInt(0n, 1200n),
      expDelta: fc.integer({ min: -2, max: 15 }),
      tamper: fc.constantFrom("none", "none", "none", "amount", "merchant", "chain", "fee", "token"),
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
      payer: fc.nat(5),
      id: target,
      // the customer names the right merchant and amount, or not
      wrong: fc.constantFrom("none", "none", "none", "merchant", "amount"),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("refund"),
      onchain: fc.boolean(),
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
      onchain: fc.boolean(),
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
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wait-delay") }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fee-bps"), bps: fc.integer({ min: 0, max: 1000 }) }) },
  // the fee recipient moves between the deployer (a frequent payer here) and two others
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("set-recipient"), who: fc.nat(2) }) },
  // sBTC sent to the contract by mistake, and the owner recovering (some of) it
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("stray"), from: fc.nat(5), amount: fc.bigInt(1n, 50_000n) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("recover"), extra: fc.oneof(fc.constant(0n), fc.bigInt(-100n, 100n)), to: fc.nat(5) }) },
  // pause, try to pay (must fail), unpause
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("pause-blip"), payer: fc.nat(3), id: fc.constantFrom(...IDS) }) },
  // suspend a payee (registered or not), try to pay it (must fail), reinstate
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("suspend-blip"), merchant: payee, payer: fc.nat(2), amount: fc.bigInt(1n, 100_000n) }) },
);

async function runSequence(cmds) {
  await simnet.initSession(process.cwd(), "./Clarinet.toml");
  const A = accounts();
  const merchants = [A.merchant, A.merchant2, A.customer2]; // customer2 never registers
  // the deployer is the fee recipient at first: its payments are the ones whose fee is held
  const payers = [A.customer, A.customer2, A.stranger, A.merchant, A.deployer, A.deployer];
  const everyone = [A.deployer, A.merchant, A.merchant2, A.customer, A.customer2, A.stranger];
  const recipients = [A.deployer, A.stranger, A.merchant2];
  const contract = contractId();
  const universe = [...everyone, contract];

  setGatewayKey();
  registerMerchant(A.merchant);
  registerMerchant(A.merchant2);
  for (const p of everyone) mintSbtc(p, 5_000_000n);

  const balances = () => {
    const m = sbtcBalances();
    return Object.fromEntries(universe.map((p) => [p, m.get(p) ?? 0n]));
  };
  const sum = (b) => Object.values(b).reduce((x, y) => x + y, 0n);
  const total0 = sum(balances());

  // the model
  const paid = new Set(); // "s|id" for signed intents, "m|<merchant>|id" for on-chain ones
  const records = new Map(); // key -> { merchant, payer, fee, held, recipient, distributed }
  const created = new Set(); // "merchant|id" created on chain
  const totals = new Map(); // payee -> { processed, received, payments }
  let owed = 0n; // held fees not paid out
  let stray = 0n; // sBTC sent to the contract by mistake, not recovered
  // the fee recipient setting as the contract has it: { old, new, at }
  let recipient = { old: A.deployer, new: A.deployer, at: 0 };
  const recipientAt = (h) => (h >= recipient.at ? recipient.new : recipient.old);
  let paused = false;

  const pick = (id, pool) => {
    if (typeof id === "string") return id;
    const list = [...pool];
    return list.length ? list[id.known % list.length] : IDS[id.known % IDS.length];
  };
  const keyOf = (k) => (k.startsWith("s|") ? k.slice(2) : k.split("|")[2]);

  for (const c0 of cmds) {
    const c = { ...c0 };
    // for commands on known intents: a key of the model's, resolved now
    let known = null;
    if (c.id !== undefined && typeof c.id !== "string") {
      if (c.kind === "refund" || c.kind === "distribute") {
        const wanted = [...paid].filter((k) => k.startsWith(c.onchain ? "m|" : "s|"));
        known = wanted.length ? wanted[c.id.known % wanted.length] : null;
        c.id = known ? keyOf(known) : pick(c.id, []);
      } else {
        const list = [...created];
        known = list.length ? list[c.id.known % list.length] : null;
        c.id = known ? known.split("|")[1] : pick(c.id, []);
      }
    }
    const before = balances();
    const owedBefore = feesPending();
    const height = simnet.blockHeight + 1; // the block the call executes in
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
        if (c.tamper === "merchant") sent = { ...t, merchant: merchants[(c.merchant + 1) % 3] };
        if (c.tamper === "fee") sent = { ...t, fee: t.fee + 1n };
        if (c.tamper === "chain") sig = signTerms({ ...t, chainId: MAINNET_CHAIN_ID });
        if (c.tamper === "token") sig = signTerms({ ...t, token: `${A.stranger}.sbtc-token` });
        res = call("pay-signed-intent", payArgs(sent, sig), payers[c.payer]);
        if (c.tamper !== "none") {
          // a tampered payment never succeeds
          expect(res.result.type).toBe("err");
        }
        break;
      }
      case "create": {
        const m = merchants[c.merchant];
        res = createIntent(m, c.id, c.amount, simnet.blockHeight + c.expDelta);
        if (res.result.type === "ok") created.add(`${m}|${c.id}`);
        break;
      }
      case "process": {
        const m = known ? known.split("|")[0] : A.merchant;
        const intent = getOnchainIntent(m, c.id);
        const named = c.wrong === "merchant" ? merchants[(merchants.indexOf(m) + 1) % 3] : m;
        let amount = intent ? intent.amount : 1n;
        if (c.wrong === "amount") amount += 1n;
        res = processPayment(named, c.id, amount, payers[c.payer]);
        if (c.wrong !== "none") expect(res.result.type).toBe("err");
        break;
      }
      case "refund": {
        // an on-chain refund acts on the sender's own intent of that id
        const m = known ? records.get(known).merchant : A.merchant;
        let sender;
        let intent;
        if (c.onchain) {
          sender = c.sender === "merchant" ? m : everyone[c.sender];
          intent = getOnchainIntent(sender, c.id);
        } else {
          intent = getIntent(c.id);
          sender = c.sender === "merchant" ? (intent?.merchant ?? A.merchant) : everyone[c.sender];
        }
        const amount = intent ? (intent.amount * BigInt(c.permille)) / 1000n : 1n;
        res = c.onchain ? refundOnchain(c.id, amount, sender) : refund(c.id, amount, sender);
        if (res.result.type === "ok") {
          // 6. only the merchant refunds, to the payer, within the amount
          expect(intent).toBeTruthy();
          expect(sender).toBe(intent.merchant);
          const after = c.onchain ? getOnchainIntent(sender, c.id) : getIntent(c.id);
          expect(after.refunded).toBeLessThanOrEqual(intent.amount);
          expect(ftTransfers(res)).toEqual([
            expect.objectContaining({ sender, recipient: intent.customer, amount }),
          ]);
        }
        break;
      }
      case "distribute": {
        const m = known ? records.get(known).merchant : A.merchant;
        const rec = records.get(c.onchain ? `m|${m}|${c.id}` : `s|${c.id}`);
        res = c.onchain
          ? distributeOnchainFees(m, c.id, everyone[c.sender])
          : distributeFees(c.id, everyone[c.sender]);
        if (res.result.type === "ok") {
          // 3. a held fee, once, to its recorded recipient
          expect(rec).toBeTruthy();
          expect(rec.held).toBe(true);
          expect(rec.distributed).toBe(false);
          rec.distributed = true;
          owed -= rec.fee;
          expect(ftTransfers(res)).toEqual([
            expect.objectContaining({ sender: contract, recipient: rec.recipient, amount: rec.fee }),
          ]);
        }
        break;
      }
      case "cancel": {
        const m = known ? known.split("|")[0] : A.merchant;
        const sender = c.sender === "merchant" ? m : everyone[c.sender];
        res = cancelIntent(m, c.id, sender);
        if (res.result.type === "ok") expect([m, A.deployer]).toContain(sender);
        break;
      }
      case "mine":
        simnet.mineEmptyBlocks(c.n);
        break;
      case "wait-delay":
        simnet.mineEmptyBlocks(CHANGE_DELAY);
        break;
      case "fee-bps":
        res = call("set-fee-bps", [Cl.uint(c.bps)], A.deployer);
        expect(res.result).toBeOk(Cl.bool(true));
        break;
      case "set-recipient": {
        res = call("set-fee-recipient", [Cl.principal(recipients[c.who])], A.deployer);
        expect(res.result).toBeOk(Cl.bool(true));
        recipient = { old: recipientAt(height), new: recipients[c.who], at: height + CHANGE_DELAY };
        break;
      }
      case "stray": {
        const from = everyone[c.from];
        res = simnet.callPublicFn(
          SBTC,
          "transfer",
          [Cl.uint(c.amount), Cl.principal(from), Cl.principal(contract), Cl.none()],
          from,
        );
        if (res.result.type === "ok") stray += c.amount;
        break;
      }
      case "recover": {
        const amount = stray + c.extra;
        res = call(
          "recover-stray",
          [Cl.contractPrincipal(...SBTC.split(".")), Cl.uint(amount < 0n ? 0n : amount), Cl.principal(everyone[c.to])],
          A.deployer,
        );
        // 3. only what is above what is owed can be recovered
        if (res.result.type === "ok") {
          expect(amount).toBeLessThanOrEqual(stray);
          stray -= amount;
        } else {
          expect(amount <= 0n || amount > stray).toBe(true);
        }
        break;
      }
      case "pause-blip": {
        expect(call("pause", [], A.deployer).result).toBeOk(Cl.bool(true));
        paused = true;
        res = processPayment(A.merchant, c.id, 1, payers[c.payer]);
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
      const key = `${c.kind}${c.onchain ? "(onchain)" : ""}${c.tamper && c.tamper !== "none" ? "(tampered)" : ""}`;
      stats[key] ??= { ok: 0, err: 0 };
      stats[key][res.result.type === "ok" ? "ok" : "err"] += 1;
    }

    // 1. conservation
    expect(sum(after)).toBe(total0);

    // 5. failures move nothing
    if (res && res.result.type === "err") expect(after).toEqual(before);

    const isPay = c.kind === "pay-signed" || c.kind === "process";
    if (res && res.result.type === "ok" && isPay) {
      const ev = printEvents(res).find((e) => e.event === "intent-paid");
      const key = ev.signed ? `s|${ev["intent-id"]}` : `m|${ev.merchant}|${ev["intent-id"]}`;
      // 7. never twice
      expect(paid.has(key), `intent ${key} paid twice`).toBe(false);
      paid.add(key);
      expect(paused).toBe(false);
      const { payer, merchant, amount, fee } = ev;
      // 4. exactly `amount` from the payer, `amount - fee` to the merchant, the fee to the
      //    recipient in force (the contract when the payer is that recipient)
      const inForce = recipientAt(height);
      const held = fee > 0n && payer === inForce;
      expect(ev["fee-held"]).toBe(held);
      expect(ev["fee-recipient"]).toBe(fee > 0n ? inForce : null);
      expect(merchant).not.toBe(payer);
      expect(before[payer] - after[payer]).toBe(amount);
      expect(after[merchant] - before[merchant]).toBe(amount - fee + (merchant === inForce ? fee : 0n));
      expect(after[contract] - before[contract]).toBe(held ? fee : 0n);
      if (!held && fee > 0n && inForce !== merchant) {
        expect(after[inForce] - before[inForce]).toBe(fee);
      }
      expect(fee * 10000n).toBeLessThanOrEqual(amount * 1000n);
      records.set(key, { merchant, payer, fee, held, recipient: inForce, distributed: false });
      if (held) owed += fee;
      const t = totals.get(merchant) ?? { processed: 0n, received: 0n, payments: 0n };
      totals.set(merchant, {
        processed: t.processed + amount,
        received: t.received + amount - fee,
        payments: t.payments + 1n,
      });
      // 8. the payee's totals
      expect(merchantTotals(merchant)).toEqual(totals.get(merchant));
    }

    // 2. the contract holds exactly what it owes, plus the stray sBTC the model knows of
    expect(feesPending()).toBe(owed);
    expect(after[contract]).toBe(owed + stray);
    // 3. what is owed only goes down by a pay-out of a held fee
    if (feesPending() < owedBefore) {
      expect(c.kind).toBe("distribute");
      expect(res.result.type).toBe("ok");
    }
    if (after[contract] < before[contract]) {
      expect(["distribute", "recover"]).toContain(c.kind);
    }
  }

  // end-of-sequence checks over every intent the model knows
  for (const [key, rec] of records) {
    const intent = key.startsWith("s|") ? getIntent(keyOf(key)) : getOnchainIntent(rec.merchant, keyOf(key));
    expect(intent["paid-at"]).not.toBe(null);
    expect(["paid", "refunded"]).toContain(intent.status);
    // 6. refunds never exceed the amount
    expect(intent.refunded).toBeLessThanOrEqual(intent.amount);
    expect(intent["fee-held"]).toBe(rec.held);
    expect(intent["fee-distributed"]).toBe(rec.distributed);
    expect(intent["fee-recipient"]).toBe(rec.fee > 0n ? rec.recipient : null);
  }
  for (const id of IDS) {
    const intent = getIntent(id);
    if (intent && intent["paid-at"] === null) expect(intent.refunded).toBe(0n);
    if (!intent) expect(paid.has(`s|${id}`)).toBe(false);
  }
  for (const m of merchants) {
    expect(merchantTotals(m)).toEqual(totals.get(m) ?? { processed: 0n, received: 0n, payments: 0n });
  }
  expect(getConfig()["fees-pending"]).toBe(owed);
  // the asset table agrees with the token contract's own get-balance
  for (const p of universe) expect(sbtcBalanceViaToken(p)).toBe(sbtcBalance(p));
  expect(ro("get-fees-held", [Cl.principal(SBTC)])).toStrictEqual(Cl.uint(owed));
  return true;
}

describe("invariants over random call sequences (fast-check)", () => {
  it("conservation, balance = owed, nothing owed moves but to its owner, single payment", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 60, size: "max" }), runSequence),
      { numRuns: RUNS, seed: SEED, verbose: 1 },
    );
    console.log(`calls per kind over ${RUNS} sequences: ${JSON.stringify(stats)}`);
    expect(stats["pay-signed"].ok).toBeGreaterThan(0);
    expect(stats.process.ok).toBeGreaterThan(0);
    expect(stats.refund.ok).toBeGreaterThan(0);
    expect(stats.distribute.ok + (stats["distribute(onchain)"]?.ok ?? 0)).toBeGreaterThan(0);
    expect(stats.recover.ok).toBeGreaterThan(0);
  });

  it("a known-dangerous sequence: pay, refund in parts, pay again, distribute twice, recover", async () => {
    const seq = [
      { kind: "pay-signed", payer: 4, merchant: 0, id: "pi_a", amount: 10_000n, feeBps: 100n, expDelta: 5, tamper: "none" },
      { kind: "refund", onchain: false, sender: "merchant", id: "pi_a", permille: 400 },
      { kind: "refund", onchain: false, sender: "merchant", id: "pi_a", permille: 600 },
      { kind: "refund", onchain: false, sender: "merchant", id: "pi_a", permille: 1 },
      { kind: "pay-signed", payer: 1, merchant: 0, id: "pi_a", amount: 10_000n, feeBps: 100n, expDelta: 5, tamper: "none" },
      { kind: "create", merchant: 0, id: "pi_a", amount: 5n, expDelta: 5 },
      { kind: "process", payer: 1, id: { known: 0 }, wrong: "none" },
      { kind: "set-recipient", who: 1 },
      { kind: "wait-delay" },
      { kind: "stray", from: 3, amount: 500n },
      { kind: "recover", extra: 1n, to: 3 },
      { kind: "distribute", onchain: false, sender: 3, id: "pi_a" },
      { kind: "distribute", onchain: false, sender: 3, id: "pi_a" },
      { kind: "recover", extra: 0n, to: 3 },
    ];
    expect(await runSequence(seq)).toBe(true);
    // the contract state after it
    expect(ro("get-signed-intent-status", [Cl.stringAscii("pi_a")])).toStrictEqual(
      Cl.stringAscii("refunded"),
    );
    expect(getIntent("pi_a")["fee-distributed"]).toBe(true);
    expect(sbtcBalance(contractId())).toBe(0n);
  });
});
