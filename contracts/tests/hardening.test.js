// The audit's findings (issue 20) and the zero-setup payment (issue 13), one describe block
// each: every test here failed on the contract before the fix.
import { describe, it, expect, beforeEach } from "vitest";
import { Cl } from "@stacks/transactions";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import {
  CONTRACT,
  ERR,
  SBTC,
  SBTC_ASSET,
  CHANGE_DELAY,
  MAX_KEY_OVERLAP,
  GATEWAY_PUB,
  OTHER_PRIV,
  OTHER_PUB,
  accounts,
  contractId,
  call,
  ro,
  mintSbtc,
  sbtcBalance,
  setGatewayKey,
  registerMerchant,
  terms,
  termsHash,
  signTerms,
  paySigned,
  payArgs,
  createIntent,
  processPayment,
  refund,
  refundOnchain,
  distributeFees,
  cancelIntent,
  getIntent,
  getOnchainIntent,
  getConfig,
  merchantTotals,
  feesHeld,
  afterDelay,
  switchToken,
  printEvents,
  ftTransfers,
  deployFakeToken,
  HOOKED_TOKEN_SOURCE,
  plain,
} from "./helpers.js";

let A;
beforeEach(() => {
  A = accounts();
  setGatewayKey();
  mintSbtc(A.customer, 10_000_000n);
  mintSbtc(A.customer2, 10_000_000n);
  mintSbtc(A.stranger, 10_000_000n);
  mintSbtc(A.merchant, 10_000_000n);
});

const gw = `'${simnet.deployer}.${CONTRACT}`;
function deployAs(owner, name, source) {
  const r = simnet.deployContract(name, source, { clarityVersion: 4 }, owner);
  if (r.result.type !== "true") throw new Error(`deploy ${name}: ${JSON.stringify(r.result)}`);
  return `${owner}.${name}`;
}

describe("finding 1: no id squatting between the two payment paths", () => {
  it("DoS: a stranger who front-runs a signed payment with create-payment-intent of its id cannot stop it", () => {
    registerMerchant(A.merchant);
    registerMerchant(A.stranger, "Griefer", "g@x");
    const t = terms();
    // the stranger saw the customer's pay-signed-intent in the mempool and got in first
    expect(createIntent(A.stranger, t.intentId, 5_000, simnet.blockHeight + 50).result).toBeOk(
      Cl.tuple({ fee: Cl.uint(50) }),
    );
    const m0 = sbtcBalance(A.merchant);
    expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
    expect(sbtcBalance(A.merchant)).toBe(m0 + t.amount - t.fee);
    // two intents of that id now exist, each in its own namespace
    expect(getIntent(t.intentId).status).toBe("paid");
    expect(getOnchainIntent(A.stranger, t.intentId).status).toBe("pending");
  });

  it("redirected money: process-payment names merchant and amount, so a look-alike intent is not paid", () => {
    registerMerchant(A.merchant);
    registerMerchant(A.stranger, "Thief", "t@x");
    const exp = simnet.blockHeight + 50;
    // the stranger front-runs the merchant's create-payment-intent with the same id and amount
    expect(createIntent(A.stranger, "order-1", 50_000, exp).result).toBeOk(
      Cl.tuple({ fee: Cl.uint(500) }),
    );
    expect(createIntent(A.merchant, "order-1", 50_000, exp).result).toBeOk(
      Cl.tuple({ fee: Cl.uint(500) }),
    );
    const m0 = sbtcBalance(A.merchant);
    const s0 = sbtcBalance(A.stranger);
    const res = processPayment(A.merchant, "order-1", 50_000, A.customer);
    expect(res.result).toBeOk(Cl.bool(true));
    expect(sbtcBalance(A.merchant)).toBe(m0 + 49_500n);
    expect(sbtcBalance(A.stranger)).toBe(s0);
    expect(printEvents(res)[0].merchant).toBe(A.merchant);
    expect(getOnchainIntent(A.stranger, "order-1").status).toBe("pending");
  });

  it("process-payment refuses an amount other than the intent's, and an intent of another merchant", () => {
    registerMerchant(A.merchant);
    createIntent(A.merchant, "order-2", 50_000, simnet.blockHeight + 50);
    expect(processPayment(A.merchant, "order-2", 49_999, A.customer).result).toBeErr(
      Cl.uint(ERR.TERMS_MISMATCH),
    );
    expect(processPayment(A.merchant2, "order-2", 50_000, A.customer).result).toBeErr(
      Cl.uint(ERR.INTENT_NOT_FOUND),
    );
    expect(processPayment(A.merchant, "order-2", 50_000, A.customer).result).toBeOk(
      Cl.bool(true),
    );
  });

  it("signed intents live where only the gateway's signature and the owner's revocation write", () => {
    registerMerchant(A.merchant);
    const t = terms();
    // the merchant itself creating an on-chain intent of that id does not touch it either
    createIntent(A.merchant, t.intentId, 5_000, simnet.blockHeight + 50);
    expect(getIntent(t.intentId)).toBeNull();
    expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
    // and a revoked id of one namespace is no business of the other
    call("revoke-signed-intent", [Cl.stringAscii("pi_rev")], A.deployer);
    expect(createIntent(A.merchant, "pi_rev", 5_000, simnet.blockHeight + 50).result).toBeOk(
      Cl.tuple({ fee: Cl.uint(50) }),
    );
  });
});

