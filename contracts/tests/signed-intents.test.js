import { describe, it, expect, beforeEach } from "vitest";
import { Cl } from "@stacks/transactions";
import {
  CONTRACT,
  ERR,
  SBTC,
  SBTC_ASSET,
  MAINNET_CHAIN_ID,
  TESTNET_CHAIN_ID,
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
  termsBytes,
  termsHash,
  signTerms,
  signHash,
  paySigned,
  payArgs,
  createIntent,
  getIntent,
  getConfig,
  printEvents,
  ftTransfers,
  deployFakeToken,
  afterDelay,
} from "./helpers.js";

let A;

beforeEach(() => {
  A = accounts();
  setGatewayKey();
  registerMerchant(A.merchant);
  registerMerchant(A.merchant2, "Other shop", "other@example.com");
  mintSbtc(A.customer, 10_000_000n);
  mintSbtc(A.customer2, 10_000_000n);
});

describe("terms hash and signing recipe", () => {
  it("the VM's get-terms-hash equals sha256 of the byte-level serialization", () => {
    const t = terms();
    const vm = ro("get-terms-hash", [
      Cl.stringAscii(t.intentId),
      Cl.principal(t.merchant),
      Cl.uint(t.amount),
      Cl.uint(t.fee),
      Cl.uint(t.expiresAt),
      Cl.principal(SBTC),
    ]);
    expect(vm).toStrictEqual(Cl.buffer(termsHash(t)));
  });

  it("key order is amount, chain-id, contract, expires-at, fee, intent-id, merchant, token", () => {
    const b = termsBytes(terms());
    const keys = [];
    let i = 5; // 0x0c + u32 count
    expect(b[0]).toBe(0x0c);
    expect(b.readUInt32BE(1)).toBe(8);
    const skip = (p) => {
      const t = b[p];
      if (t === 0x01) return p + 17;
      if (t === 0x0d) return p + 5 + b.readUInt32BE(p + 1);
      if (t === 0x05) return p + 22;
      if (t === 0x06) return p + 22 + 1 + b[p + 22];
      throw new Error(`type ${t}`);
    };
    while (i < b.length) {
      const n = b[i];
      keys.push(b.subarray(i + 1, i + 1 + n).toString("ascii"));
      i = skip(i + 1 + n);
    }
    expect(keys).toEqual([
      "amount",
      "chain-id",
      "contract",
      "expires-at",
      "fee",
      "intent-id",
      "merchant",
      "token",
    ]);
  });

  it("fixed vector: serialization and hash of known terms", () => {
    const t = {
      intentId: "pi_0001",
      merchant: "ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5",
      amount: 25000n,
      fee: 250n,
      expiresAt: 1000n,
      chainId: TESTNET_CHAIN_ID,
      contract: "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.sbtc-payment-gateway",
      token: SBTC,
    };
    const vm = ro("get-terms-hash", [
      Cl.stringAscii(t.intentId),
      Cl.principal(t.merchant),
      Cl.uint(t.amount),
      Cl.uint(t.fee),
      Cl.uint(t.expiresAt),
      Cl.principal(t.token),
    ]);
    expect(vm).toStrictEqual(Cl.buffer(termsHash(t)));
    // The same vector is in contracts/README.md for the off-chain (Python) implementation;
    // the signature is RFC 6979 deterministic, so coincurve's sign_recoverable(hash,
    // hasher=None) produces the identical 65 bytes (checked when this vector was made).
    expect(termsBytes(t).toString("hex")).toBe(
      "0c0000000806616d6f756e7401000000000000000000000000000061a808636861696e2d696401000000" +
        "0000000000000000008000000008636f6e7472616374061a6d78de7b0625dfbfc16c3a8a5735f6dc3dc3" +
        "f2ce14736274632d7061796d656e742d676174657761790a657870697265732d61740100000000000000" +
        "0000000000000003e80366656501000000000000000000000000000000fa09696e74656e742d69640d00" +
        "00000770695f30303031086d65726368616e74051a7321b74e2b6a7e949e6c4ad313035b166509501705" +
        "746f6b656e0614f6decc7cfff2a413bd7cd4f53c25ad7fd1899acc0a736274632d746f6b656e",
    );
    expect(termsHash(t).toString("hex")).toBe(
      "f56b81f9f78db9baef9649498ea3a4e8cfb2931828e9740e24f6b5af1352613d",
    );
    expect(GATEWAY_PUB.toString("hex")).toBe(
      "0356e1a594044559dd94a099312d62cc2755da9e6f2d1527a25f82a10ac7b1b203",
    );
    const sig = signTerms(t);
    expect(sig.toString("hex")).toBe(
      "4d9492f88df710ca4a2808f1ae26925e745eb812007ba0dcd9fd6e2504535f45" +
        "5134511e806032be3779917a577323584f89c56c68c82ebc61256aeda5194e2301",
    );
    // and the contract accepts exactly those bytes
    expect(paySigned(t, A.customer, { sig }).result).toBeOk(Cl.bool(true));
  });

  it("verify-intent-signature accepts the gateway's R||S||V signature and a 64-byte R||S", () => {
    const t = terms();
    const sig = signTerms(t);
    expect(sig.length).toBe(65);
    const args = (s) => [
      Cl.stringAscii(t.intentId),
      Cl.principal(t.merchant),
      Cl.uint(t.amount),
      Cl.uint(t.fee),
      Cl.uint(t.expiresAt),
      Cl.principal(SBTC),
      Cl.buffer(s),
    ];
    expect(ro("verify-intent-signature", args(sig))).toStrictEqual(Cl.bool(true));
    expect(ro("verify-intent-signature", args(sig.subarray(0, 64)))).toStrictEqual(Cl.bool(true));
    // V||R||S (the transaction layout) is not accepted
    const vrs = Buffer.concat([sig.subarray(64), sig.subarray(0, 64)]);
    expect(ro("verify-intent-signature", args(vrs))).toStrictEqual(Cl.bool(false));
  });
});

