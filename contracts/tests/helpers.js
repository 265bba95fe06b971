// Shared helpers for the gateway contract tests. `simnet` is the global the clarinet vitest
// environment provides; it is re-initialised before every test (fresh chain state).
import { createHash } from "node:crypto";
import { Cl, cvToValue } from "@stacks/transactions";
import { secp256k1 } from "@noble/curves/secp256k1.js";

export const CONTRACT = "sbtc-payment-gateway";
export const SBTC = "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token";
export const SBTC_ASSET = `${SBTC}::sbtc-token`;
export const TESTNET_CHAIN_ID = 2147483648n;
export const MAINNET_CHAIN_ID = 1n;

export const ERR = {
  NOT_OWNER: 100,
  NOT_PENDING_OWNER: 101,
  PAUSED: 102,
  WRONG_TOKEN: 103,
  MERCHANT_EXISTS: 104,
  MERCHANT_NOT_FOUND: 105,
  MERCHANT_INACTIVE: 106,
  INTENT_EXISTS: 107,
  INTENT_NOT_FOUND: 108,
  ALREADY_PAID: 109,
  EXPIRED: 110,
  CANCELLED: 111,
  INVALID_AMOUNT: 112,
  INVALID_FEE: 113,
  BAD_SIGNATURE: 114,
  UNDERPAID: 115,
  INVALID_EXPIRY: 116,
  NOT_MERCHANT: 117,
  NOT_PAID: 118,
  REFUND_EXCEEDS: 119,
  NO_FEE: 120,
  INVALID_ID: 121,
  FEE_CAP_TOO_HIGH: 122,
  INVALID_KEY: 123,
  SELF_PAYMENT: 124,
  INVALID_REFUND: 125,
  NOT_PENDING: 126,
  FEE_TRANSFER: 127,
  TERMS_MISMATCH: 128,
  PROXY_CALL: 129,
  TOKEN_IN_GRACE: 130,
  STRAY_EXCEEDS: 131,
  OVERLAP_TOO_LONG: 132,
  INVALID_RECIPIENT: 133,
};

// Blocks between the announcement of an owner change (token, fee recipient, fee rate, fee cap)
// and the height from which it is in force; also how long a replaced token stays accepted.
export const CHANGE_DELAY = 4320;
// The longest overlap a planned gateway key rotation may give the old key.
export const MAX_KEY_OVERLAP = 4320;

// Fixed test keys (never used anywhere real).
export const GATEWAY_PRIV = Buffer.from(
  "8a1f0c1e7b5f4c0a9d3e2b6c5a4f3e2d1c0b9a8f7e6d5c4b3a29181706f5e4d3",
  "hex",
);
export const GATEWAY_PUB = Buffer.from(secp256k1.getPublicKey(GATEWAY_PRIV, true));
export const OTHER_PRIV = Buffer.from(
  "1111111111111111111111111111111111111111111111111111111111111111",
  "hex",
);
export const OTHER_PUB = Buffer.from(secp256k1.getPublicKey(OTHER_PRIV, true));

export function accounts() {
  const a = simnet.getAccounts();
  return {
    deployer: a.get("deployer"),
    merchant: a.get("wallet_1"),
    customer: a.get("wallet_2"),
    merchant2: a.get("wallet_3"),
    stranger: a.get("wallet_4"),
    customer2: a.get("faucet"),
  };
}

export const contractId = () => `${simnet.deployer}.${CONTRACT}`;

// ---------------------------------------------------------------------------------------------
// Terms serialization, written out byte by byte (independent of @stacks/transactions' tuple
// key sorting): Clarity sorts tuple keys by their raw bytes.
// ---------------------------------------------------------------------------------------------
const hex = (cv) => Buffer.from(Cl.serialize(cv), "hex");

