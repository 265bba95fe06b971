// Verifies delivered webhooks with the official Stripe node SDK (stripe.webhooks.constructEvent).
// Usage: node webhook_verify.mjs deliveries.json
// The file holds [{payload, header, secrets: ["whsec_…", …]}]; every payload must verify with
// every listed secret (during a rotation overlap the header carries one v1= per secret).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import Stripe from "stripe";

const stripe = new Stripe("sk_test_unused");
const deliveries = JSON.parse(readFileSync(process.argv[2], "utf8"));
let verified = 0;
for (const { payload, header, secrets, event_id } of deliveries) {
  for (const secret of secrets) {
    const event = stripe.webhooks.constructEvent(payload, header, secret);
    assert.equal(event.id, event_id);
    assert.equal(event.object, "event");
    verified += 1;
  }
  assert.throws(() => stripe.webhooks.constructEvent(payload, header, "whsec_wrong"));
}
console.log(JSON.stringify({ ok: true, deliveries: deliveries.length, verified }));
