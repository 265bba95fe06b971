import { describe, it, expect, beforeEach } from "vitest";
import { Cl } from "@stacks/transactions";
import {
  ERR,
  SBTC,
  CHANGE_DELAY,
  SBTC_ASSET,
  accounts,
  contractId,
  call,
  ro,
  mintSbtc,
  sbtcBalance,
  registerMerchant,
  createIntent,
  processPayment,
  cancelIntent,
  getOnchainIntent,
  afterDelay,
  printEvents,
  ftTransfers,
  deployFakeToken,
} from "./helpers.js";

let A;

beforeEach(() => {
  A = accounts();
  mintSbtc(A.customer, 10_000_000n);
});

const merchantOf = (who) => {
  const r = ro("get-merchant", [Cl.principal(who)]);
  return r.type === "none" ? null : r.value.value;
};

describe("register-merchant / update-merchant", () => {
  it("registers once, prints merchant-registered, refuses a second registration", () => {
    const res = registerMerchant(A.merchant, "Coffee", "coffee@example.com");
    expect(res.result).toBeOk(Cl.bool(true));
    const h = simnet.blockHeight;
    expect(printEvents(res)).toEqual([
      {
        event: "merchant-registered",
        merchant: A.merchant,
        name: "Coffee",
        email: "coffee@example.com",
        block: BigInt(h),
      },
    ]);
    expect(merchantOf(A.merchant)).toStrictEqual({
      name: Cl.stringAscii("Coffee"),
      email: Cl.stringAscii("coffee@example.com"),
      active: Cl.bool(true),
      "total-processed": Cl.uint(0),
      "created-at": Cl.uint(h),
    });
    expect(registerMerchant(A.merchant, "Again", "x@y").result).toBeErr(
      Cl.uint(ERR.MERCHANT_EXISTS),
    );
    expect(merchantOf(A.merchant).name).toStrictEqual(Cl.stringAscii("Coffee"));
  });

  it("registration is refused while paused", () => {
    call("pause", [], A.deployer);
    expect(registerMerchant(A.merchant).result).toBeErr(Cl.uint(ERR.PAUSED));
  });

  it("update-merchant changes name/email of the caller only", () => {
    registerMerchant(A.merchant, "Old", "old@x");
    const data = Cl.tuple({ name: Cl.stringAscii("New"), email: Cl.stringAscii("new@x") });
    const res = call("update-merchant", [data], A.merchant);
    expect(res.result).toBeOk(Cl.bool(true));
    expect(printEvents(res)).toEqual([
      { event: "merchant-updated", merchant: A.merchant, name: "New", email: "new@x" },
    ]);
    expect(merchantOf(A.merchant).name).toStrictEqual(Cl.stringAscii("New"));
    expect(merchantOf(A.merchant).active).toStrictEqual(Cl.bool(true));
    expect(call("update-merchant", [data], A.stranger).result).toBeErr(
      Cl.uint(ERR.MERCHANT_NOT_FOUND),
    );
  });
});

