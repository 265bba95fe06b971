// The hosted checkout: shows what the gateway says about one PaymentIntent (status, time left,
// the wallet call) and walks the customer through paying it with their own wallet.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { renderSVG } from 'uqr';

import {
  ApiError,
  type Checkout,
  type Credentials,
  type PayerBalance,
  confirm,
  credentialsFromLocation,
  getCheckout,
  payerBalance,
} from '../lib/api';
import { accent, date, duration, fullTx, sats, shortTx } from '../lib/format';
import { makePoster } from './embed';
import { forget, recall, remember } from './pending';

type Phase =
  | { kind: 'idle' }
  | { kind: 'connecting' }
  | { kind: 'checking'; payer: string }
  | { kind: 'low_balance'; payer: string; balance: PayerBalance }
  | { kind: 'confirming'; payer: string }
  | { kind: 'signing'; payer: string }
  | { kind: 'refused' }
  | { kind: 'error'; message: string };

const OPEN = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action']);
const FINAL = new Set(['succeeded', 'canceled']);

// Plain words for the failures a payment can have (`last_payment_error.code`); the gateway's
// own message is shown under them.
const NO_SBTC_MOVED = 'No sBTC left your wallet; only the network fee was spent.';
const FAILURES: Record<string, [string, string]> = {
  post_condition_failed: ['Your wallet sent a different transfer', `The network stopped it because it did not match this payment. ${NO_SBTC_MOVED}`],
  bad_signature: ['The payment details were changed', `The network refused a transfer whose terms were not the shop's. ${NO_SBTC_MOVED}`],
  wrong_token: ['That was not sBTC', `This shop takes sBTC only. ${NO_SBTC_MOVED}`],
  insufficient_funds: ['Not enough sBTC in your wallet', `Top up your wallet and try again. ${NO_SBTC_MOVED}`],
  payment_expired: ['The payment arrived too late', `The payment window had closed on chain. ${NO_SBTC_MOVED}`],
  transaction_dropped: ['Your transaction was not mined', 'The network let it go (a low fee, or replaced). Nothing was paid; try again.'],
  payment_reversed: ['Your payment was undone by the network', 'A chain reorganisation removed it. Nothing was paid in the end; try again.'],
  gateway_paused: ['Payments are paused', `The payment service is paused for now. ${NO_SBTC_MOVED}`],
  merchant_inactive: ['This shop cannot take payments now', NO_SBTC_MOVED],
  merchant_not_registered: ['This shop cannot take payments yet', NO_SBTC_MOVED],
  intent_revoked: ['This payment was withdrawn by the shop', NO_SBTC_MOVED],
  already_paid: ['This payment was already made', 'Your transfer was refused, so you did not pay twice.'],
};

export function App() {
  const { creds, hostOrigin, embedded } = useMemo(() => credentialsFromLocation(window.location), []);
  const post = useMemo(() => makePoster(hostOrigin, embedded), [hostOrigin, embedded]);
  if (!creds) {
    return (
      <main class="shell">
        <div class="card">
          <h1>This payment link is incomplete</h1>
          <p>Open the link the shop gave you again: it carries what this page needs to find your payment.</p>
        </div>
      </main>
    );
  }
  return <CheckoutPage creds={creds} embedded={embedded} post={post} />;
}

