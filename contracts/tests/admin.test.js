import { describe, it, expect, beforeEach } from "vitest";
import { Cl } from "@stacks/transactions";
import {
  ERR,
  SBTC,
  GATEWAY_PUB,
  OTHER_PUB,
  accounts,
  call,
  mintSbtc,
  setGatewayKey,
  registerMerchant,
  tokenCV,
  terms,
  paySigned,
  getConfig,
  printEvents,
  deployFakeToken,
  afterDelay,
  switchToken,
  contractId,
  sbtcBalance,
  CHANGE_DELAY,
} from "./helpers.js";

let A;
beforeEach(() => {
  A = accounts();
});

const adminCalls = () => [
  ["set-gateway-key", [Cl.buffer(GATEWAY_PUB)]],
  ["rotate-gateway-key", [Cl.buffer(OTHER_PUB), Cl.uint(10)]],
  ["set-fee-recipient", [Cl.principal(A.stranger)]],
  ["set-fee-bps", [Cl.uint(50)]],
  ["set-fee-cap", [Cl.uint(500)]],
  ["set-sbtc-token", [Cl.principal(`${A.stranger}`)]],
  ["pause", []],
  ["unpause", []],
  ["suspend-merchant", [Cl.principal(A.merchant)]],
  ["reinstate-merchant", [Cl.principal(A.merchant)]],
  ["revoke-signed-intent", [Cl.stringAscii("pi_x")]],
  ["transfer-ownership", [Cl.principal(A.stranger)]],
  ["cancel-ownership-transfer", []],
];
const recoverArgs = () => [tokenCV(), Cl.uint(1), Cl.principal(A.stranger)];

describe("admin functions by non-admins", () => {
  it("every admin function answers ERR-NOT-OWNER to a non-owner and changes nothing", () => {
    registerMerchant(A.merchant);
    const before = getConfig();
    for (const who of [A.stranger, A.merchant, A.customer]) {
      for (const [fn, args] of adminCalls()) {
        const res = call(fn, args, who);
        expect(res.result, `${fn} by ${who}`).toBeErr(Cl.uint(ERR.NOT_OWNER));
        expect(printEvents(res)).toEqual([]);
      }
      expect(call("recover-stray", recoverArgs(), who).result).toBeErr(Cl.uint(ERR.NOT_OWNER));
    }
    expect(getConfig()).toEqual(before);
  });

  it("every admin function works for the owner and prints its event", () => {
    registerMerchant(A.merchant);
    // the block each call executes in (one call per block)
    const at = (i) => BigInt(simnet.blockHeight + 1 + i);
    const effective = (i) => at(i) + BigInt(CHANGE_DELAY);
    const expected = {
      "set-gateway-key": {
        event: "gateway-key-rotated",
        "old-key": "00".repeat(33),
        "new-key": GATEWAY_PUB.toString("hex"),
        "old-key-valid-until": at(0),
      },
      "rotate-gateway-key": {
        event: "gateway-key-rotated",
        "old-key": GATEWAY_PUB.toString("hex"),
        "new-key": OTHER_PUB.toString("hex"),
        "old-key-valid-until": at(1) + 10n,
      },
      "set-fee-recipient": {
        event: "fee-recipient-changed",
        "old-recipient": A.deployer,
        "new-recipient": A.stranger,
        "effective-at": effective(2),
      },
      "set-fee-bps": {
        event: "fee-rate-changed",
        "old-bps": 100n,
        "new-bps": 50n,
        "effective-at": effective(3),
      },
      "set-fee-cap": {
        event: "fee-cap-changed",
        "old-bps": 1000n,
        "new-bps": 500n,
        "effective-at": effective(4),
      },
      "set-sbtc-token": {
        event: "token-changed",
        "old-token": SBTC,
        "new-token": A.stranger,
        "effective-at": effective(5),
      },
      pause: { event: "paused", by: A.deployer },
      unpause: { event: "unpaused", by: A.deployer },
      "suspend-merchant": { event: "merchant-suspended", merchant: A.merchant, by: A.deployer },
      "reinstate-merchant": {
        event: "merchant-reinstated",
        merchant: A.merchant,
        by: A.deployer,
      },
      "revoke-signed-intent": { event: "intent-revoked", "intent-id": "pi_x", by: A.deployer },
      "transfer-ownership": {
        event: "owner-transfer-started",
        owner: A.deployer,
        "pending-owner": A.stranger,
      },
      "cancel-ownership-transfer": {
        event: "owner-transfer-cancelled",
        owner: A.deployer,
        "pending-owner": A.stranger,
      },
    };
    for (const [fn, args] of adminCalls()) {
      const res = call(fn, args, A.deployer);
      expect(res.result, fn).toBeOk(Cl.bool(true));
      expect(printEvents(res), fn).toEqual([expected[fn]]);
    }
    // announced changes are in force after the delay
    expect(getConfig()["fee-recipient"]).toBe(A.deployer);
    afterDelay();
    const c = getConfig();
    expect(c["gateway-pubkey"]).toBe(OTHER_PUB.toString("hex"));
    expect(c["fee-recipient"]).toBe(A.stranger);
    expect(c["fee-bps"]).toBe(50n);
    expect(c["fee-cap-bps"]).toBe(500n);
    expect(c["sbtc-token"]).toBe(A.stranger);
    expect(c.paused).toBe(false);
    expect(c["pending-owner"]).toBe(null);
    expect(c.owner).toBe(A.deployer);
  });

  it("a contract called by the owner cannot act as the owner (contract-caller check)", () => {
    const src = `(define-public (steal) (contract-call? '${simnet.deployer}.sbtc-payment-gateway set-fee-recipient tx-sender))`;
    simnet.deployContract("proxy", src, { clarityVersion: 4 }, A.stranger);
    const res = simnet.callPublicFn(`${A.stranger}.proxy`, "steal", [], A.deployer);
    expect(res.result).toBeErr(Cl.uint(ERR.NOT_OWNER));
  });
});