describe("create-payment-intent", () => {
  beforeEach(() => {
    registerMerchant(A.merchant);
  });

  it("creates a pending intent with the fee at the current rate and prints intent-created", () => {
    const exp = simnet.blockHeight + 10;
    const res = createIntent(A.merchant, "pi_chain_1", 25_000, exp, "Two coffees ☕");
    expect(res.result).toBeOk(Cl.tuple({ fee: Cl.uint(250) }));
    const h = BigInt(simnet.blockHeight);
    expect(getOnchainIntent(A.merchant, "pi_chain_1")).toEqual({
      merchant: A.merchant,
      amount: 25_000n,
      fee: 250n,
      status: "pending",
      customer: null,
      "created-at": h,
      "expires-at": BigInt(exp),
      signed: false,
      token: SBTC,
      refunded: 0n,
      "fee-recipient": null,
      "fee-held": false,
      "fee-distributed": false,
      "paid-at": null,
    });
    expect(printEvents(res)).toEqual([
      {
        event: "intent-created",
        "intent-id": "pi_chain_1",
        merchant: A.merchant,
        amount: 25_000n,
        fee: 250n,
        "expires-at": BigInt(exp),
        description: "Two coffees ☕",
        token: SBTC,
        block: h,
      },
    ]);
    expect(ro("get-intent-status", [Cl.principal(A.merchant), Cl.stringAscii("pi_chain_1")])).toStrictEqual(
      Cl.stringAscii("pending"),
    );
  });

  it("nobody can overwrite an existing intent; another merchant's id is its own intent", () => {
    registerMerchant(A.merchant2);
    const exp = simnet.blockHeight + 10;
    createIntent(A.merchant, "pi_x", 1000, exp);
    expect(createIntent(A.merchant, "pi_x", 5, exp).result).toBeErr(Cl.uint(ERR.INTENT_EXISTS));
    expect(createIntent(A.merchant2, "pi_x", 5, exp).result).toBeOk(Cl.tuple({ fee: Cl.uint(0) }));
    expect(getOnchainIntent(A.merchant, "pi_x").amount).toBe(1000n);
    expect(getOnchainIntent(A.merchant2, "pi_x").amount).toBe(5n);
  });

  it("error codes: not a merchant, suspended, zero amount, empty id, past expiry, paused", () => {
    const exp = simnet.blockHeight + 10;
    expect(createIntent(A.stranger, "pi_a", 1000, exp).result).toBeErr(
      Cl.uint(ERR.MERCHANT_NOT_FOUND),
    );
    expect(createIntent(A.merchant, "pi_a", 0, exp).result).toBeErr(Cl.uint(ERR.INVALID_AMOUNT));
    expect(createIntent(A.merchant, "", 1000, exp).result).toBeErr(Cl.uint(ERR.INVALID_ID));
    // the call executes in block blockHeight + 1: expires-at must be above that
    expect(createIntent(A.merchant, "pi_a", 1000, simnet.blockHeight + 1).result).toBeErr(
      Cl.uint(ERR.INVALID_EXPIRY),
    );
    expect(createIntent(A.merchant, "pi_a", 1000, simnet.blockHeight + 2).result).toBeOk(
      Cl.tuple({ fee: Cl.uint(10) }),
    );
    call("suspend-merchant", [Cl.principal(A.merchant)], A.deployer);
    expect(createIntent(A.merchant, "pi_b", 1000, exp).result).toBeErr(
      Cl.uint(ERR.MERCHANT_INACTIVE),
    );
    call("reinstate-merchant", [Cl.principal(A.merchant)], A.deployer);
    call("pause", [], A.deployer);
    expect(createIntent(A.merchant, "pi_b", 1000, exp).result).toBeErr(Cl.uint(ERR.PAUSED));
  });

  it("fee rounding: amount * bps / 10000 rounded down", () => {
    const cases = [
      // [bps, amount, fee]
      [100, 1, 0],
      [100, 99, 0],
      [100, 100, 1],
      [100, 199, 1],
      [100, 200, 2],
      [100, 2_100_000_000_000_000, 21_000_000_000_000],
      [0, 123_456, 0],
      [1, 9_999, 0],
      [1, 10_000, 1],
      [250, 3, 0],
      [250, 40, 1],
      [999, 10_001, 999],
      [1000, 9, 0],
      [1000, 10, 1],
      [1000, 19, 1],
      [1000, 12_345, 1_234],
    ];
    let i = 0;
    for (const [bps, amount, fee] of cases) {
      expect(call("set-fee-bps", [Cl.uint(bps)], A.deployer).result).toBeOk(Cl.bool(true));
      afterDelay();
      expect(ro("calculate-fee", [Cl.uint(amount)])).toStrictEqual(Cl.uint(fee));
      const exp = simnet.blockHeight + 1000;
      expect(createIntent(A.merchant, `pi_r${i++}`, amount, exp).result).toBeOk(
        Cl.tuple({ fee: Cl.uint(fee) }),
      );
    }
  });
});