function CheckoutPage(props: { creds: Credentials; embedded: boolean; post: ReturnType<typeof makePoster> }) {
  const { creds, embedded, post } = props;
  const [view, setView] = useState<Checkout | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [pendingTx, setPendingTx] = useState<string | null>(() => recall(creds.intentId));
  const [secondsLeft, setSecondsLeft] = useState<number | null>(null);
  const deadline = useRef<number | null>(null);
  const announced = useRef<string>('');
  const timer = useRef<number | undefined>(undefined);

  const refresh = useCallback(async () => {
    try {
      const next = await getCheckout(creds);
      setView(next);
      setLoadError(null);
      deadline.current = performance.now() / 1000 + next.time_left.seconds;
      setSecondsLeft(next.time_left.seconds);
      return next;
    } catch (error) {
      setLoadError(error instanceof ApiError && error.status === 404 ? 'not_found' : String((error as Error).message));
      return null;
    }
  }, [creds]);

  // Live status: poll the public API while the payment is open (faster once a transaction exists).
  useEffect(() => {
    let stopped = false;
    const loop = async () => {
      const next = await refresh();
      if (stopped) return;
      const status = next?.payment_intent.status;
      if (status && FINAL.has(status)) return;
      const busy = status === 'processing' || recall(creds.intentId) !== null;
      timer.current = window.setTimeout(loop, busy ? 1000 : 2000);
    };
    loop();
    return () => {
      stopped = true;
      window.clearTimeout(timer.current);
    };
  }, [refresh, creds.intentId]);

  // The countdown between polls, re-synchronised with the server's figure on every poll.
  useEffect(() => {
    const tick = window.setInterval(() => {
      if (deadline.current !== null) setSecondsLeft(Math.max(0, deadline.current - performance.now() / 1000));
    }, 1000);
    return () => window.clearInterval(tick);
  }, []);

  const pi = view?.payment_intent;
  const status = pi?.status;

  // What the page tells the merchant's page (widget) and the browser tab, once per change.
  useEffect(() => {
    if (!view || !pi) return;
    const error = pi.last_payment_error;
    const key = `${pi.status}:${error?.code ?? ''}:${pendingTx ?? ''}`;
    if (announced.current === key) return;
    const first = announced.current === '';
    announced.current = key;
    const detail = { payment_intent: { id: pi.id, status: pi.status } };
    if (first) post('ready', detail);
    if (pi.status === 'processing' || (pendingTx && pi.status === 'requires_action')) post('processing', { ...detail, txid: pi.sbtc.txid ?? pendingTx });
    if (pi.status === 'succeeded') post('succeeded', detail);
    if (error && !first) post('failed', { ...detail, error: { code: error.code, message: error.message } });
    if (pi.status === 'canceled') post('failed', { ...detail, error: { code: `payment_intent_${pi.cancellation_reason ?? 'canceled'}` } });
    document.title = pi.status === 'succeeded' ? 'Paid — thank you' : `Pay ${view.merchant.business_name}`;
  }, [view, pi, pendingTx, post]);

  // A transaction the chain dropped (or that failed) is not pending any more: offer to pay again.
  useEffect(() => {
    if (!pi || !pendingTx) return;
    const failedTx = (pi.last_payment_error as { txid?: string } | null)?.txid;
    const sameTx = failedTx && fullTx(failedTx) === fullTx(pendingTx);
    if (pi.status === 'succeeded' || pi.status === 'canceled' || sameTx || pi.status === 'requires_payment_method') {
      forget(creds.intentId);
      setPendingTx(null);
    }
  }, [pi, pendingTx, creds.intentId]);

  // After success: back to the merchant (`return_url`), unless the page is inside the widget.
  useEffect(() => {
    if (status !== 'succeeded' || embedded || !view?.return_url) return;
    const target = view.return_url;
    const go = window.setTimeout(() => window.location.assign(target), 2500);
    return () => window.clearTimeout(go);
  }, [status, embedded, view?.return_url]);

  const pay = useCallback(
    async (force = false, knownPayer?: string) => {
      if (!view) return;
      let wallet: typeof import('./wallet');
      try {
        setPhase({ kind: 'connecting' });
        wallet = await import('./wallet');
      } catch {
        setPhase({ kind: 'error', message: 'The wallet code could not be loaded. Reload the page and try again.' });
        return;
      }
      try {
        const payer = knownPayer ?? (await wallet.connect(view.network.name));
        if (!force) {
          setPhase({ kind: 'checking', payer });
          const balance = await payerBalance(creds, payer).catch(() => null);
          if (balance && !balance.sufficient) {
            setPhase({ kind: 'low_balance', payer, balance });
            return;
          }
        }
        setPhase({ kind: 'confirming', payer });
        const confirmed = await confirm(creds, payer);
        const call = confirmed.next_action?.sbtc_contract_call;
        if (!call) throw new Error('The gateway did not give a payment to sign. Reload the page.');
        setPhase({ kind: 'signing', payer });
        const txid = await wallet.pay(call);
        remember(creds.intentId, txid);
        setPendingTx(txid);
        setPhase({ kind: 'idle' });
        post('processing', { payment_intent: { id: creds.intentId, status: 'requires_action' }, txid });
        void refresh();
      } catch (error) {
        if (wallet.isRefusal(error)) {
          setPhase({ kind: 'refused' });
          post('failed', { payment_intent: { id: creds.intentId, status: view.payment_intent.status }, error: { code: 'wallet_refused' } });
          return;
        }
        setPhase({ kind: 'error', message: (error as Error).message || 'Something went wrong.' });
        void refresh();
      }
    },
    [view, creds, post, refresh],
  );

  if (loadError && !view) {
    return (
      <main class="shell">
        <div class="card" role="alert">
          <h1>{loadError === 'not_found' ? 'Payment not found' : 'The payment could not be loaded'}</h1>
          <p>{loadError === 'not_found' ? 'This link does not match any payment. Ask the shop for a new link.' : loadError}</p>
          {loadError !== 'not_found' && <button onClick={() => void refresh()}>Try again</button>}
        </div>
      </main>
    );
  }
  if (!view || !pi) {
    return (
      <main class="shell" aria-busy="true">
        <p class="card" role="status"><span class="spinner" aria-hidden="true" />Loading your payment…</p>
      </main>
    );
  }

  const colours = accent(view.merchant.accent_color);
  const style = { '--accent': colours.background, '--accent-text': colours.text } as Record<string, string>;
  const expired = secondsLeft !== null && secondsLeft <= 0 && OPEN.has(pi.status);
  const busy = ['connecting', 'checking', 'confirming', 'signing'].includes(phase.kind);
  const canPay = OPEN.has(pi.status) && !pendingTx && !expired;
  const hostedLink = `${window.location.origin}/checkout/${pi.id}#${creds.clientSecret}`;

  return (
    <main class={canPay && !embedded ? 'shell wide' : 'shell'} style={style}>
      <div>
        <header class="merchant">
          {view.merchant.logo_url && <img src={view.merchant.logo_url} alt="" referrerpolicy="no-referrer" />}
          <div>
            <h1>{view.merchant.business_name}</h1>
            <div class="mode">{view.livemode ? 'Bitcoin on Stacks (sBTC)' : `Test payment · ${view.network.name}`}</div>
          </div>
        </header>

        <section class="card" aria-labelledby="amount-label">
          <p id="amount-label" class="sats">{pi.status === 'succeeded' ? 'Amount paid' : 'Amount due'}</p>
          <p class="amount">{pi.amount_sbtc} sBTC</p>
          <p class="sats">{sats(pi.amount)}</p>
          {pi.description && <p class="description">{pi.description}</p>}
          <dl>
            {OPEN.has(pi.status) && (
              <div class="row">
                <dt>Time left</dt>
                <dd>
                  <span aria-hidden="true">{duration(secondsLeft ?? view.time_left.seconds)}</span>
                  <span class="visually-hidden">{Math.ceil((secondsLeft ?? 0) / 60)} minutes</span>
                  {view.time_left.blocks !== null && <div class="sats">{view.time_left.blocks} blocks</div>}
                </dd>
              </div>
            )}
            <div class="row">
              <dt>Reference</dt>
              <dd class="mono">{pi.id}</dd>
            </div>
          </dl>
        </section>

        <section class="card" aria-label="Payment">
          <Status view={view} phase={phase} pendingTx={pendingTx} expired={expired} embedded={embedded} />
          {phase.kind === 'low_balance' && <LowBalance phase={phase} onPay={() => void pay(true, phase.payer)} onCancel={() => setPhase({ kind: 'idle' })} />}
          {canPay && phase.kind !== 'low_balance' && (
            <button onClick={() => void pay()} disabled={busy} aria-describedby="pay-help">
              {busy ? <><span class="spinner" aria-hidden="true" />{busyLabel(phase.kind)}</> : pi.last_payment_error || phase.kind === 'refused' || phase.kind === 'error' ? 'Try again' : 'Pay with wallet'}
            </button>
          )}
          {canPay && (
            <p id="pay-help" class="sats" style={{ marginTop: '0.75rem' }}>
              {view.merchant.business_name} receives exactly {pi.amount_sbtc} sBTC: your Stacks wallet (Leather, Xverse) asks you to approve that one transfer.
            </p>
          )}
          {embedded && FINAL.has(pi.status) && (
            <button class="secondary" onClick={() => props.post('close_request')}>Close</button>
          )}
        </section>
      </div>

      {canPay && !embedded && (
        <aside class="card qr" aria-labelledby="qr-title">
          <h2 id="qr-title" style={{ fontSize: '1rem', margin: 0 }}>Pay from your phone</h2>
          <div role="img" aria-label="QR code of this payment page" dangerouslySetInnerHTML={{ __html: renderSVG(hostedLink, { border: 2 }) }} />
          <p>Scan to open this page in your phone's wallet browser.</p>
        </aside>
      )}
    </main>
  );
}

