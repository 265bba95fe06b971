// The embeddable widget, served by the gateway as /v1/widget.js. On a merchant's page:
//
//   <script src="https://gateway.example/v1/widget.js"></script>
//   <sbtc-checkout client-secret="pi_…_secret_…" publishable-key="pk_test_…"></sbtc-checkout>
//   // or: SbtcPay.mount(el, {clientSecret, publishableKey}).open()
//   // or: const {paymentIntent, error} = await SbtcPay.confirmPayment({clientSecret, publishableKey})
//
// It opens the gateway's hosted checkout in a modal frame and relays the frame's events
// (`ready`, `processing`, `succeeded`, `failed`, `closed`) to the page, as DOM CustomEvents
// named `sbtc:<event>` on the mounted element and to `on(event, fn)` listeners. Messages are
// accepted only from the gateway's origin and from the frame it opened; the frame sends only
// to the page's origin, which the widget declares in the frame's URL fragment.

const VERSION = '1';
const SCRIPT = document.currentScript as HTMLScriptElement | null;
const GATEWAY = SCRIPT?.src ? new URL(SCRIPT.src).origin : window.location.origin;
const EVENTS = ['ready', 'processing', 'succeeded', 'failed', 'closed'] as const;
type EventName = (typeof EVENTS)[number];

export interface MountOptions {
  clientSecret: string;
  publishableKey?: string;
  label?: string;
}

export interface PaymentIntentSummary {
  id: string;
  status: string;
}

export interface ConfirmResult {
  paymentIntent?: PaymentIntentSummary;
  error?: { type: string; code: string; message: string };
}

type Listener = (detail: Record<string, unknown>) => void;

function intentOf(clientSecret: string): string {
  const match = /^(pi_[0-9A-Za-z]+)_secret_[0-9A-Za-z_-]+$/.exec(clientSecret);
  if (!match) throw new Error('SbtcPay: clientSecret must be a PaymentIntent client secret (pi_…_secret_…).');
  return match[1];
}

let styled = false;
function addStyles(): void {
  if (styled) return;
  styled = true;
  const style = document.createElement('style');
  style.textContent = `
.sbtc-overlay{position:fixed;inset:0;z-index:2147483000;background:rgba(10,10,20,.55);display:flex;align-items:center;justify-content:center;padding:12px}
.sbtc-dialog{position:relative;width:min(560px,100%);height:min(820px,100%);background:#f4f4f8;border-radius:16px;overflow:hidden;box-shadow:0 12px 48px rgba(0,0,0,.35)}
.sbtc-dialog iframe{border:0;width:100%;height:100%}
.sbtc-close{position:absolute;top:8px;right:8px;width:44px;height:44px;border:0;border-radius:22px;background:#fff;color:#16161d;font:600 22px/1 system-ui,sans-serif;cursor:pointer;box-shadow:0 1px 4px rgba(0,0,0,.25)}
.sbtc-close:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}
.sbtc-pay-button{min-height:48px;padding:12px 20px;border:0;border-radius:12px;background:#5546ff;color:#fff;font:600 16px system-ui,sans-serif;cursor:pointer}
@media (max-width:600px){.sbtc-overlay{padding:0}.sbtc-dialog{width:100%;height:100%;border-radius:0}}`;
  document.head.appendChild(style);
}

export class Checkout {
  private overlay: HTMLDivElement | null = null;
  private frame: HTMLIFrameElement | null = null;
  private listeners = new Map<string, Set<Listener>>();
  private lastFocus: Element | null = null;
  private readonly intentId: string;
  private readonly onMessage = (event: MessageEvent) => this.handle(event);
  private readonly onKey = (event: KeyboardEvent) => {
    if (event.key === 'Escape') this.close();
  };

  constructor(
    private readonly options: MountOptions,
    private readonly element: HTMLElement | null = null,
  ) {
    this.intentId = intentOf(options.clientSecret);
  }

  on(name: EventName, fn: Listener): () => void {
    const set = this.listeners.get(name) ?? new Set();
    set.add(fn);
    this.listeners.set(name, set);
    return () => set.delete(fn);
  }

  get isOpen(): boolean {
    return this.overlay !== null;
  }

