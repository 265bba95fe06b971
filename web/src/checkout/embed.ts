// Messages from the checkout frame to the merchant's page (the widget), sent only to the
// origin the widget declared in the frame's URL fragment. The widget, in turn, accepts only
// messages from this gateway's origin and from its own frame.

export type EmbedEvent = 'ready' | 'processing' | 'succeeded' | 'failed' | 'closed' | 'close_request';

export function makePoster(hostOrigin: string | null, embedded: boolean) {
  return (type: EmbedEvent, detail: Record<string, unknown> = {}) => {
    if (!embedded || !hostOrigin || window.parent === window) return;
    window.parent.postMessage({ source: 'sbtc-checkout', type, ...detail }, hostOrigin);
  };
}
