// The public receipt: /receipts/pi_…#<client secret>, read through POST /v1/payment_intents/{id}/receipt.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';

import '../lib/style.css';
import { type Receipt, credentialsFromLocation, getReceipt } from '../lib/api';
import { date, fullTx, sats } from '../lib/format';

function ReceiptPage() {
  const { creds } = useMemo(() => credentialsFromLocation(window.location), []);
  const [receipt, setReceipt] = useState<Receipt | null>(null);
  const [error, setError] = useState<string | null>(creds ? null : 'This receipt link is incomplete.');
  useEffect(() => {
    if (!creds) return;
    getReceipt(creds)
      .then((r) => {
        setReceipt(r);
        document.title = `Receipt — ${r.merchant.business_name}`;
      })
      .catch((e: Error) => setError(e.message));
  }, [creds]);
  if (error) {
    return (
      <main class="shell">
        <div class="card" role="alert"><h1>No receipt</h1><p>{error}</p></div>
      </main>
    );
  }
  if (!receipt) {
    return <main class="shell"><p class="card" role="status">Loading the receipt…</p></main>;
  }
  return (
    <main class="shell">
      <article class="card">
        <header class="merchant">
          {receipt.merchant.logo_url && <img src={receipt.merchant.logo_url} alt="" referrerpolicy="no-referrer" />}
          <div>
            <h1>Receipt from {receipt.merchant.business_name}</h1>
            <div class="mode">{receipt.livemode ? 'sBTC on Stacks' : `Test payment · ${receipt.network}`}</div>
          </div>
        </header>
        <p class="amount">{receipt.amount_sbtc} sBTC</p>
        <p class="sats">{sats(receipt.amount)}</p>
        {receipt.description && <p class="description">{receipt.description}</p>}
        <dl>
          <div class="row"><dt>Paid</dt><dd>{date(receipt.paid_at)}</dd></div>
          <div class="row"><dt>Reference</dt><dd class="mono">{receipt.payment_intent}</dd></div>
          {receipt.payer && <div class="row"><dt>From</dt><dd class="mono">{receipt.payer}</dd></div>}
          {receipt.txid && (
            <div class="row">
              <dt>Transaction</dt>
              <dd class="mono">
                {receipt.explorer_url ? <a href={receipt.explorer_url} rel="noopener noreferrer">{fullTx(receipt.txid)}</a> : fullTx(receipt.txid)}
              </dd>
            </div>
          )}
          {receipt.block_height !== null && <div class="row"><dt>Block</dt><dd>{receipt.block_height}</dd></div>}
        </dl>
      </article>
      <button class="secondary" onClick={() => window.print()}>Print or save as PDF</button>
    </main>
  );
}

render(<ReceiptPage />, document.getElementById('app')!);