export function serializeTuple(entries) {
  const keys = Object.keys(entries).sort((a, b) =>
    Buffer.compare(Buffer.from(a, "ascii"), Buffer.from(b, "ascii")),
  );
  const parts = [Buffer.from([0x0c]), u32(keys.length)];
  for (const k of keys) {
    parts.push(Buffer.from([k.length]), Buffer.from(k, "ascii"), entries[k]);
  }
  return Buffer.concat(parts);
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function serUint(n) {
  const b = Buffer.alloc(17);
  b[0] = 0x01;
  let v = BigInt(n);
  for (let i = 16; i >= 1; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

export function serAscii(s) {
  return Buffer.concat([Buffer.from([0x0d]), u32(s.length), Buffer.from(s, "ascii")]);
}

export function serPrincipal(p) {
  return hex(Cl.principal(p));
}

export function termsBytes(t) {
  return serializeTuple({
    amount: serUint(t.amount),
    "chain-id": serUint(t.chainId ?? TESTNET_CHAIN_ID),
    contract: serPrincipal(t.contract ?? contractId()),
    "expires-at": serUint(t.expiresAt),
    fee: serUint(t.fee),
    "intent-id": serAscii(t.intentId),
    merchant: serPrincipal(t.merchant),
    token: serPrincipal(t.token ?? SBTC),
  });
}

export function termsHash(t) {
  return createHash("sha256").update(termsBytes(t)).digest();
}

// 65-byte R || S || V signature over the 32-byte hash, as `secp256k1-verify` takes it.
// noble's "recovered" format is V || R || S: rotate the recovery byte to the end.
export function signHash(hash, priv = GATEWAY_PRIV) {
  const vrs = secp256k1.sign(hash, priv, { prehash: false, lowS: true, format: "recovered" });
  return Buffer.concat([Buffer.from(vrs.subarray(1)), Buffer.from(vrs.subarray(0, 1))]);
}

export function signTerms(t, priv = GATEWAY_PRIV) {
  return signHash(termsHash(t), priv);
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------
export const call = (fn, args, sender) => simnet.callPublicFn(CONTRACT, fn, args, sender);
export const ro = (fn, args = [], sender = simnet.deployer) =>
  simnet.callReadOnlyFn(CONTRACT, fn, args, sender).result;

export const tokenCV = (id = SBTC) => Cl.contractPrincipal(...id.split("."));

export function mintSbtc(recipient, amount) {
  simnet.mintFT(`${SBTC}.sbtc-token`, recipient, BigInt(amount));
}

// sBTC balances straight from the simnet's asset table (a read-only call costs ~4 ms; this is
// ~0.1 ms). `sbtcBalanceViaToken` asks the token contract itself.
export function sbtcBalances() {
  const m = simnet.getAssetsMap().get(".sbtc-token.sbtc-token");
  return m ?? new Map();
}

export function sbtcBalance(who) {
  return sbtcBalances().get(who) ?? 0n;
}

export function sbtcBalanceViaToken(who) {
  const r = simnet.callReadOnlyFn(SBTC, "get-balance", [Cl.principal(who)], simnet.deployer);
  return BigInt(cvToValue(r.result).value);
}

// Fees the contract holds in sBTC (only fees of payers that are the fee recipient).
export function feesPending() {
  return plain(ro("get-fees-held", [Cl.principal(SBTC)]));
}

export function setGatewayKey(key = GATEWAY_PUB) {
  const r = call("set-gateway-key", [Cl.buffer(key)], simnet.deployer);
  if (r.result.type !== "ok") throw new Error("set-gateway-key failed");
}

export function registerMerchant(who, name = "Shop", email = "shop@example.com") {
  return call(
    "register-merchant",
    [Cl.tuple({ name: Cl.stringAscii(name), email: Cl.stringAscii(email) })],
    who,
  );
}

// Signed-intent terms with defaults; expiry defaults to 100 blocks ahead.
export function terms(over = {}) {
  return {
    intentId: "pi_test_0001",
    merchant: accounts().merchant,
    amount: 100_000n,
    fee: 1_000n,
    expiresAt: BigInt(simnet.blockHeight + 100),
    ...over,
  };
}

export function payArgs(t, sig, token = SBTC) {
  return [
    tokenCV(token),
    Cl.stringAscii(t.intentId),
    Cl.principal(t.merchant),
    Cl.uint(t.amount),
    Cl.uint(t.fee),
    Cl.uint(t.expiresAt),
    Cl.buffer(sig),
  ];
}

export function paySigned(t, payer, { sig, token } = {}) {
  return call("pay-signed-intent", payArgs(t, sig ?? signTerms(t), token), payer);
}

export function createIntent(merchant, id, amount, expiresAt, description = null) {
  return call(
    "create-payment-intent",
    [
      Cl.stringAscii(id),
      Cl.uint(amount),
      description === null ? Cl.none() : Cl.some(Cl.stringUtf8(description)),
      Cl.uint(expiresAt),
    ],
    merchant,
  );
}

// A merchant's on-chain intent is paid by naming its merchant, id and amount: the payer
// says whom it pays and how much, so a look-alike intent of someone else cannot take it.
export function processPayment(merchant, id, amount, payer, token = SBTC) {
  return call(
    "process-payment",
    [tokenCV(token), Cl.principal(merchant), Cl.stringAscii(id), Cl.uint(amount)],
    payer,
  );
}

// Refund of a gateway-signed intent (by its merchant).
export function refund(id, amount, sender, token = SBTC) {
  return call("refund-payment", [tokenCV(token), Cl.stringAscii(id), Cl.uint(amount)], sender);
}

// Refund of the sender's own on-chain intent.
export function refundOnchain(id, amount, sender, token = SBTC) {
  return call(
    "refund-onchain-payment",
    [tokenCV(token), Cl.stringAscii(id), Cl.uint(amount)],
    sender,
  );
}

export function distributeFees(id, sender, token = SBTC) {
  return call("distribute-fees", [tokenCV(token), Cl.stringAscii(id)], sender);
}

export function distributeOnchainFees(merchant, id, sender, token = SBTC) {
  return call(
    "distribute-onchain-fees",
    [tokenCV(token), Cl.principal(merchant), Cl.stringAscii(id)],
    sender,
  );
}

export function cancelIntent(merchant, id, sender) {
  return call("cancel-payment-intent", [Cl.principal(merchant), Cl.stringAscii(id)], sender);
}

// A gateway-signed intent's record (paid, refunded or revoked), or null.
export function getIntent(id) {
  const r = ro("get-signed-intent", [Cl.stringAscii(id)]);
  return r.type === "none" ? null : plain(r.value);
}

// A merchant's on-chain intent, or null.
export function getOnchainIntent(merchant, id) {
  const r = ro("get-payment-intent", [Cl.principal(merchant), Cl.stringAscii(id)]);
  return r.type === "none" ? null : plain(r.value);
}

// What a payee was paid through the contract (registered or not).
export function merchantTotals(who) {
  return plain(ro("get-merchant-totals", [Cl.principal(who)]));
}

export function feesHeld(token = SBTC) {
  return plain(ro("get-fees-held", [Cl.principal(token)]));
}

// Mine until an owner change announced now is in force (the announcing call is one block).
export function afterDelay() {
  simnet.mineEmptyBlocks(CHANGE_DELAY);
}

// Switch the accepted token: announce, then wait for the delay.
export function switchToken(token) {
  const r = call("set-sbtc-token", [Cl.principal(token)], simnet.deployer);
  if (r.result.type !== "ok") throw new Error(`set-sbtc-token failed: ${JSON.stringify(r.result)}`);
  afterDelay();
}

export function getConfig() {
  return plain(ro("get-config"));
}

// The print events of a call, as plain JS objects (uints as bigint).
export function printEvents(res) {
  return res.events
    .filter((e) => e.event === "print_event")
    .map((e) => plain(e.data.value))
    .filter((v) => v && typeof v === "object" && "event" in v);
}

export function ftTransfers(res) {
  return res.events
    .filter((e) => e.event === "ft_transfer_event")
    .map((e) => ({
      asset: e.data.asset_identifier,
      sender: e.data.sender,
      recipient: e.data.recipient,
      amount: BigInt(e.data.amount),
    }));
}

// Clarity value -> plain JS (uint/int -> bigint, principals -> string, buffers -> hex,
// optionals -> value or null, tuples -> objects).
export function plain(cv) {
  switch (cv.type) {
    case "uint":
    case "int":
      return BigInt(cv.value);
    case "true":
      return true;
    case "false":
      return false;
    case "address":
    case "contract":
      return cv.value;
    case "ascii":
    case "utf8":
      return cv.value;
    case "buffer":
      return cv.value;
    case "none":
      return null;
    case "some":
      return plain(cv.value);
    case "ok":
    case "err":
      return { [cv.type]: plain(cv.value) };
    case "tuple":
      return Object.fromEntries(Object.entries(cv.value).map(([k, v]) => [k, plain(v)]));
    case "list":
      return cv.value.map(plain);
    default:
      throw new Error(`unknown clarity type ${cv.type}`);
  }
}

// A deliberately structural look-alike of sBTC (same trait, same asset name) used to prove
// that the contract accepts the configured token only.
export const FAKE_TOKEN_SOURCE = `
(define-fungible-token sbtc-token)
(define-public (transfer (amount uint) (sender principal) (recipient principal) (memo (optional (buff 34))))
  (begin
    (asserts! (or (is-eq tx-sender sender) (is-eq contract-caller sender)) (err u4))
    (ft-transfer? sbtc-token amount sender recipient)))
(define-read-only (get-name) (ok "sBTC"))
(define-read-only (get-symbol) (ok "sBTC"))
(define-read-only (get-decimals) (ok u8))
(define-read-only (get-balance (who principal)) (ok (ft-get-balance sbtc-token who)))
(define-read-only (get-total-supply) (ok (ft-get-supply sbtc-token)))
(define-read-only (get-token-uri) (ok none))
(define-public (mint (amount uint) (to principal)) (ft-mint? sbtc-token amount to))
`;

// A token that, once switched to greedy, moves one unit more than asked: used to show that the
// as-contract? allowance in distribute-fees bounds what the contract can lose.
export const GREEDY_TOKEN_SOURCE = FAKE_TOKEN_SOURCE.replace(
  "(ft-transfer? sbtc-token amount sender recipient)))",
  "(ft-transfer? sbtc-token (if (var-get greedy) (+ amount u1) amount) sender recipient)))",
) + "(define-data-var greedy bool false)\n(define-public (set-greedy (g bool)) (ok (var-set greedy g)))\n";

export function deployFakeToken(name = "fake-sbtc", source = FAKE_TOKEN_SOURCE) {
  const r = simnet.deployContract(name, source, { clarityVersion: 4 }, simnet.deployer);
  if (r.result.type !== "true") throw new Error(`deploy fake token failed: ${JSON.stringify(r.result)}`);
  return `${simnet.deployer}.${name}`;
}

// A token whose `transfer` calls back into the gateway in the middle of a payment (a transfer
// hook) and records what it saw of the intent named with `set-watch`: the gateway must have
// written its state before it called out.
export const HOOKED_TOKEN_SOURCE = FAKE_TOKEN_SOURCE.replace(
  "(ft-transfer? sbtc-token amount sender recipient)))",
  `(var-set seen (unwrap-panic (as-max-len? (append (var-get seen) (contract-call? .sbtc-payment-gateway get-signed-intent-status (var-get watch))) u10)))
    (ft-transfer? sbtc-token amount sender recipient)))`,
) +
  `(define-data-var watch (string-ascii 36) "")
(define-data-var seen (list 10 (string-ascii 20)) (list))
(define-public (set-watch (id (string-ascii 36))) (ok (var-set watch id)))
(define-read-only (get-seen) (var-get seen))
`;
