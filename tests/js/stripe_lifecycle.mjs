// The official Stripe node SDK against the gateway: only host, port and protocol change.
// Usage: GATEWAY_URL=http://127.0.0.1:8000 SECRET_KEY=sk_test_… node stripe_lifecycle.mjs
import assert from "node:assert/strict";
import Stripe from "stripe";

const url = new URL(process.env.GATEWAY_URL);
const stripe = new Stripe(process.env.SECRET_KEY, {
  host: url.hostname,
  port: Number(url.port),
  protocol: url.protocol.replace(":", ""),
  maxNetworkRetries: 2,
});

const pi = await stripe.paymentIntents.create({
  amount: 25000,
  currency: "sbtc",
  metadata: { order_id: "node-1" },
});
assert.equal(pi.object, "payment_intent");
assert.equal(pi.status, "requires_payment_method");
assert.equal(pi.amount, 25000);

const same = await stripe.paymentIntents.create(
  { amount: 25000, currency: "sbtc" },
  { idempotencyKey: `node-${pi.id}` },
);
const replay = await stripe.paymentIntents.create(
  { amount: 25000, currency: "sbtc" },
  { idempotencyKey: `node-${pi.id}` },
);
assert.equal(replay.id, same.id);

const updated = await stripe.paymentIntents.update(pi.id, { metadata: { order_id: "" } });
assert.deepEqual(updated.metadata, {});

const confirmed = await stripe.paymentIntents.confirm(pi.id);
assert.equal(confirmed.status, "requires_action");
assert.equal(confirmed.next_action.type, "sbtc_contract_call");

const canceled = await stripe.paymentIntents.cancel(pi.id);
assert.equal(canceled.status, "canceled");

const ids = [];
for await (const item of stripe.paymentIntents.list({ limit: 1 })) ids.push(item.id);
assert.ok(ids.includes(pi.id) && ids.includes(same.id));

const found = await stripe.paymentIntents.search({ query: "status:'canceled'" });
assert.deepEqual(found.data.map((p) => p.id), [pi.id]);

await assert.rejects(stripe.paymentIntents.retrieve("pi_missing"), (err) => {
  assert.equal(err.type, "StripeInvalidRequestError");
  assert.equal(err.statusCode, 404);
  return true;
});
await assert.rejects(stripe.paymentIntents.create({ amount: 5, currency: "sbtc" }), (err) => {
  assert.equal(err.param, "amount");
  return true;
});

const events = await stripe.events.list({ type: "payment_intent.canceled" });
assert.equal(events.data[0].data.object.id, pi.id);
console.log(JSON.stringify({ ok: true, intent: pi.id, listed: ids.length }));
