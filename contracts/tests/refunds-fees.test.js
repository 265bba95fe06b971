import { describe, it, expect, beforeEach } from "vitest";
import { Cl } from "@stacks/transactions";
import {
  ERR,
  SBTC_ASSET,
  accounts,
  contractId,
  call,
  mintSbtc,
  sbtcBalance,
  setGatewayKey,
  registerMerchant,
  terms,
  paySigned,
  createIntent,
  processPayment,
  refund,
  refundOnchain,
  distributeFees,
  distributeOnchainFees,
  switchToken,
  feesHeld,
  CHANGE_DELAY,
  SBTC,
  getIntent,
  getConfig,
  printEvents,
  ftTransfers,
  deployFakeToken,
  GREEDY_TOKEN_SOURCE,
  tokenCV,
} from "./helpers.js";

let A;
const ID = "pi_test_0001"; // terms() default id

beforeEach(() => {
  A = accounts();
  setGatewayKey();
  registerMerchant(A.merchant);
  mintSbtc(A.customer, 10_000_000n);
  mintSbtc(A.merchant, 10_000_000n); // merchants refund from their own balance
  // a paid signed intent: amount 100_000, fee 1_000
  expect(paySigned(terms(), A.customer).result).toBeOk(Cl.bool(true));
});

describe("refund-payment", () => {
  it("full refund by the merchant returns the amount to the payer and marks the intent refunded", () => {
    const c = sbtcBalance(A.customer);
    const m = sbtcBalance(A.merchant);
    const res = refund(ID, 100_000, A.merchant);
    expect(res.result).toBeOk(Cl.uint(100_000));
    expect(sbtcBalance(A.customer)).toBe(c + 100_000n);
    expect(sbtcBalance(A.merchant)).toBe(m - 100_000n);
    expect(ftTransfers(res)).toEqual([
      { asset: SBTC_ASSET, sender: A.merchant, recipient: A.customer, amount: 100_000n },
    ]);
    expect(printEvents(res)).toEqual([
      {
        event: "refund",
        "intent-id": ID,
        merchant: A.merchant,
        payer: A.customer,
        amount: 100_000n,
        "total-refunded": 100_000n,
        "fully-refunded": true,
        signed: true,
        token: SBTC,
      },
    ]);
    const intent = getIntent(ID);
    expect(intent.status).toBe("refunded");
    expect(intent.refunded).toBe(100_000n);
  });

  it("partial refunds add up to at most the amount paid", () => {
    expect(refund(ID, 30_000, A.merchant).result).toBeOk(Cl.uint(30_000));
    expect(getIntent(ID).status).toBe("paid");
    expect(refund(ID, 70_001, A.merchant).result).toBeErr(Cl.uint(ERR.REFUND_EXCEEDS));
    const res = refund(ID, 70_000, A.merchant);
    expect(res.result).toBeOk(Cl.uint(100_000));
    expect(printEvents(res)[0]["fully-refunded"]).toBe(true);
    expect(getIntent(ID).status).toBe("refunded");
    expect(refund(ID, 1, A.merchant).result).toBeErr(Cl.uint(ERR.REFUND_EXCEEDS));
  });

  it("a refund beyond the paid amount in one go is refused and moves nothing", () => {
    const c = sbtcBalance(A.customer);
    expect(refund(ID, 100_001, A.merchant).result).toBeErr(Cl.uint(ERR.REFUND_EXCEEDS));
    expect(sbtcBalance(A.customer)).toBe(c);
    expect(getIntent(ID).refunded).toBe(0n);
  });

  it("only the merchant can refund (not the payer, the owner or a stranger)", () => {
    mintSbtc(A.stranger, 1_000_000n);
    for (const who of [A.customer, A.deployer, A.stranger]) {
      expect(refund(ID, 1_000, who).result).toBeErr(Cl.uint(ERR.NOT_MERCHANT));
    }
  });

  it("zero refund, unknown intent, unpaid intent, wrong token", () => {
    expect(refund(ID, 0, A.merchant).result).toBeErr(Cl.uint(ERR.INVALID_REFUND));
    expect(refund("nope", 1, A.merchant).result).toBeErr(Cl.uint(ERR.INTENT_NOT_FOUND));
    createIntent(A.merchant, "pi_unpaid", 5_000, simnet.blockHeight + 10);
    expect(refundOnchain("pi_unpaid", 1, A.merchant).result).toBeErr(Cl.uint(ERR.NOT_PAID));
    call("revoke-signed-intent", [Cl.stringAscii("pi_revoked")], A.deployer);
    expect(refund("pi_revoked", 1, A.merchant).result).toBeErr(Cl.uint(ERR.NOT_PAID));
    const fake = deployFakeToken();
    expect(refund(ID, 1, A.merchant, fake).result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
  });

  it("refunds go to the payer of an on-chain intent too, and work while paused", () => {
    createIntent(A.merchant, "pi_c", 8_000, simnet.blockHeight + 10);
    mintSbtc(A.customer2, 8_000n);
    processPayment(A.merchant, "pi_c", 8_000, A.customer2);
    expect(sbtcBalance(A.customer2)).toBe(0n);
    call("pause", [], A.deployer);
    // refund-payment is for signed intents; the merchant's own intent has its own refund
    expect(refund("pi_c", 8_000, A.merchant).result).toBeErr(Cl.uint(ERR.INTENT_NOT_FOUND));
    expect(refundOnchain("pi_c", 8_000, A.merchant).result).toBeOk(Cl.uint(8_000));
    expect(sbtcBalance(A.customer2)).toBe(8_000n);
  });

  it("a merchant without the funds cannot refund (token error passes through)", () => {
    const all = sbtcBalance(A.merchant);
    simnet.callPublicFn(
      "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token",
      "transfer",
      [Cl.uint(all), Cl.principal(A.merchant), Cl.principal(A.stranger), Cl.none()],
      A.merchant,
    );
    expect(sbtcBalance(A.merchant)).toBe(0n);
    expect(refund(ID, 10, A.merchant).result).toBeErr(Cl.uint(1));
    expect(getIntent(ID).refunded).toBe(0n);
  });

  it("a fully refunded intent still cannot be paid again", () => {
    refund(ID, 100_000, A.merchant);
    expect(paySigned(terms(), A.customer).result).toBeErr(Cl.uint(ERR.ALREADY_PAID));
  });
});

describe("distribute-fees", () => {
  // A fee is held only when the payer is the fee recipient (the deployer by default): a
  // token transfer to oneself is refused, so the contract keeps it for the recipient.
  const HELD = "pi_held";
  beforeEach(() => {
    mintSbtc(A.deployer, 10_000_000n);
    expect(paySigned(terms({ intentId: HELD }), A.deployer).result).toBeOk(Cl.bool(true));
  });

  it("a fee paid straight to the recipient leaves nothing to distribute", () => {
    expect(getIntent(ID)["fee-held"]).toBe(false);
    expect(distributeFees(ID, A.stranger).result).toBeErr(Cl.uint(ERR.NO_FEE));
  });

  it("pays a held fee from the contract to its recipient, once", () => {
    const intent = getIntent(HELD);
    expect(intent["fee-held"]).toBe(true);
    expect(intent["fee-recipient"]).toBe(A.deployer);
    const r0 = sbtcBalance(A.deployer);
    expect(sbtcBalance(contractId())).toBe(1_000n);
    expect(feesHeld()).toBe(1_000n);
    const res = distributeFees(HELD, A.stranger); // anyone may trigger it
    expect(res.result).toBeOk(Cl.uint(1_000));
    expect(sbtcBalance(A.deployer)).toBe(r0 + 1_000n);
    expect(sbtcBalance(contractId())).toBe(0n);
    expect(ftTransfers(res)).toEqual([
      { asset: SBTC_ASSET, sender: contractId(), recipient: A.deployer, amount: 1_000n },
    ]);
    expect(printEvents(res)).toEqual([
      {
        event: "fees-distributed",
        "intent-id": HELD,
        merchant: A.merchant,
        signed: true,
        recipient: A.deployer,
        amount: 1_000n,
      },
    ]);
    expect(getIntent(HELD)["fee-distributed"]).toBe(true);
    expect(getConfig()["fees-pending"]).toBe(0n);
    expect(distributeFees(HELD, A.stranger).result).toBeErr(Cl.uint(ERR.NO_FEE));
  });

  it("merchant + fee recipient receive exactly the amount, whether the fee is held or not", () => {
    mintSbtc(A.customer2, 77_777n);
    const t = terms({ intentId: "pi_sum", amount: 77_777n, fee: 7_777n });
    const m0 = sbtcBalance(A.merchant);
    const f0 = sbtcBalance(A.deployer);
    paySigned(t, A.customer2);
    expect(sbtcBalance(A.merchant) - m0 + (sbtcBalance(A.deployer) - f0)).toBe(77_777n);
    expect(sbtcBalance(A.customer2)).toBe(0n);
  });

  it("unpaid on-chain intent, zero-fee intent, unknown intent, wrong token", () => {
    createIntent(A.merchant, "pi_unpaid", 5_000, simnet.blockHeight + 10);
    expect(distributeOnchainFees(A.merchant, "pi_unpaid", A.deployer).result).toBeErr(
      Cl.uint(ERR.NOT_PAID),
    );
    paySigned(terms({ intentId: "pi_nofee", fee: 0n }), A.deployer);
    expect(distributeFees("pi_nofee", A.deployer).result).toBeErr(Cl.uint(ERR.NO_FEE));
    expect(distributeFees("nope", A.deployer).result).toBeErr(Cl.uint(ERR.INTENT_NOT_FOUND));
    const fake = deployFakeToken();
    expect(distributeFees(HELD, A.deployer, fake).result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
  });

  it("a held fee of an on-chain intent is paid out by distribute-onchain-fees", () => {
    createIntent(A.merchant, "order-7", 20_000, simnet.blockHeight + 10);
    processPayment(A.merchant, "order-7", 20_000, A.deployer);
    const r0 = sbtcBalance(A.deployer);
    const res = distributeOnchainFees(A.merchant, "order-7", A.stranger);
    expect(res.result).toBeOk(Cl.uint(200));
    expect(printEvents(res)[0].signed).toBe(false);
    expect(sbtcBalance(A.deployer)).toBe(r0 + 200n);
  });

  it("a revoked (never paid) intent has no fee to distribute", () => {
    call("revoke-signed-intent", [Cl.stringAscii("pi_rev")], A.deployer);
    expect(distributeFees("pi_rev", A.deployer).result).toBeErr(Cl.uint(ERR.NOT_PAID));
  });

  it("works while paused and after a refund (the fee is not refunded)", () => {
    refund(HELD, 100_000, A.merchant);
    call("pause", [], A.deployer);
    expect(distributeFees(HELD, A.stranger).result).toBeOk(Cl.uint(1_000));
  });

  it("the as-contract? allowance stops a token that would move more than the fee: ERR-FEE-TRANSFER", () => {
    const greedy = deployFakeToken("greedy-token", GREEDY_TOKEN_SOURCE);
    switchToken(greedy);
    simnet.callPublicFn(greedy, "mint", [Cl.uint(1_000_000), Cl.principal(A.deployer)], A.customer);
    simnet.callPublicFn(greedy, "mint", [Cl.uint(5), Cl.principal(contractId())], A.customer);
    const t = terms({ intentId: "pi_greedy", token: greedy });
    expect(paySigned(t, A.deployer, { token: greedy }).result).toBeOk(Cl.bool(true));
    simnet.callPublicFn(greedy, "set-greedy", [Cl.bool(true)], A.deployer);
    const res = distributeFees("pi_greedy", A.deployer, greedy);
    expect(res.result).toBeErr(Cl.uint(ERR.FEE_TRANSFER));
    expect(getIntent("pi_greedy")["fee-distributed"]).toBe(false);
    simnet.callPublicFn(greedy, "set-greedy", [Cl.bool(false)], A.deployer);
    expect(distributeFees("pi_greedy", A.deployer, greedy).result).toBeOk(Cl.uint(1_000));
    expect(CHANGE_DELAY).toBeGreaterThan(0);
  });

  it("fees of many held intents are tracked and paid out independently", () => {
    for (let i = 0; i < 5; i++) {
      paySigned(terms({ intentId: `pi_f${i}`, fee: BigInt(100 + i) }), A.deployer);
    }
    expect(getConfig()["fees-pending"]).toBe(1_000n + 510n);
    expect(distributeFees("pi_f3", A.stranger).result).toBeOk(Cl.uint(103));
    expect(getConfig()["fees-pending"]).toBe(1_000n + 510n - 103n);
    expect(sbtcBalance(contractId())).toBe(1_000n + 510n - 103n);
  });
});
