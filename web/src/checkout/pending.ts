// The transaction a wallet broadcast for an intent, remembered in this browser: a reload in
// the middle of a payment shows that transaction instead of offering to pay again.
const key = (intentId: string) => `sbtc-checkout:${intentId}:txid`;

export function remember(intentId: string, txid: string): void {
  try {
    localStorage.setItem(key(intentId), txid);
  } catch {
    /* private mode: the page still works, without this memory */
  }
}

export function recall(intentId: string): string | null {
  try {
    return localStorage.getItem(key(intentId));
  } catch {
    return null;
  }
}

export function forget(intentId: string): void {
  try {
    localStorage.removeItem(key(intentId));
  } catch {
    /* nothing to forget */
  }
}