  open(): void {
    if (this.overlay) return;
    addStyles();
    this.lastFocus = document.activeElement;
    const fragment = new URLSearchParams({ cs: this.options.clientSecret, origin: window.location.origin, embed: '1', v: VERSION });
    if (this.options.publishableKey) fragment.set('pk', this.options.publishableKey);
    const overlay = document.createElement('div');
    overlay.className = 'sbtc-overlay';
    const dialog = document.createElement('div');
    dialog.className = 'sbtc-dialog';
    dialog.setAttribute('role', 'dialog');
    dialog.setAttribute('aria-modal', 'true');
    dialog.setAttribute('aria-label', 'Pay with sBTC');
    const frame = document.createElement('iframe');
    frame.title = 'sBTC checkout';
    frame.src = `${GATEWAY}/checkout/${encodeURIComponent(this.intentId)}#${fragment.toString()}`;
    frame.setAttribute('allow', 'clipboard-write');
    const close = document.createElement('button');
    close.className = 'sbtc-close';
    close.type = 'button';
    close.setAttribute('aria-label', 'Close the payment window');
    close.textContent = '×';
    close.addEventListener('click', () => this.close());
    dialog.append(frame, close);
    overlay.appendChild(dialog);
    overlay.addEventListener('click', (event) => {
      if (event.target === overlay) this.close();
    });
    window.addEventListener('message', this.onMessage);
    document.addEventListener('keydown', this.onKey);
    document.body.appendChild(overlay);
    this.overlay = overlay;
    this.frame = frame;
    frame.focus();
  }

  close(): void {
    if (!this.overlay) return;
    window.removeEventListener('message', this.onMessage);
    document.removeEventListener('keydown', this.onKey);
    this.overlay.remove();
    this.overlay = null;
    this.frame = null;
    if (this.lastFocus instanceof HTMLElement) this.lastFocus.focus();
    this.emit('closed', { payment_intent: { id: this.intentId } });
  }

  private handle(event: MessageEvent): void {
    // Only the gateway's own frame speaks to us.
    if (event.origin !== GATEWAY || !this.frame || event.source !== this.frame.contentWindow) return;
    const data = event.data as { source?: string; type?: string } | null;
    if (!data || data.source !== 'sbtc-checkout' || typeof data.type !== 'string') return;
    if (data.type === 'close_request') {
      this.close();
      return;
    }
    if ((EVENTS as readonly string[]).includes(data.type) && data.type !== 'closed') {
      const { source: _source, type, ...detail } = data as Record<string, unknown>;
      void _source;
      this.emit(type as EventName, detail);
    }
  }

  private emit(name: EventName, detail: Record<string, unknown>): void {
    for (const fn of this.listeners.get(name) ?? []) {
      try {
        fn(detail);
      } catch (error) {
        console.error(error);
      }
    }
    const target = this.element ?? document;
    target.dispatchEvent(new CustomEvent(`sbtc:${name}`, { detail, bubbles: true, composed: true }));
  }
}

/** A "Pay with sBTC" button in `el` that opens the checkout; answers the Checkout to listen to. */
export function mount(el: HTMLElement, options: MountOptions): Checkout {
  const checkout = new Checkout(options, el);
  addStyles();
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'sbtc-pay-button';
  button.textContent = options.label ?? 'Pay with sBTC';
  button.addEventListener('click', () => checkout.open());
  el.replaceChildren(button);
  return checkout;
}

/** Like Stripe.js: opens the checkout and resolves with the PaymentIntent once it succeeded, or
 * with an `error` when the customer closes the window first. Never rejects for a payment outcome. */
export function confirmPayment(options: MountOptions): Promise<ConfirmResult> {
  const checkout = new Checkout(options);
  return new Promise((resolve) => {
    let done = false;
    checkout.on('succeeded', (detail) => {
      done = true;
      resolve({ paymentIntent: detail.payment_intent as PaymentIntentSummary });
    });
    checkout.on('closed', () => {
      if (!done) {
        resolve({ error: { type: 'checkout_closed', code: 'checkout_closed', message: 'The customer closed the payment window before paying.' } });
      }
    });
    checkout.open();
  });
}

class SbtcCheckoutElement extends HTMLElement {
  private checkout: Checkout | null = null;

  connectedCallback(): void {
    const clientSecret = this.getAttribute('client-secret');
    if (!clientSecret) return;
    this.checkout = mount(this, {
      clientSecret,
      publishableKey: this.getAttribute('publishable-key') ?? undefined,
      label: this.getAttribute('label') ?? undefined,
    });
  }

  open(): void {
    this.checkout?.open();
  }

  close(): void {
    this.checkout?.close();
  }
}

if (!customElements.get('sbtc-checkout')) customElements.define('sbtc-checkout', SbtcCheckoutElement);

export const version = VERSION;
export const gateway = GATEWAY;