describe("finding 2: merchant and owner actions are not performable by a contract acting in their name", () => {
  // The attacker paid the merchant, then lures the merchant into calling its contract.
  const lure = (body) => `(define-public (claim-prize) (begin ${body} (ok true)))`;

  it("a lured merchant's call cannot refund the attacker's payment back to the attacker", () => {
    const t = terms();
    expect(paySigned(t, A.stranger).result).toBeOk(Cl.bool(true));
    const bait = deployAs(
      A.stranger,
      "prize",
      lure(`(try! (contract-call? ${gw} refund-payment '${SBTC} "${t.intentId}" u${t.amount}))`),
    );
    const s0 = sbtcBalance(A.stranger);
    const res = simnet.callPublicFn(bait, "claim-prize", [], A.merchant);
    expect(res.result).toBeErr(Cl.uint(ERR.PROXY_CALL));
    expect(sbtcBalance(A.stranger)).toBe(s0);
    expect(getIntent(t.intentId).refunded).toBe(0n);
    // the merchant refunding by itself still works
    expect(refund(t.intentId, 1_000, A.merchant).result).toBeOk(Cl.uint(1_000));
  });

  it("a lured merchant's call cannot cancel its on-chain intent, create one, or change its record", () => {
    registerMerchant(A.merchant);
    createIntent(A.merchant, "order-9", 5_000, simnet.blockHeight + 50);
    const cancel = deployAs(
      A.stranger,
      "cancel-bait",
      lure(`(try! (contract-call? ${gw} cancel-payment-intent '${A.merchant} "order-9"))`),
    );
    expect(simnet.callPublicFn(cancel, "claim-prize", [], A.merchant).result).toBeErr(
      Cl.uint(ERR.PROXY_CALL),
    );
    expect(getOnchainIntent(A.merchant, "order-9").status).toBe("pending");
    const create = deployAs(
      A.stranger,
      "create-bait",
      lure(`(try! (contract-call? ${gw} create-payment-intent "order-x" u1 none u999999))`),
    );
    expect(simnet.callPublicFn(create, "claim-prize", [], A.merchant).result).toBeErr(
      Cl.uint(ERR.PROXY_CALL),
    );
    const update = deployAs(
      A.stranger,
      "update-bait",
      lure(`(try! (contract-call? ${gw} update-merchant {name: "pwned", email: "x@y"}))`),
    );
    expect(simnet.callPublicFn(update, "claim-prize", [], A.merchant).result).toBeErr(
      Cl.uint(ERR.PROXY_CALL),
    );
    const register = deployAs(
      A.stranger,
      "register-bait",
      lure(`(try! (contract-call? ${gw} register-merchant {name: "pwned", email: "x@y"}))`),
    );
    expect(simnet.callPublicFn(register, "claim-prize", [], A.customer).result).toBeErr(
      Cl.uint(ERR.PROXY_CALL),
    );
  });

  it("a lured owner's call cannot revoke, pause, suspend, rotate the key or recover funds", () => {
    const owner = [
      `(try! (contract-call? ${gw} revoke-signed-intent "pi_x"))`,
      `(try! (contract-call? ${gw} pause))`,
      `(try! (contract-call? ${gw} suspend-merchant '${A.merchant}))`,
      `(try! (contract-call? ${gw} set-gateway-key 0x${OTHER_PUB.toString("hex")}))`,
      `(try! (contract-call? ${gw} recover-stray '${SBTC} u1 '${A.stranger}))`,
      `(try! (contract-call? ${gw} set-sbtc-token '${A.stranger}))`,
    ];
    owner.forEach((body, i) => {
      const bait = deployAs(A.stranger, `owner-bait-${i}`, lure(body));
      expect(simnet.callPublicFn(bait, "claim-prize", [], A.deployer).result, body).toBeErr(
        Cl.uint(ERR.NOT_OWNER),
      );
    });
  });

  it("a merchant that is itself a contract acts as itself (it meant it)", () => {
    const wallet = deployAs(
      A.merchant2,
      "shop-wallet",
      `(define-public (open (id (string-ascii 36)))
         (as-contract? ()
           (try! (contract-call? ${gw} register-merchant {name: "Contract shop", email: "c@x"}))
           (try! (contract-call? ${gw} create-payment-intent id u10000 none (+ stacks-block-height u50)))))`,
    );
    const res = simnet.callPublicFn(wallet, "open", [Cl.stringAscii("order-w")], A.merchant2);
    expect(res.result).toBeOk(Cl.tuple({ fee: Cl.uint(100) }));
    expect(getOnchainIntent(wallet, "order-w").status).toBe("pending");
    expect(processPayment(wallet, "order-w", 10_000, A.customer).result).toBeOk(Cl.bool(true));
  });
});

