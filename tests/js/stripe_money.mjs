// Charges, refunds and balance transactions through the official `stripe` npm SDK.
// GATEWAY_URL, SECRET_KEY, and PAID_INTENT: a succeeded intent with one partial refund.
import assert from "node:assert/strict";
import Stripe from "stripe";

const url = new URL(process.env.GATEWAY_URL);
const stripe = new Stripe(process.env.SECRET_KEY, {
  host: url.hostname,
  port: Number(url.port),
  protocol: url.protocol.replace(":", ""),
  maxNetworkRetries: 2,
});
const intentId = process.env.PAID_INTENT;

const pi = await stripe.paymentIntents.retrieve(intentId);
assert.equal(pi.status, "succeeded");
assert.ok(pi.latest_charge.startsWith("ch_"));

const charge = await stripe.charges.retrieve(pi.latest_charge);
assert.equal(charge.object, "charge");
assert.equal(charge.payment_intent, pi.id);
assert.equal(charge.status, "succeeded");
assert.equal(charge.paid, true);
assert.equal(charge.amount_captured, pi.amount_received);
assert.ok(charge.amount_refunded > 0 && charge.amount_refunded < charge.amount_captured);
assert.equal(charge.refunded, false);
assert.equal(charge.payment_method_details.type, "sbtc");
assert.ok(charge.payment_method_details.sbtc.confirmations >= 1);
assert.equal(charge.refunds.data.length, 1);

const listed = [];
for await (const c of stripe.charges.list({ payment_intent: pi.id, limit: 1 })) listed.push(c.id);
assert.deepEqual(listed, [charge.id]);
const found = await stripe.charges.search({ query: `payment_intent:'${pi.id}'` });
assert.deepEqual(found.data.map((c) => c.id), [charge.id]);

const txn = await stripe.balanceTransactions.retrieve(charge.balance_transaction);
assert.equal(txn.object, "balance_transaction");
assert.equal(txn.type, "charge");
assert.equal(txn.source, charge.id);
assert.equal(txn.amount, charge.amount_captured);
assert.equal(txn.fee, pi.application_fee_amount);
assert.equal(txn.net, txn.amount - txn.fee);
assert.equal(txn.fee_details[0].type, "application_fee");

const [refund] = charge.refunds.data;
const refunds = await stripe.refunds.list({ charge: charge.id });
assert.deepEqual(refunds.data.map((r) => r.id), [refund.id]);
const refundTxn = await stripe.balanceTransactions.retrieve(refund.balance_transaction);
assert.equal(refundTxn.type, "refund");
assert.equal(refundTxn.amount, -refund.amount);

const charges = await stripe.balanceTransactions.list({ type: "charge", source: charge.id });
assert.deepEqual(charges.data.map((t) => t.id), [txn.id]);
await assert.rejects(stripe.balanceTransactions.retrieve("txn_missing"), (err) => {
  assert.equal(err.statusCode, 404);
  return true;
});
console.log(JSON.stringify({ ok: true, charge: charge.id, balance_transaction: txn.id }));