describe("gateway key", () => {
  it("rejects keys that are not compressed secp256k1 keys", () => {
    const bad = [
      Buffer.alloc(33), // 0x00 prefix
      Buffer.concat([Buffer.from([0x04]), GATEWAY_PUB.subarray(1)]),
      GATEWAY_PUB.subarray(0, 32),
      Buffer.alloc(0),
    ];
    for (const k of bad) {
      expect(call("set-gateway-key", [Cl.buffer(k)], A.deployer).result).toBeErr(
        Cl.uint(ERR.INVALID_KEY),
      );
    }
    expect(call("set-gateway-key", [Cl.buffer(OTHER_PUB)], A.deployer).result).toBeOk(
      Cl.bool(true),
    );
  });
});

describe("fee settings", () => {
  it("fee rate cannot exceed the cap; cap cannot exceed 1000 bps or go below the rate", () => {
    expect(call("set-fee-bps", [Cl.uint(1001)], A.deployer).result).toBeErr(
      Cl.uint(ERR.INVALID_FEE),
    );
    expect(call("set-fee-bps", [Cl.uint(1000)], A.deployer).result).toBeOk(Cl.bool(true));
    expect(call("set-fee-cap", [Cl.uint(1001)], A.deployer).result).toBeErr(
      Cl.uint(ERR.FEE_CAP_TOO_HIGH),
    );
    expect(call("set-fee-cap", [Cl.uint(999)], A.deployer).result).toBeErr(
      Cl.uint(ERR.FEE_CAP_TOO_HIGH),
    );
    expect(call("set-fee-bps", [Cl.uint(0)], A.deployer).result).toBeOk(Cl.bool(true));
    expect(call("set-fee-cap", [Cl.uint(0)], A.deployer).result).toBeOk(Cl.bool(true));
    expect(call("set-fee-bps", [Cl.uint(1)], A.deployer).result).toBeErr(
      Cl.uint(ERR.INVALID_FEE),
    );
    expect(getConfig()["max-fee-bps"]).toBe(1000n);
  });
});

