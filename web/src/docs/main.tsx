// /docs: the API reference, rendered from the gateway's own /openapi.json; /docs/errors: the
// error catalogue from /v1/error_codes (every error's doc_url points here). Bundled, offline.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import '../lib/style.css';
import './docs.css';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const METHODS = ['get', 'post', 'delete', 'put', 'patch'];

function resolve(spec: Json, schema: Json | undefined): Json {
  let s = schema ?? {};
  for (let i = 0; s.$ref && i < 10; i++) s = spec.components?.schemas?.[String(s.$ref).split('/').pop() ?? ''] ?? {};
  return s;
}

function typeOf(spec: Json, schema: Json): string {
  const s = resolve(spec, schema);
  if (s.anyOf) return s.anyOf.map((x: Json) => typeOf(spec, x)).filter((t: string) => t !== 'null').join(' | ');
  if (s.enum) return s.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
  if (s.type === 'array') return `${typeOf(spec, s.items ?? {})}[]`;
  if (s.properties) return 'object';
  return s.type ?? (s.const !== undefined ? JSON.stringify(s.const) : 'any');
}

function Params(props: { spec: Json; op: Json }) {
  const { spec, op } = props;
  const rows: [string, string, boolean][] = [];
  for (const p of op.parameters ?? []) {
    if (p.in === 'query') rows.push([p.name, typeOf(spec, p.schema ?? {}), !!p.required]);
  }
  const body = resolve(spec, op.requestBody?.content?.['application/x-www-form-urlencoded']?.schema);
  const required = new Set<string>(body.required ?? []);
  for (const [name, prop] of Object.entries<Json>(body.properties ?? {})) {
    const inner = resolve(spec, prop);
    if (inner.properties && name !== 'metadata') {
      for (const [sub, subProp] of Object.entries<Json>(inner.properties)) rows.push([`${name}[${sub}]`, typeOf(spec, subProp), false]);
    } else rows.push([name, typeOf(spec, prop), required.has(name)]);
  }
  const shown = rows.filter(([n]) => n !== 'expand');
  if (!shown.length) return null;
  return (
    <table>
      <thead><tr><th scope="col">Parameter</th><th scope="col">Type</th></tr></thead>
      <tbody>
        {shown.map(([name, type, req]) => (
          <tr key={name}><td class="mono">{name}{req && <span class="req"> required</span>}</td><td class="mono">{type}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

function Reference() {
  const [spec, setSpec] = useState<Json | null>(null);
  useEffect(() => {
    fetch('/openapi.json').then((r) => r.json()).then(setSpec);
  }, []);
  if (!spec) return <p role="status">Loading the reference…</p>;
  const groups = new Map<string, [string, string, Json][]>();
  for (const [path, item] of Object.entries<Json>(spec.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'Other';
      groups.set(tag, [...(groups.get(tag) ?? []), [method, path, op]]);
    }
  }
  return (
    <>
      <h1>{spec.info?.title} <span class="sats">v{spec.info?.version}</span></h1>
      <p>{spec.info?.description}</p>
      <section class="card">
        <h2>Using it</h2>
        <p>
          Authenticate with <code>Authorization: Bearer sk_test_…</code>. Bodies are form-encoded with bracket nesting
          (<code>metadata[order]=42</code>) or JSON; amounts are integer satoshis. The official Stripe SDKs work with their base
          URL pointed here. Errors carry a <code>code</code>: see <a href="/docs/errors">the error codes</a>.
        </p>
        <p>
          In a browser, use the publishable key (<code>pk_test_…</code>) with an intent's <code>client_secret</code> — or the client
          secret alone — for <code>confirm</code> (with <code>payment_method_data[sbtc][payer]</code>), <code>checkout</code>,{' '}
          <code>receipt</code> and <code>payer_balance</code>. The widget: <code>&lt;script src="/v1/widget.js"&gt;</code>, then{' '}
          <code>SbtcPay.confirmPayment(&#123;clientSecret, publishableKey&#125;)</code>.
        </p>
      </section>
      <nav aria-label="Sections" class="card">
        <ul class="toc">{[...groups.keys()].map((tag) => <li key={tag}><a href={`#${tag}`}>{tag}</a></li>)}</ul>
      </nav>
      {[...groups.entries()].map(([tag, ops]) => (
        <section key={tag} id={tag} class="card">
          <h2>{tag}</h2>
          {ops.map(([method, path, op]) => (
            <details key={`${method} ${path}`}>
              <summary><span class={`verb ${method}`}>{method.toUpperCase()}</span> <span class="mono">{path}</span></summary>
              <p>{op.summary}</p>
              <Params spec={spec} op={op} />
            </details>
          ))}
        </section>
      ))}
    </>
  );
}

function Errors() {
  const [codes, setCodes] = useState<Json[] | null>(null);
  useEffect(() => {
    fetch('/v1/error_codes').then((r) => r.json()).then((body) => setCodes(body.data));
  }, []);
  useEffect(() => {
    if (codes && location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  }, [codes]);
  if (!codes) return <p role="status">Loading the error codes…</p>;
  return (
    <>
      <h1>Error codes</h1>
      <p>Every error the API answers has a stable <code>code</code>, an HTTP status and a Stripe <code>type</code>. <a href="/docs">API reference</a></p>
      {codes.map((c) => (
        <section key={c.code} id={c.code} class="card" tabIndex={-1}>
          <h2 class="mono">{c.code}</h2>
          <p class="sats">HTTP {c.status} · {c.type}{c.validation ? ' · validation (nothing stored; retry with the same Idempotency-Key)' : ''}</p>
          <p><q>{c.message}</q></p>
          <p>{c.explanation}</p>
          {Object.keys(c.placeholders ?? {}).length > 0 && (
            <ul>{Object.entries<string>(c.placeholders).map(([k, v]) => <li key={k}><code>{`{${k}}`}</code>: {v}</li>)}</ul>
          )}
        </section>
      ))}
    </>
  );
}

render(
  <main class="shell docs">{location.pathname.startsWith('/docs/errors') ? <Errors /> : <Reference />}</main>,
  document.getElementById('app')!,
);