function busyLabel(kind: Phase['kind']): string {
  switch (kind) {
    case 'connecting':
      return 'Opening your wallet…';
    case 'checking':
      return 'Checking your balance…';
    case 'confirming':
      return 'Preparing the payment…';
    default:
      return 'Approve in your wallet…';
  }
}

function LowBalance(props: { phase: Extract<Phase, { kind: 'low_balance' }>; onPay: () => void; onCancel: () => void }) {
  const { balance } = props.phase;
  return (
    <div class="status warn" role="alert">
      <h2>Your wallet may not have enough</h2>
      {!balance.sbtc.sufficient && (
        <p>
          It holds {sats(balance.sbtc.balance)} of sBTC; this payment needs {sats(balance.sbtc.required)}.
        </p>
      )}
      {!balance.stx.sufficient && (
        <p>
          It holds {(balance.stx.balance / 1e6).toFixed(6)} STX; the network fee is usually at least {(balance.stx.required / 1e6).toFixed(6)} STX.
        </p>
      )}
      <p class="mono">{props.phase.payer}</p>
      <button style={{ marginTop: '0.75rem' }} onClick={props.onCancel}>I will top up first</button>
      <button class="secondary" onClick={props.onPay}>Open the wallet anyway</button>
    </div>
  );
}

function TxLine(props: { txid: string; url: string | null }) {
  return (
    <p>
      Transaction{' '}
      {props.url ? (
        <a href={props.url} target="_blank" rel="noopener noreferrer" class="mono">{shortTx(props.txid)}</a>
      ) : (
        <span class="mono" title={fullTx(props.txid)}>{shortTx(props.txid)}</span>
      )}
    </p>
  );
}

