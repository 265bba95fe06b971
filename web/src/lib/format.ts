// Display helpers: amounts come from the server as integers (sats) and exact decimal strings.

export const sats = (amount: number) => `${amount.toLocaleString('en-US')} sats`;

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(rest)}` : `${m}:${two(rest)}`;
}

export const shortTx = (txid: string) => {
  const hex = txid.startsWith('0x') ? txid : `0x${txid}`;
  return `${hex.slice(0, 10)}…${hex.slice(-8)}`;
};

export const fullTx = (txid: string) => (txid.startsWith('0x') ? txid : `0x${txid}`);

export const date = (unix: number) =>
  new Date(unix * 1000).toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' });

/** The merchant's accent colour, if it is one (#rrggbb), and a text colour readable on it. */
export function accent(color: string | null): { background: string; text: string } {
  const fallback = { background: '#5546ff', text: '#ffffff' };
  if (!color || !/^#[0-9a-fA-F]{6}$/.test(color)) return fallback;
  const channel = (i: number) => {
    const c = parseInt(color.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  // WCAG contrast against white vs. black: pick the larger
  const onWhite = 1.05 / (luminance + 0.05);
  const onBlack = (luminance + 0.05) / 0.05;
  return { background: color, text: onWhite >= onBlack ? '#ffffff' : '#111111' };
}