describe("pay-signed-intent", () => {
  it("pays: merchant gets amount - fee, the fee recipient the fee, intent recorded, event printed", () => {
    const t = terms();
    const before = {
      c: sbtcBalance(A.customer),
      m: sbtcBalance(A.merchant),
      r: sbtcBalance(A.deployer),
      k: sbtcBalance(contractId()),
    };
    const res = paySigned(t, A.customer);
    expect(res.result).toBeOk(Cl.bool(true));
    expect(sbtcBalance(A.customer)).toBe(before.c - t.amount);
    expect(sbtcBalance(A.merchant)).toBe(before.m + t.amount - t.fee);
    // the fee goes straight to the fee recipient (the deployer by default): nothing is held
    expect(sbtcBalance(A.deployer)).toBe(before.r + t.fee);
    expect(sbtcBalance(contractId())).toBe(before.k);

    expect(ftTransfers(res)).toEqual([
      { asset: SBTC_ASSET, sender: A.customer, recipient: A.merchant, amount: t.amount - t.fee },
      { asset: SBTC_ASSET, sender: A.customer, recipient: A.deployer, amount: t.fee },
    ]);

    const paidAt = BigInt(simnet.blockHeight);
    expect(getIntent(t.intentId)).toEqual({
      merchant: A.merchant,
      amount: t.amount,
      fee: t.fee,
      status: "paid",
      customer: A.customer,
      "created-at": paidAt,
      "expires-at": t.expiresAt,
      signed: true,
      token: SBTC,
      refunded: 0n,
      "fee-recipient": A.deployer,
      "fee-held": false,
      "fee-distributed": false,
      "paid-at": paidAt,
    });
    expect(printEvents(res)).toEqual([
      {
        event: "intent-paid",
        "intent-id": t.intentId,
        merchant: A.merchant,
        payer: A.customer,
        amount: t.amount,
        fee: t.fee,
        "merchant-amount": t.amount - t.fee,
        signed: true,
        token: SBTC,
        "fee-recipient": A.deployer,
        "fee-held": false,
        block: paidAt,
      },
    ]);
    expect(getConfig()["fees-pending"]).toBe(0n);
    const m = ro("get-merchant", [Cl.principal(A.merchant)]);
    expect(m.value.value["total-processed"]).toStrictEqual(Cl.uint(t.amount));
    expect(ro("get-signed-intent-status", [Cl.stringAscii(t.intentId)])).toStrictEqual(
      Cl.stringAscii("paid"),
    );
  });

  it("zero fee moves everything to the merchant and nothing to the contract", () => {
    const t = terms({ fee: 0n });
    const res = paySigned(t, A.customer);
    expect(res.result).toBeOk(Cl.bool(true));
    expect(ftTransfers(res)).toEqual([
      { asset: SBTC_ASSET, sender: A.customer, recipient: A.merchant, amount: t.amount },
    ]);
  });

  it("an intent is paid at most once (same payer, another payer)", () => {
    const t = terms();
    expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
    const bal = sbtcBalance(A.customer2);
    expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.ALREADY_PAID));
    expect(paySigned(t, A.customer2).result).toBeErr(Cl.uint(ERR.ALREADY_PAID));
    expect(sbtcBalance(A.customer2)).toBe(bal);
  });

  it("rejects a token other than the configured sBTC, even one with the same shape and name", () => {
    const fake = deployFakeToken();
    simnet.callPublicFn(fake, "mint", [Cl.uint(1_000_000), Cl.principal(A.customer)], A.customer);
    const t = terms();
    const res = paySigned(t, A.customer, { token: fake });
    expect(res.result).toBeErr(Cl.uint(ERR.WRONG_TOKEN));
    expect(getIntent(t.intentId)).toBeNull();
  });

  describe("forged and replayed signatures", () => {
    it("signature made for another network (chain id 1) is rejected", () => {
      const t = terms();
      const sig = signTerms({ ...t, chainId: MAINNET_CHAIN_ID });
      expect(paySigned(t, A.customer, { sig }).result).toBeErr(Cl.uint(ERR.BAD_SIGNATURE));
    });

    it("signature made for another contract is rejected (name and deployed copy)", () => {
      const t = terms();
      const sig = signTerms({ ...t, contract: `${simnet.deployer}.other-gateway` });
      expect(paySigned(t, A.customer, { sig }).result).toBeErr(Cl.uint(ERR.BAD_SIGNATURE));

      // a real second deployment with the same key: a signature for one is useless on the other
      const src = simnet.getContractSource(CONTRACT);
      simnet.deployContract("gateway-copy", src, { clarityVersion: 4 }, simnet.deployer);
      const copy = `${simnet.deployer}.gateway-copy`;
      simnet.callPublicFn(copy, "set-gateway-key", [Cl.buffer(GATEWAY_PUB)], simnet.deployer);
      const forCopy = signTerms({ ...t, contract: copy });
      // valid on the copy ...
      expect(
        simnet.callPublicFn(copy, "pay-signed-intent", payArgs(t, forCopy), A.customer).result,
      ).toBeOk(Cl.bool(true));
      // ... replayed here: rejected
      expect(paySigned(t, A.customer, { sig: forCopy }).result).toBeErr(
        Cl.uint(ERR.BAD_SIGNATURE),
      );
      // and the original signature for this contract is rejected on the copy
      const t2 = terms({ intentId: "pi_test_0002" });
      expect(
        simnet.callPublicFn(copy, "pay-signed-intent", payArgs(t2, signTerms(t2)), A.customer)
          .result,
      ).toBeErr(Cl.uint(ERR.BAD_SIGNATURE));
    });

    it("signature for one merchant cannot redirect the payment to another merchant", () => {
      const t = terms();
      const sig = signTerms(t);
      const redirected = { ...t, merchant: A.merchant2 };
      expect(paySigned(redirected, A.customer, { sig }).result).toBeErr(
        Cl.uint(ERR.BAD_SIGNATURE),
      );
    });

    it("altered amount, fee, expiry or intent id is rejected", () => {
      const t = terms();
      const sig = signTerms(t);
      for (const altered of [
        { ...t, amount: t.amount - 1n },
        { ...t, amount: t.amount + 1n },
        { ...t, fee: t.fee + 1n },
        { ...t, fee: 0n },
        { ...t, expiresAt: t.expiresAt + 1000n },
        { ...t, intentId: "pi_test_0002" },
      ]) {
        expect(paySigned(altered, A.customer, { sig }).result).toBeErr(
          Cl.uint(ERR.BAD_SIGNATURE),
        );
      }
      expect(paySigned(t, A.customer, { sig }).result).toBeOk(Cl.bool(true));
    });

    it("signature by a key other than the gateway's is rejected", () => {
      const t = terms();
      const sig = signTerms(t, OTHER_PRIV);
      expect(paySigned(t, A.customer, { sig }).result).toBeErr(Cl.uint(ERR.BAD_SIGNATURE));
    });

    it("garbage, truncated and all-zero signatures are rejected", () => {
      const t = terms();
      const good = signTerms(t);
      const flipped = Buffer.from(good);
      flipped[10] ^= 0x01;
      for (const sig of [flipped, Buffer.alloc(65), good.subarray(0, 40), Buffer.alloc(0)]) {
        expect(paySigned(t, A.customer, { sig }).result).toBeErr(Cl.uint(ERR.BAD_SIGNATURE));
      }
    });

    it("rotating the gateway key invalidates signatures made with the old key", () => {
      const t = terms();
      const oldSig = signTerms(t);
      expect(call("set-gateway-key", [Cl.buffer(OTHER_PUB)], A.deployer).result).toBeOk(
        Cl.bool(true),
      );
      expect(paySigned(t, A.customer, { sig: oldSig }).result).toBeErr(
        Cl.uint(ERR.BAD_SIGNATURE),
      );
      expect(paySigned(t, A.customer, { sig: signTerms(t, OTHER_PRIV) }).result).toBeOk(
        Cl.bool(true),
      );
    });
  });

  describe("expiry boundaries (payable while stacks-block-height < expires-at)", () => {
    it("paid in the block just before expires-at", () => {
      // a call made now executes in block simnet.blockHeight + 1
      const t = terms({ expiresAt: BigInt(simnet.blockHeight + 2) });
      expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
      expect(BigInt(simnet.blockHeight)).toBe(t.expiresAt - 1n);
    });

    it("rejected in the block at expires-at", () => {
      const t = terms({ expiresAt: BigInt(simnet.blockHeight + 1) });
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.EXPIRED));
    });

    it("rejected after expiry, accepted again never (no state change)", () => {
      const t = terms({ expiresAt: BigInt(simnet.blockHeight + 5) });
      simnet.mineEmptyBlocks(10);
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.EXPIRED));
      expect(getIntent(t.intentId)).toBeNull();
    });
  });

  describe("terms validation", () => {
    it("zero amount", () => {
      const t = terms({ amount: 0n, fee: 0n });
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.INVALID_AMOUNT));
    });

    it("empty intent id", () => {
      const t = terms({ intentId: "" });
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.INVALID_ID));
    });

    it("fee above the cap is rejected even when signed; fee exactly at the cap is accepted", () => {
      // cap 1000 bps = 10%
      const over = terms({ amount: 10_000n, fee: 1_001n });
      expect(paySigned(over, A.customer).result).toBeErr(Cl.uint(ERR.INVALID_FEE));
      const at = terms({ intentId: "pi_cap", amount: 10_000n, fee: 1_000n });
      expect(paySigned(at, A.customer).result).toBeOk(Cl.bool(true));
      // a lower cap set by the owner applies, once in force, to every payment after
      expect(call("set-fee-bps", [Cl.uint(50)], A.deployer).result).toBeOk(Cl.bool(true));
      expect(call("set-fee-cap", [Cl.uint(50)], A.deployer).result).toBeOk(Cl.bool(true));
      afterDelay();
      const t = terms({ intentId: "pi_cap2", amount: 10_000n, fee: 51n });
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.INVALID_FEE));
      const ok = terms({ intentId: "pi_cap3", amount: 10_000n, fee: 50n });
      expect(paySigned(ok, A.customer).result).toBeOk(Cl.bool(true));
    });

    it("fee cap rounding: amount 9, cap 10% allows fee 0 only (fee*10000 <= amount*cap)", () => {
      const t = terms({ amount: 9n, fee: 1n });
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.INVALID_FEE));
      const t0 = terms({ amount: 10n, fee: 1n });
      expect(paySigned(t0, A.customer).result).toBeOk(Cl.bool(true));
    });

    it("an unregistered merchant is paid: the gateway's signature names it", () => {
      const t = terms({ merchant: A.stranger });
      expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
    });

    it("suspended merchant, and paid again after reinstatement", () => {
      const t = terms();
      call("suspend-merchant", [Cl.principal(A.merchant)], A.deployer);
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.MERCHANT_INACTIVE));
      call("reinstate-merchant", [Cl.principal(A.merchant)], A.deployer);
      expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
    });

    it("the merchant cannot pay its own intent", () => {
      mintSbtc(A.merchant, 1_000_000n);
      expect(paySigned(terms(), A.merchant).result).toBeErr(Cl.uint(ERR.SELF_PAYMENT));
    });

    it("underpaid: payer's balance below the amount fails with its own code, nothing moves", () => {
      const t = terms({ amount: 10_000_001n, fee: 0n });
      const before = sbtcBalance(A.customer);
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.UNDERPAID));
      expect(sbtcBalance(A.customer)).toBe(before);
      // exactly the balance is fine
      const exact = terms({ intentId: "pi_exact", amount: before, fee: 0n });
      expect(paySigned(exact, A.customer).result).toBeOk(Cl.bool(true));
      expect(sbtcBalance(A.customer)).toBe(0n);
    });

    it("an on-chain intent of the same id is another intent, in another namespace", () => {
      expect(
        createIntent(A.merchant2, "pi_test_0001", 5_000, simnet.blockHeight + 50).result,
      ).toBeOk(Cl.tuple({ fee: Cl.uint(50) }));
      expect(paySigned(terms(), A.customer).result).toBeOk(Cl.bool(true));
      expect(getIntent("pi_test_0001").merchant).toBe(A.merchant);
    });

    it("a revoked signed intent fails with ERR-CANCELLED", () => {
      const t = terms();
      expect(call("revoke-signed-intent", [Cl.stringAscii(t.intentId)], A.deployer).result).toBeOk(
        Cl.bool(true),
      );
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.CANCELLED));
      expect(ro("get-signed-intent-status", [Cl.stringAscii(t.intentId)])).toStrictEqual(
        Cl.stringAscii("cancelled"),
      );
    });

    it("paused: payments fail; unpaused: they go through", () => {
      call("pause", [], A.deployer);
      const t = terms();
      expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.PAUSED));
      call("unpause", [], A.deployer);
      expect(paySigned(t, A.customer).result).toBeOk(Cl.bool(true));
    });
  });

  it("many distinct intents from several customers to several merchants", () => {
    let total = 0n;
    const r0 = sbtcBalance(A.deployer);
    for (let i = 0; i < 20; i++) {
      const t = terms({
        intentId: `pi_many_${i}`,
        merchant: i % 2 ? A.merchant : A.merchant2,
        amount: BigInt(1000 + i * 37),
        fee: BigInt(i),
      });
      expect(paySigned(t, i % 3 ? A.customer : A.customer2).result).toBeOk(Cl.bool(true));
      total += t.fee;
    }
    expect(sbtcBalance(A.deployer)).toBe(r0 + total);
    expect(getConfig()["fees-pending"]).toBe(0n);
    expect(sbtcBalance(contractId())).toBe(0n);
  });
});

describe("gateway key unset", () => {
  it("no signature verifies while the key is all zeros", async () => {
    await simnet.initSession(process.cwd(), "./Clarinet.toml");
    A = accounts();
    registerMerchant(A.merchant);
    mintSbtc(A.customer, 1_000_000n);
    expect(getConfig()["gateway-pubkey"]).toBe("00".repeat(33));
    const t = terms();
    expect(paySigned(t, A.customer).result).toBeErr(Cl.uint(ERR.BAD_SIGNATURE));
    expect(signHash(termsHash(t)).length).toBe(65);
  });
});