function Status(props: { view: Checkout; phase: Phase; pendingTx: string | null; expired: boolean; embedded: boolean }) {
  const { view, phase, pendingTx, expired } = props;
  const pi = view.payment_intent;
  const error = pi.last_payment_error;
  let body = null;
  if (pi.status === 'succeeded' && view.receipt) {
    const r = view.receipt;
    body = (
      <div class="status ok">
        <h2>Paid — thank you</h2>
        <p>{r.merchant.business_name} received {r.amount_sbtc} sBTC.</p>
        {r.txid && <TxLine txid={r.txid} url={r.explorer_url} />}
        {r.block_height !== null && <p>In block {r.block_height} · {date(r.paid_at)}</p>}
        <p>
          <a href={`/receipts/${pi.id}#${pi.client_secret}`} target={props.embedded ? '_blank' : undefined} rel="noopener">View receipt</a>
        </p>
        {view.return_url && !props.embedded && <p>Taking you back to the shop… <a href={view.return_url}>Continue</a></p>}
      </div>
    );
  } else if (pi.status === 'processing') {
    body = (
      <div class="status">
        <h2><span class="spinner" aria-hidden="true" />Payment sent — waiting for the block</h2>
        <p>The network has your transaction. This page updates by itself when it is confirmed.</p>
        {pi.sbtc.txid && <TxLine txid={pi.sbtc.txid} url={view.network.explorer_url} />}
      </div>
    );
  } else if (pi.status === 'canceled') {
    const late = pi.sbtc.late_payment !== null;
    body = (
      <div class="status bad">
        <h2>{pi.cancellation_reason === 'expired' ? 'This payment request expired' : 'This payment was canceled'}</h2>
        <p>
          {late
            ? 'A payment arrived after that; the shop owes you a refund and has been told.'
            : 'Nothing was charged. Ask the shop for a new payment link if you still want to pay.'}
        </p>
      </div>
    );
  } else if (expired) {
    body = (
      <div class="status bad">
        <h2>Time is up</h2>
        <p>This payment request can no longer be paid. Ask the shop for a new link.</p>
      </div>
    );
  } else if (pendingTx) {
    body = (
      <div class="status">
        <h2><span class="spinner" aria-hidden="true" />Transaction sent</h2>
        <p>Waiting for the network to see it. You can close your wallet; keep this page open.</p>
        <TxLine txid={pendingTx} url={null} />
      </div>
    );
  } else if (phase.kind === 'refused') {
    body = (
      <div class="status warn">
        <h2>The wallet did not sign</h2>
        <p>You closed the wallet or declined. Nothing was sent; you can try again.</p>
      </div>
    );
  } else if (phase.kind === 'error') {
    body = (
      <div class="status bad">
        <h2>That did not work</h2>
        <p>{phase.message}</p>
      </div>
    );
  } else if (error) {
    const [title, words] = FAILURES[error.code ?? ''] ?? ['The payment did not go through', 'The transaction failed on chain.'];
    body = (
      <div class="status bad">
        <h2>{title}</h2>
        <p>{words} You can try again.</p>
        {error.message && <p class="detail">Details: {error.message}</p>}
      </div>
    );
  }
  return <div role="status" aria-live="polite">{body}</div>;
}