describe("token setting", () => {
  it("after a switch and its grace, only the new token is accepted", () => {
    setGatewayKey();
    const fake = deployFakeToken("other-sbtc");
    simnet.callPublicFn(fake, "mint", [Cl.uint(1_000_000), Cl.principal(A.customer)], A.customer);
    mintSbtc(A.customer, 1_000_000n);
    switchToken(fake);
    simnet.mineEmptyBlocks(CHANGE_DELAY);
    expect(paySigned(terms(), A.customer).result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
    expect(paySigned(terms({ token: fake }), A.customer, { token: fake }).result).toBeOk(
      Cl.bool(true),
    );
  });
});

describe("pause", () => {
  it("pause/unpause toggle the flag; repeated calls are harmless", () => {
    expect(call("pause", [], A.deployer).result).toBeOk(Cl.bool(true));
    expect(call("pause", [], A.deployer).result).toBeOk(Cl.bool(true));
    expect(getConfig().paused).toBe(true);
    expect(call("unpause", [], A.deployer).result).toBeOk(Cl.bool(true));
    expect(getConfig().paused).toBe(false);
  });

  it("admin functions keep working while paused", () => {
    call("pause", [], A.deployer);
    expect(call("set-fee-bps", [Cl.uint(10)], A.deployer).result).toBeOk(Cl.bool(true));
    expect(call("set-gateway-key", [Cl.buffer(GATEWAY_PUB)], A.deployer).result).toBeOk(
      Cl.bool(true),
    );
  });
});

describe("merchant suspension", () => {
  it("the deny list takes any principal, registered or not, and is idempotent", () => {
    for (let i = 0; i < 2; i++) {
      expect(call("suspend-merchant", [Cl.principal(A.stranger)], A.deployer).result).toBeOk(
        Cl.bool(true),
      );
    }
    for (let i = 0; i < 2; i++) {
      expect(call("reinstate-merchant", [Cl.principal(A.stranger)], A.deployer).result).toBeOk(
        Cl.bool(true),
      );
    }
  });
});

describe("recover-stray", () => {
  it("a zero amount and more than the stray balance are refused", () => {
    mintSbtc(A.customer, 100n);
    simnet.callPublicFn(SBTC, "transfer", [Cl.uint(100), Cl.principal(A.customer), Cl.principal(contractId()), Cl.none()], A.customer);
    expect(call("recover-stray", [tokenCV(), Cl.uint(0), Cl.principal(A.customer)], A.deployer).result).toBeErr(Cl.uint(ERR.INVALID_AMOUNT));
    expect(call("recover-stray", [tokenCV(), Cl.uint(101), Cl.principal(A.customer)], A.deployer).result).toBeErr(Cl.uint(ERR.STRAY_EXCEEDS));
    expect(call("recover-stray", [tokenCV(), Cl.uint(100), Cl.principal(A.customer)], A.deployer).result).toBeOk(Cl.uint(100));
    expect(sbtcBalance(contractId())).toBe(0n);
  });
});

describe("revoke-signed-intent", () => {
  it("empty id and an id already in use are refused", () => {
    expect(call("revoke-signed-intent", [Cl.stringAscii("")], A.deployer).result).toBeErr(
      Cl.uint(ERR.INVALID_ID),
    );
    setGatewayKey();
    registerMerchant(A.merchant);
    mintSbtc(A.customer, 1_000_000n);
    paySigned(terms(), A.customer);
    expect(
      call("revoke-signed-intent", [Cl.stringAscii("pi_test_0001")], A.deployer).result,
    ).toBeErr(Cl.uint(ERR.INTENT_EXISTS));
  });
});

describe("two-step ownership transfer", () => {
  it("transfer, accept by the wrong principal, accept, old owner loses power", () => {
    expect(call("transfer-ownership", [Cl.principal(A.merchant)], A.deployer).result).toBeOk(
      Cl.bool(true),
    );
    expect(getConfig()["pending-owner"]).toBe(A.merchant);
    expect(getConfig().owner).toBe(A.deployer); // nothing changes until accepted
    expect(call("accept-ownership", [], A.stranger).result).toBeErr(
      Cl.uint(ERR.NOT_PENDING_OWNER),
    );
    expect(call("accept-ownership", [], A.deployer).result).toBeErr(
      Cl.uint(ERR.NOT_PENDING_OWNER),
    );
    const res = call("accept-ownership", [], A.merchant);
    expect(res.result).toBeOk(Cl.bool(true));
    expect(printEvents(res)).toEqual([
      { event: "owner-transfer-completed", "old-owner": A.deployer, "new-owner": A.merchant },
    ]);
    expect(getConfig().owner).toBe(A.merchant);
    expect(getConfig()["pending-owner"]).toBe(null);
    expect(call("pause", [], A.deployer).result).toBeErr(Cl.uint(ERR.NOT_OWNER));
    expect(call("pause", [], A.merchant).result).toBeOk(Cl.bool(true));
    // accepting twice is impossible
    expect(call("accept-ownership", [], A.merchant).result).toBeErr(
      Cl.uint(ERR.NOT_PENDING_OWNER),
    );
  });

  it("a new transfer replaces the pending owner; cancel clears it", () => {
    call("transfer-ownership", [Cl.principal(A.merchant)], A.deployer);
    call("transfer-ownership", [Cl.principal(A.stranger)], A.deployer);
    expect(call("accept-ownership", [], A.merchant).result).toBeErr(
      Cl.uint(ERR.NOT_PENDING_OWNER),
    );
    expect(call("cancel-ownership-transfer", [], A.deployer).result).toBeOk(Cl.bool(true));
    expect(call("accept-ownership", [], A.stranger).result).toBeErr(
      Cl.uint(ERR.NOT_PENDING_OWNER),
    );
    expect(call("cancel-ownership-transfer", [], A.deployer).result).toBeErr(
      Cl.uint(ERR.NOT_PENDING_OWNER),
    );
  });

  it("accept with no transfer in progress", () => {
    expect(call("accept-ownership", [], A.merchant).result).toBeErr(
      Cl.uint(ERR.NOT_PENDING_OWNER),
    );
  });
});