describe("process-payment", () => {
  let exp;
  beforeEach(() => {
    registerMerchant(A.merchant);
    exp = simnet.blockHeight + 20;
    createIntent(A.merchant, "pi_c", 50_000, exp);
  });

  it("pays: amount - fee to the merchant, fee to the fee recipient, intent paid, event printed", () => {
    const before = {
      c: sbtcBalance(A.customer),
      m: sbtcBalance(A.merchant),
      r: sbtcBalance(A.deployer),
      k: sbtcBalance(contractId()),
    };
    const res = processPayment(A.merchant, "pi_c", 50_000, A.customer);
    expect(res.result).toBeOk(Cl.bool(true));
    expect(sbtcBalance(A.customer)).toBe(before.c - 50_000n);
    expect(sbtcBalance(A.merchant)).toBe(before.m + 49_500n);
    expect(sbtcBalance(A.deployer)).toBe(before.r + 500n);
    expect(sbtcBalance(contractId())).toBe(before.k);
    expect(ftTransfers(res)).toEqual([
      { asset: SBTC_ASSET, sender: A.customer, recipient: A.merchant, amount: 49_500n },
      { asset: SBTC_ASSET, sender: A.customer, recipient: A.deployer, amount: 500n },
    ]);
    const h = BigInt(simnet.blockHeight);
    const intent = getOnchainIntent(A.merchant, "pi_c");
    expect(intent.status).toBe("paid");
    expect(intent.customer).toBe(A.customer);
    expect(intent["paid-at"]).toBe(h);
    expect(intent.signed).toBe(false);
    expect(printEvents(res)).toEqual([
      {
        event: "intent-paid",
        "intent-id": "pi_c",
        merchant: A.merchant,
        payer: A.customer,
        amount: 50_000n,
        fee: 500n,
        "merchant-amount": 49_500n,
        signed: false,
        token: SBTC,
        "fee-recipient": A.deployer,
        "fee-held": false,
        block: h,
      },
    ]);
  });

  it("the fee fixed at creation is charged even if the rate changes later", () => {
    createIntent(A.merchant, "pi_long", 50_000, simnet.blockHeight + 3 * CHANGE_DELAY);
    call("set-fee-bps", [Cl.uint(1000)], A.deployer);
    afterDelay();
    const res = processPayment(A.merchant, "pi_long", 50_000, A.customer);
    expect(res.result).toBeOk(Cl.bool(true));
    expect(printEvents(res)[0].fee).toBe(500n);
  });

  it("a fee cap lowered after creation applies once in force: ERR-INVALID-FEE", () => {
    // amount 50_000, fee 500 (100 bps)
    createIntent(A.merchant, "pi_long", 50_000, simnet.blockHeight + 3 * CHANGE_DELAY);
    call("set-fee-bps", [Cl.uint(10)], A.deployer);
    expect(call("set-fee-cap", [Cl.uint(99)], A.deployer).result).toBeOk(Cl.bool(true));
    afterDelay();
    expect(processPayment(A.merchant, "pi_long", 50_000, A.customer).result).toBeErr(Cl.uint(ERR.INVALID_FEE));
    expect(call("set-fee-cap", [Cl.uint(100)], A.deployer).result).toBeOk(Cl.bool(true));
    afterDelay();
    expect(processPayment(A.merchant, "pi_long", 50_000, A.customer).result).toBeOk(Cl.bool(true));
  });

  it("pay twice fails with ERR-ALREADY-PAID", () => {
    expect(processPayment(A.merchant, "pi_c", 50_000, A.customer).result).toBeOk(Cl.bool(true));
    mintSbtc(A.customer2, 1_000_000n);
    expect(processPayment(A.merchant, "pi_c", 50_000, A.customer).result).toBeErr(Cl.uint(ERR.ALREADY_PAID));
    expect(processPayment(A.merchant, "pi_c", 50_000, A.customer2).result).toBeErr(Cl.uint(ERR.ALREADY_PAID));
  });

  it("unknown intent", () => {
    expect(processPayment(A.merchant, "pi_nope", 1, A.customer).result).toBeErr(Cl.uint(ERR.INTENT_NOT_FOUND));
  });

  it("wrong token", () => {
    const fake = deployFakeToken();
    expect(processPayment(A.merchant, "pi_c", 50_000, A.customer, fake).result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
  });

  it("expiry boundary: payable in block expires-at - 1, not in block expires-at", () => {
    // a call made now executes in block simnet.blockHeight + 1
    simnet.mineEmptyBlocks(exp - simnet.blockHeight - 2);
    expect(simnet.blockHeight + 1).toBe(exp - 1);
    expect(processPayment(A.merchant, "pi_c", 50_000, A.customer).result).toBeOk(Cl.bool(true));

    const h0 = simnet.blockHeight;
    createIntent(A.merchant, "pi_d", 1000, h0 + 3); // executes in block h0 + 1
    simnet.mineEmptyBlocks(1); // tip h0 + 2: the next call executes in block h0 + 3
    expect(ro("get-intent-status", [Cl.principal(A.merchant), Cl.stringAscii("pi_d")])).toStrictEqual(
      Cl.stringAscii("pending"),
    );
    expect(processPayment(A.merchant, "pi_d", 1000, A.customer).result).toBeErr(Cl.uint(ERR.EXPIRED));
    expect(ro("get-intent-status", [Cl.principal(A.merchant), Cl.stringAscii("pi_d")])).toStrictEqual(
      Cl.stringAscii("expired"),
    );
  });

  it("cancelled intent fails with ERR-CANCELLED", () => {
    expect(cancelIntent(A.merchant, "pi_c", A.merchant).result).toBeOk(
      Cl.bool(true),
    );
    expect(processPayment(A.merchant, "pi_c", 50_000, A.customer).result).toBeErr(Cl.uint(ERR.CANCELLED));
  });

  it("suspended merchant fails with ERR-MERCHANT-INACTIVE", () => {
    call("suspend-merchant", [Cl.principal(A.merchant)], A.deployer);
    expect(processPayment(A.merchant, "pi_c", 50_000, A.customer).result).toBeErr(Cl.uint(ERR.MERCHANT_INACTIVE));
  });

  it("underpaid (balance below amount) fails with ERR-UNDERPAID", () => {
    mintSbtc(A.stranger, 49_999n);
    expect(processPayment(A.merchant, "pi_c", 50_000, A.stranger).result).toBeErr(Cl.uint(ERR.UNDERPAID));
    expect(sbtcBalance(A.stranger)).toBe(49_999n);
    mintSbtc(A.stranger, 1n);
    expect(processPayment(A.merchant, "pi_c", 50_000, A.stranger).result).toBeOk(Cl.bool(true));
    expect(sbtcBalance(A.stranger)).toBe(0n);
  });

  it("the merchant cannot pay its own intent", () => {
    mintSbtc(A.merchant, 100_000n);
    expect(processPayment(A.merchant, "pi_c", 50_000, A.merchant).result).toBeErr(Cl.uint(ERR.SELF_PAYMENT));
  });

  it("paused", () => {
    call("pause", [], A.deployer);
    expect(processPayment(A.merchant, "pi_c", 50_000, A.customer).result).toBeErr(Cl.uint(ERR.PAUSED));
  });

  it("total-processed accumulates per merchant", () => {
    createIntent(A.merchant, "pi_e", 7, exp);
    processPayment(A.merchant, "pi_c", 50_000, A.customer);
    processPayment(A.merchant, "pi_e", 7, A.customer);
    expect(merchantOf(A.merchant)["total-processed"]).toStrictEqual(Cl.uint(50_007));
  });
});

describe("cancel-payment-intent", () => {
  beforeEach(() => {
    registerMerchant(A.merchant);
    createIntent(A.merchant, "pi_c", 50_000, simnet.blockHeight + 20);
  });

  it("by the merchant: prints intent-cancelled", () => {
    const res = cancelIntent(A.merchant, "pi_c", A.merchant);
    expect(res.result).toBeOk(Cl.bool(true));
    expect(printEvents(res)).toEqual([
      { event: "intent-cancelled", "intent-id": "pi_c", merchant: A.merchant, by: A.merchant },
    ]);
    expect(getOnchainIntent(A.merchant, "pi_c").status).toBe("cancelled");
  });

  it("by the owner", () => {
    expect(cancelIntent(A.merchant, "pi_c", A.deployer).result).toBeOk(
      Cl.bool(true),
    );
  });

  it("by anyone else: ERR-NOT-MERCHANT", () => {
    expect(cancelIntent(A.merchant, "pi_c", A.stranger).result).toBeErr(
      Cl.uint(ERR.NOT_MERCHANT),
    );
    expect(cancelIntent(A.merchant, "pi_c", A.customer).result).toBeErr(
      Cl.uint(ERR.NOT_MERCHANT),
    );
  });

  it("a paid or already cancelled intent: ERR-NOT-PENDING; unknown: ERR-INTENT-NOT-FOUND", () => {
    processPayment(A.merchant, "pi_c", 50_000, A.customer);
    expect(cancelIntent(A.merchant, "pi_c", A.merchant).result).toBeErr(
      Cl.uint(ERR.NOT_PENDING),
    );
    createIntent(A.merchant, "pi_z", 10, simnet.blockHeight + 20);
    cancelIntent(A.merchant, "pi_z", A.merchant);
    expect(cancelIntent(A.merchant, "pi_z", A.merchant).result).toBeErr(
      Cl.uint(ERR.NOT_PENDING),
    );
    expect(cancelIntent(A.merchant, "nope", A.merchant).result).toBeErr(
      Cl.uint(ERR.INTENT_NOT_FOUND),
    );
  });

  it("works while paused", () => {
    call("pause", [], A.deployer);
    expect(cancelIntent(A.merchant, "pi_c", A.merchant).result).toBeOk(
      Cl.bool(true),
    );
  });
});

describe("read-only helpers", () => {
  it("get-intent-status of an unknown id is \"unknown\"", () => {
    expect(ro("get-intent-status", [Cl.principal(A.merchant), Cl.stringAscii("nope")])).toStrictEqual(
      Cl.stringAscii("unknown"),
    );
    expect(ro("get-signed-intent-status", [Cl.stringAscii("nope")])).toStrictEqual(
      Cl.stringAscii("unknown"),
    );
    expect(ro("get-payment-intent", [Cl.principal(A.merchant), Cl.stringAscii("nope")])).toStrictEqual(Cl.none());
    expect(ro("get-signed-intent", [Cl.stringAscii("nope")])).toStrictEqual(Cl.none());
    expect(ro("get-merchant", [Cl.principal(A.stranger)])).toStrictEqual(Cl.none());
  });
});