describe("finding 3: owner powers on a delay; collected fees and what is owed never redirected", () => {
  it("a new fee recipient is announced by an event and receives fees only from its effective height", () => {
    const res = call("set-fee-recipient", [Cl.principal(A.merchant2)], A.deployer);
    expect(res.result).toBeOk(Cl.bool(true));
    const effective = BigInt(simnet.blockHeight + CHANGE_DELAY);
    expect(printEvents(res)).toEqual([
      {
        event: "fee-recipient-changed",
        "old-recipient": A.deployer,
        "new-recipient": A.merchant2,
        "effective-at": effective,
      },
    ]);
    expect(getConfig()["fee-recipient"]).toBe(A.deployer);
    const before = paySigned(terms({ intentId: "pi_before" }), A.customer);
    expect(ftTransfers(before)[1].recipient).toBe(A.deployer);
    simnet.mineEmptyBlocks(Number(effective) - simnet.blockHeight - 1);
    // the next call executes in block `effective`
    const after = paySigned(terms({ intentId: "pi_after" }), A.customer);
    expect(ftTransfers(after)[1].recipient).toBe(A.merchant2);
    expect(getConfig()["fee-recipient"]).toBe(A.merchant2);
  });

  it("a held fee goes to the recipient assigned when it was paid, whatever the owner changes later", () => {
    // the payer is the fee recipient: the fee cannot go to itself, so the contract holds it
    mintSbtc(A.deployer, 1_000_000n);
    const t = terms();
    expect(paySigned(t, A.deployer).result).toBeOk(Cl.bool(true));
    expect(feesHeld()).toBe(t.fee);
    call("set-fee-recipient", [Cl.principal(A.stranger)], A.deployer);
    afterDelay();
    expect(getConfig()["fee-recipient"]).toBe(A.stranger);
    const s0 = sbtcBalance(A.stranger);
    const d0 = sbtcBalance(A.deployer);
    expect(distributeFees(t.intentId, A.stranger).result).toBeOk(Cl.uint(t.fee));
    expect(sbtcBalance(A.deployer)).toBe(d0 + t.fee);
    expect(sbtcBalance(A.stranger)).toBe(s0);
  });

  it("fee rate and fee cap changes take effect after the delay", () => {
    registerMerchant(A.merchant);
    const rate = call("set-fee-bps", [Cl.uint(500)], A.deployer);
    expect(printEvents(rate)[0]).toEqual({
      event: "fee-rate-changed",
      "old-bps": 100n,
      "new-bps": 500n,
      "effective-at": BigInt(simnet.blockHeight + CHANGE_DELAY),
    });
    expect(createIntent(A.merchant, "o-1", 10_000, simnet.blockHeight + 2 * CHANGE_DELAY).result).toBeOk(
      Cl.tuple({ fee: Cl.uint(100) }),
    );
    const cap = call("set-fee-cap", [Cl.uint(500)], A.deployer);
    expect(cap.result).toBeOk(Cl.bool(true));
    // a signed fee of 10% is still within the cap in force
    expect(paySigned(terms({ intentId: "pi_10pc", amount: 10_000n, fee: 1_000n }), A.customer).result).toBeOk(Cl.bool(true));
    afterDelay();
    expect(getConfig()["fee-bps"]).toBe(500n);
    expect(getConfig()["fee-cap-bps"]).toBe(500n);
    expect(createIntent(A.merchant, "o-2", 10_000, simnet.blockHeight + 50).result).toBeOk(
      Cl.tuple({ fee: Cl.uint(500) }),
    );
    expect(paySigned(terms({ intentId: "pi_10pc_b", amount: 10_000n, fee: 1_000n }), A.customer).result).toBeErr(Cl.uint(ERR.INVALID_FEE));
    // the on-chain intent created before keeps the fee fixed at its creation
    expect(processPayment(A.merchant, "o-1", 10_000, A.customer).result).toBeOk(Cl.bool(true));
    expect(getOnchainIntent(A.merchant, "o-1").fee).toBe(100n);
  });

  it("a pending change can be replaced before it is in force (the owner takes it back)", () => {
    call("set-fee-recipient", [Cl.principal(A.stranger)], A.deployer);
    simnet.mineEmptyBlocks(10);
    const res = call("set-fee-recipient", [Cl.principal(A.deployer)], A.deployer);
    const replacedAt = BigInt(simnet.blockHeight);
    expect(printEvents(res)[0]["new-recipient"]).toBe(A.deployer);
    expect(plain(ro("get-pending-changes"))["fee-recipient"]).toEqual({
      old: A.deployer,
      new: A.deployer,
      "effective-at": replacedAt + BigInt(CHANGE_DELAY),
    });
    afterDelay();
    expect(getConfig()["fee-recipient"]).toBe(A.deployer);
  });

  it("the token is in the signed terms: switching it applies to intents signed after the switch", () => {
    const other = deployFakeToken("other-sbtc");
    simnet.callPublicFn(other, "mint", [Cl.uint(10_000_000), Cl.principal(A.customer)], A.customer);
    simnet.callPublicFn(other, "mint", [Cl.uint(10_000_000), Cl.principal(A.merchant)], A.merchant);
    // a signature for the sBTC terms does not pay in another token, and the reverse
    const t = terms({ intentId: "pi_old" });
    const wrong = { ...t, token: other };
    expect(paySigned(wrong, A.customer, { token: other }).result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
    expect(paySigned(t, A.customer, { sig: signTerms(wrong) }).result).toBeErr(
      Cl.uint(ERR.BAD_SIGNATURE),
    );
    const old = terms({ intentId: "pi_old_1" });
    const oldUnpaid = terms({ intentId: "pi_old_2", expiresAt: BigInt(simnet.blockHeight + 3 * CHANGE_DELAY) });
    expect(paySigned(old, A.customer).result).toBeOk(Cl.bool(true));
    const ann = call("set-sbtc-token", [Cl.principal(other)], A.deployer);
    expect(printEvents(ann)[0]).toEqual({
      event: "token-changed",
      "old-token": SBTC,
      "new-token": other,
      "effective-at": BigInt(simnet.blockHeight + CHANGE_DELAY),
    });
    // not yet in force: the new token is refused
    const early = terms({ intentId: "pi_new_0", token: other });
    expect(paySigned(early, A.customer, { token: other }).result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
    afterDelay();
    expect(getConfig()["sbtc-token"]).toBe(other);
    const fresh = terms({ intentId: "pi_new_1", token: other });
    const res = paySigned(fresh, A.customer, { token: other });
    expect(res.result).toBeOk(Cl.bool(true));
    expect(ftTransfers(res)[0].asset).toBe(`${other}::sbtc-token`);
    // an intent signed before the switch is still paid in its own token ...
    const late = paySigned(oldUnpaid, A.customer);
    expect(late.result).toBeOk(Cl.bool(true));
    expect(ftTransfers(late)[0].asset).toBe(SBTC_ASSET);
    // ... and refunded in it, never in the new one
    expect(refund(old.intentId, 10, A.merchant, other).result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
    const back = refund(old.intentId, 10, A.merchant);
    expect(back.result).toBeOk(Cl.uint(10));
    expect(ftTransfers(back)[0].asset).toBe(SBTC_ASSET);
    // once the grace has passed, the replaced token pays nothing new
    simnet.mineEmptyBlocks(CHANGE_DELAY);
    const stale = terms({ intentId: "pi_old_3", expiresAt: BigInt(simnet.blockHeight + 10) });
    expect(paySigned(stale, A.customer).result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
  });

  it("fees held in the old token are paid out in it after a switch; no switch while the old one is accepted", () => {
    mintSbtc(A.deployer, 1_000_000n);
    const t = terms();
    paySigned(t, A.deployer); // held
    const other = deployFakeToken("other-sbtc");
    switchToken(other);
    expect(distributeFees(t.intentId, A.stranger, other).result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
    expect(distributeFees(t.intentId, A.stranger).result).toBeOk(Cl.uint(t.fee));
    expect(feesHeld()).toBe(0n);
    expect(call("set-sbtc-token", [Cl.principal(SBTC)], A.deployer).result).toBeErr(
      Cl.uint(ERR.TOKEN_IN_GRACE),
    );
    simnet.mineEmptyBlocks(CHANGE_DELAY);
    expect(call("set-sbtc-token", [Cl.principal(SBTC)], A.deployer).result).toBeOk(Cl.bool(true));
  });

  it("stray sBTC above what is owed is recoverable by the owner, never what is owed", () => {
    mintSbtc(A.deployer, 1_000_000n);
    const t = terms();
    paySigned(t, A.deployer); // the contract owes t.fee to its recipient
    // someone sends sBTC to the contract by mistake
    simnet.callPublicFn(SBTC, "transfer", [Cl.uint(7_777), Cl.principal(A.customer), Cl.principal(contractId()), Cl.none()], A.customer);
    expect(sbtcBalance(contractId())).toBe(t.fee + 7_777n);
    expect(call("recover-stray", [Cl.principal(SBTC), Cl.uint(7_778), Cl.principal(A.customer)], A.deployer).result).toBeErr(Cl.uint(ERR.STRAY_EXCEEDS));
    expect(call("recover-stray", [Cl.principal(SBTC), Cl.uint(1), Cl.principal(A.customer)], A.stranger).result).toBeErr(Cl.uint(ERR.NOT_OWNER));
    const c0 = sbtcBalance(A.customer);
    const res = call("recover-stray", [Cl.principal(SBTC), Cl.uint(7_777), Cl.principal(A.customer)], A.deployer);
    expect(res.result).toBeOk(Cl.uint(7_777));
    expect(printEvents(res)).toEqual([
      { event: "stray-recovered", token: SBTC, amount: 7_777n, recipient: A.customer, owed: t.fee },
    ]);
    expect(sbtcBalance(A.customer)).toBe(c0 + 7_777n);
    expect(sbtcBalance(contractId())).toBe(t.fee);
    // what is owed is still paid out to its owner
    expect(distributeFees(t.intentId, A.stranger).result).toBeOk(Cl.uint(t.fee));
  });

  it("a stray token the contract never used is recoverable whole", () => {
    const junk = deployFakeToken("junk");
    simnet.callPublicFn(junk, "mint", [Cl.uint(55), Cl.principal(contractId())], A.customer);
    expect(call("recover-stray", [Cl.principal(junk), Cl.uint(55), Cl.principal(A.deployer)], A.deployer).result).toBeOk(Cl.uint(55));
  });

  it("gateway key: a planned rotation keeps the old key valid for the overlap, then only the new one", () => {
    const oldSig = (id) => signTerms(terms({ intentId: id }));
    const res = call("rotate-gateway-key", [Cl.buffer(OTHER_PUB), Cl.uint(100)], A.deployer);
    expect(res.result).toBeOk(Cl.bool(true));
    const until = BigInt(simnet.blockHeight + 100);
    expect(printEvents(res)).toEqual([
      {
        event: "gateway-key-rotated",
        "old-key": GATEWAY_PUB.toString("hex"),
        "new-key": OTHER_PUB.toString("hex"),
        "old-key-valid-until": until,
      },
    ]);
    // both keys sign payable terms during the overlap
    expect(paySigned(terms({ intentId: "pi_k1" }), A.customer, { sig: oldSig("pi_k1") }).result).toBeOk(Cl.bool(true));
    const t2 = terms({ intentId: "pi_k2" });
    expect(paySigned(t2, A.customer, { sig: signTerms(t2, OTHER_PRIV) }).result).toBeOk(Cl.bool(true));
    simnet.mineEmptyBlocks(100);
    expect(paySigned(terms({ intentId: "pi_k3" }), A.customer, { sig: oldSig("pi_k3") }).result).toBeErr(Cl.uint(ERR.BAD_SIGNATURE));
    expect(call("rotate-gateway-key", [Cl.buffer(GATEWAY_PUB), Cl.uint(MAX_KEY_OVERLAP + 1)], A.deployer).result).toBeErr(Cl.uint(ERR.OVERLAP_TOO_LONG));
  });

  it("gateway key: set-gateway-key (a compromise) takes effect at once and ends any overlap", () => {
    call("rotate-gateway-key", [Cl.buffer(OTHER_PUB), Cl.uint(1000)], A.deployer);
    const third = Buffer.from("2222222222222222222222222222222222222222222222222222222222222222", "hex");
    const res = call("set-gateway-key", [Cl.buffer(Buffer.from(secp256k1.getPublicKey(third, true)))], A.deployer);
    expect(printEvents(res)[0]["old-key-valid-until"]).toBe(BigInt(simnet.blockHeight));
    for (const priv of [undefined, OTHER_PRIV]) {
      const t = terms({ intentId: `pi_c_${priv ? "b" : "a"}` });
      expect(paySigned(t, A.customer, { sig: signTerms(t, priv) }).result).toBeErr(Cl.uint(ERR.BAD_SIGNATURE));
    }
    const t = terms({ intentId: "pi_c_c" });
    expect(paySigned(t, A.customer, { sig: signTerms(t, third) }).result).toBeOk(Cl.bool(true));
  });

  it("the fee recipient cannot be the contract itself (it would hold fees nobody owns)", () => {
    expect(call("set-fee-recipient", [Cl.principal(contractId())], A.deployer).result).toBeErr(
      Cl.uint(ERR.INVALID_RECIPIENT),
    );
  });
});

describe("finding 5: state is written before the token is called", () => {
  it("a token's transfer hook that reads the intent back sees it paid already", () => {
    const hooked = deployFakeToken("hooked-sbtc", HOOKED_TOKEN_SOURCE);
    simnet.callPublicFn(hooked, "mint", [Cl.uint(1_000_000), Cl.principal(A.customer)], A.customer);
    simnet.callPublicFn(hooked, "mint", [Cl.uint(1_000_000), Cl.principal(A.merchant)], A.merchant);
    switchToken(hooked);
    const t = terms({ intentId: "pi_hook", token: hooked });
    simnet.callPublicFn(hooked, "set-watch", [Cl.stringAscii(t.intentId)], A.customer);
    expect(paySigned(t, A.customer, { token: hooked }).result).toBeOk(Cl.bool(true));
    // two transfers (merchant, fee recipient): both saw the intent recorded
    expect(plain(simnet.callReadOnlyFn(hooked, "get-seen", [], A.customer).result)).toEqual([
      "paid",
      "paid",
    ]);
    // a refund in full: the hook sees the intent refunded
    expect(refund(t.intentId, t.amount, A.merchant, hooked).result).toBeOk(Cl.uint(t.amount));
    expect(plain(simnet.callReadOnlyFn(hooked, "get-seen", [], A.customer).result)[2]).toBe(
      "refunded",
    );
  });
});

describe("finding 7: signatures are malleable on the VM, and an id is paid once whatever the bytes", () => {
  const N = secp256k1.Point.CURVE().n;

  it("the high-S twin, recovery bytes 0-3 and 64-byte R||S all verify; a second payment still fails", () => {
    const t = terms();
    const sig = signTerms(t);
    const r = sig.subarray(0, 32);
    const s = BigInt("0x" + sig.subarray(32, 64).toString("hex"));
    const highS = Buffer.from((N - s).toString(16).padStart(64, "0"), "hex");
    const twins = [
      Buffer.concat([r, highS, Buffer.from([sig[64] ^ 1])]),
      ...[0, 1, 2, 3].map((v) => Buffer.concat([sig.subarray(0, 64), Buffer.from([v])])),
      sig.subarray(0, 64),
    ];
    const verify = (s2) =>
      ro("verify-intent-signature", [
        Cl.stringAscii(t.intentId),
        Cl.principal(t.merchant),
        Cl.uint(t.amount),
        Cl.uint(t.fee),
        Cl.uint(t.expiresAt),
        Cl.principal(SBTC),
        Cl.buffer(s2),
      ]);
    for (const twin of twins) expect(verify(twin)).toStrictEqual(Cl.bool(true));
    expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
    for (const twin of twins) {
      expect(paySigned(t, A.customer2, { sig: twin }).result).toBeErr(Cl.uint(ERR.ALREADY_PAID));
    }
    expect(termsHash(t).length).toBe(32);
  });
});

describe("issue 13: a first payment with no on-chain setup by the merchant", () => {
  it("pays an unregistered merchant; its totals are tracked", () => {
    expect(ro("get-merchant", [Cl.principal(A.merchant)])).toStrictEqual(Cl.none());
    const t = terms();
    expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
    expect(merchantTotals(A.merchant)).toEqual({
      processed: t.amount,
      received: t.amount - t.fee,
      payments: 1n,
    });
    paySigned(terms({ intentId: "pi_2", amount: 5_000n, fee: 0n }), A.customer);
    expect(merchantTotals(A.merchant)).toEqual({
      processed: t.amount + 5_000n,
      received: t.amount - t.fee + 5_000n,
      payments: 2n,
    });
  });

  it("a registered merchant's totals are the same counters, shown in get-merchant too", () => {
    registerMerchant(A.merchant);
    paySigned(terms(), A.customer);
    createIntent(A.merchant, "order-1", 7_000, simnet.blockHeight + 10);
    processPayment(A.merchant, "order-1", 7_000, A.customer);
    expect(merchantTotals(A.merchant).processed).toBe(107_000n);
    const m = plain(ro("get-merchant", [Cl.principal(A.merchant)]));
    expect(m["total-processed"]).toBe(107_000n);
    expect(m.active).toBe(true);
  });

  it("the owner's deny list suspends registered and unregistered payees alike", () => {
    registerMerchant(A.merchant);
    for (const who of [A.merchant, A.merchant2]) {
      const res = call("suspend-merchant", [Cl.principal(who)], A.deployer);
      expect(res.result).toBeOk(Cl.bool(true));
      expect(ro("is-suspended", [Cl.principal(who)])).toStrictEqual(Cl.bool(true));
      const t = terms({ intentId: `pi_s_${who}`.slice(0, 36), merchant: who });
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.MERCHANT_INACTIVE));
    }
    expect(plain(ro("get-merchant", [Cl.principal(A.merchant)])).active).toBe(false);
    expect(createIntent(A.merchant, "order-s", 1_000, simnet.blockHeight + 10).result).toBeErr(
      Cl.uint(ERR.MERCHANT_INACTIVE),
    );
    call("reinstate-merchant", [Cl.principal(A.merchant2)], A.deployer);
    expect(ro("is-suspended", [Cl.principal(A.merchant2)])).toStrictEqual(Cl.bool(false));
    const t = terms({ intentId: "pi_back", merchant: A.merchant2 });
    expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
  });

  it("a suspended merchant can still refund what it was paid", () => {
    const t = terms();
    paySigned(t, A.customer);
    call("suspend-merchant", [Cl.principal(A.merchant)], A.deployer);
    expect(refund(t.intentId, t.amount, A.merchant).result).toBeOk(Cl.uint(t.amount));
  });

  it("an on-chain intent refund by its merchant, and cancel by the owner", () => {
    registerMerchant(A.merchant);
    createIntent(A.merchant, "order-r", 9_000, simnet.blockHeight + 10);
    processPayment(A.merchant, "order-r", 9_000, A.customer2);
    expect(refundOnchain("order-r", 9_000, A.stranger).result).toBeErr(Cl.uint(ERR.INTENT_NOT_FOUND));
    const res = refundOnchain("order-r", 9_000, A.merchant);
    expect(res.result).toBeOk(Cl.uint(9_000));
    expect(ftTransfers(res)[0].recipient).toBe(A.customer2);
    createIntent(A.merchant, "order-c", 9_000, simnet.blockHeight + 10);
    expect(cancelIntent(A.merchant, "order-c", A.deployer).result).toBeOk(Cl.bool(true));
  });
});

describe("gateway-facing read-only calls", () => {
  it("get-config names the key the gateway must hold, pause, the token in force and the delay", () => {
    const c = getConfig();
    expect(c["gateway-pubkey"]).toBe(GATEWAY_PUB.toString("hex"));
    expect(c["previous-gateway-pubkey"]).toBe(null);
    expect(c.paused).toBe(false);
    expect(c["sbtc-token"]).toBe(SBTC);
    expect(c["change-delay"]).toBe(BigInt(CHANGE_DELAY));
    expect(c["fees-pending"]).toBe(0n);
  });
});
