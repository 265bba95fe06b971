// A client of the gateway's public /v1 API, as a browser uses it: the client secret travels
// in POST bodies (never in a URL a server logs); a publishable key, when the page has one,
// goes in the Authorization header. Same origin as the page: nothing else is contacted.

export interface Credentials {
  intentId: string;
  clientSecret: string;
  publishableKey?: string;
}

export interface LastPaymentError {
  code?: string | null;
  message?: string | null;
  type?: string | null;
}

export interface ContractCall {
  network: string;
  contract_id: string;
  function_name: string;
  function_args: string[];
  post_conditions: string[];
  post_condition_mode: string;
  [key: string]: unknown;
}

export interface PaymentIntent {
  id: string;
  status: string;
  amount: number;
  amount_sbtc: string;
  currency: string;
  description: string | null;
  livemode: boolean;
  expires_at: number;
  cancellation_reason: string | null;
  last_payment_error: LastPaymentError | null;
  client_secret: string;
  next_action: {
    type: string;
    sbtc_contract_call?: ContractCall | null;
    redirect_to_url?: { url: string; return_url: string | null } | null;
  } | null;
  sbtc: {
    payer: string | null;
    txid: string | null;
    block_height: number | null;
    expires_at_block: number | null;
    late_payment: Record<string, unknown> | null;
  };
}

export interface Merchant {
  business_name: string;
  logo_url: string | null;
  accent_color: string | null;
}

export interface Receipt {
  object: 'receipt';
  payment_intent: string;
  livemode: boolean;
  merchant: Merchant;
  description: string | null;
  amount: number;
  amount_sbtc: string;
  currency: string;
  payer: string | null;
  txid: string | null;
  block_height: number | null;
  paid_at: number;
  network: string;
  explorer_url: string | null;
}

export interface Checkout {
  object: 'checkout';
  livemode: boolean;
  now: number;
  payment_intent: PaymentIntent;
  merchant: Merchant;
  network: { name: string; block_time_seconds: number; explorer_url: string | null };
  time_left: {
    expires_at: number;
    expires_at_block: number | null;
    tip_height: number | null;
    blocks: number | null;
    seconds: number;
  };
  return_url: string | null;
  receipt: Receipt | null;
}

export interface PayerBalance {
  payer: string;
  sufficient: boolean;
  sbtc: { balance: number; required: number; sufficient: boolean };
  stx: { balance: number; required: number; sufficient: boolean };
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

async function post<T>(path: string, creds: Credentials, body: Record<string, unknown>): Promise<T> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (creds.publishableKey) headers.Authorization = `Bearer ${creds.publishableKey}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers,
      body: JSON.stringify({ client_secret: creds.clientSecret, ...body }),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError('The gateway cannot be reached. Check your connection.', 0, 'network');
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = (data as { error?: { message?: string; code?: string } }).error ?? {};
    throw new ApiError(error.message ?? `HTTP ${response.status}`, response.status, error.code ?? null);
  }
  return data as T;
}

const base = (creds: Credentials) => `/v1/payment_intents/${encodeURIComponent(creds.intentId)}`;

export const getCheckout = (creds: Credentials) => post<Checkout>(`${base(creds)}/checkout`, creds, {});

export const getReceipt = (creds: Credentials) => post<Receipt>(`${base(creds)}/receipt`, creds, {});

export const payerBalance = (creds: Credentials, payer: string) =>
  post<PayerBalance>(`${base(creds)}/payer_balance`, creds, { payer });

export const confirm = (creds: Credentials, payer: string) =>
  post<PaymentIntent>(`${base(creds)}/confirm`, creds, {
    payment_method_data: { type: 'sbtc', sbtc: { payer } },
  });

/** The intent id from the path (`/checkout/pi_…`) and the credentials from the fragment:
 * `#pi_…_secret_…` (the hosted link), or `#cs=…&pk=…&origin=…&embed=1` (the widget's frame). */
export function credentialsFromLocation(loc: Location): {
  creds: Credentials | null;
  hostOrigin: string | null;
  embedded: boolean;
} {
  const intentId = decodeURIComponent(loc.pathname.split('/').filter(Boolean).pop() ?? '');
  const fragment = loc.hash.replace(/^#/, '');
  const params = fragment.includes('=') ? new URLSearchParams(fragment) : null;
  const clientSecret = params ? (params.get('cs') ?? params.get('client_secret') ?? '') : fragment;
  const publishableKey = params?.get('pk') ?? undefined;
  let hostOrigin: string | null = null;
  const origin = params?.get('origin');
  if (origin) {
    try {
      hostOrigin = new URL(origin).origin;
    } catch {
      hostOrigin = null;
    }
  }
  const valid = /^pi_[0-9A-Za-z]+$/.test(intentId) && clientSecret.startsWith(`${intentId}_secret_`);
  return {
    creds: valid ? { intentId, clientSecret, publishableKey: publishableKey || undefined } : null,
    hostOrigin,
    embedded: params?.get('embed') === '1' && hostOrigin !== null,
  };
}
