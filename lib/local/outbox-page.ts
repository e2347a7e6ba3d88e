import type { IncomingMessage, ServerResponse } from 'node:http';
import { outboxPath, readOutbox, type OutboxEntry } from './alerts';
import { OPERATOR_CSP } from './operator/page';

/**
 * The local outbox page, served by the admin server: the alerts `npm start` caught instead of sending
 * (lib/local/alerts.ts), newest first: each customer e-mail as SES would have sent it, and each event
 * the seller's EventBridge bus would have received. Server-rendered, no script.
 */

export const OUTBOX_PATH = '/outbox';

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function entryHtml(entry: OutboxEntry): string {
  if (entry.kind === 'email') {
    return `<article class="email"><h3>${escape(entry.subject)}</h3><dl><dt>To</dt><dd>${escape(entry.to)}</dd><dt>Sent</dt><dd><time datetime="${escape(entry.at)}">${escape(entry.at)}</time></dd><dt>Alert</dt><dd><code>${escape(entry.alertId)}</code></dd></dl><pre>${escape(entry.text)}</pre></article>`;
  }
  return `<article class="event"><h3><code>${escape(entry.detailType)}</code></h3><dl><dt>Put</dt><dd><time datetime="${escape(entry.at)}">${escape(entry.at)}</time></dd></dl><pre>${escape(JSON.stringify(entry.detail, null, 2))}</pre></article>`;
}

export function outboxHtml(entries: readonly OutboxEntry[]): string {
  const newest = [...entries].reverse();
  const emails = newest.filter((e) => e.kind === 'email');
  const events = newest.filter((e) => e.kind === 'event');
  const section = (id: string, title: string, list: readonly OutboxEntry[], none: string): string =>
    `<section aria-labelledby="${id}"><h2 id="${id}">${title} (${list.length})</h2>${list.length === 0 ? `<p>${none}</p>` : list.map(entryHtml).join('')}</section>`;
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>tollgate local outbox</title>',
    '<style>body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1a1a1a;background:#fff}article{border:1px solid #767676;border-radius:6px;padding:0 1rem;margin:1rem 0}pre{white-space:pre-wrap;background:#f3f3f3;padding:.5rem}dt{font-weight:600}dd{margin:0 0 .25rem}</style>',
    '</head><body><main><h1>Local outbox</h1>',
    '<p>Alerts <code>npm start</code> caught instead of sending: e-mails to customers (Amazon SES when deployed) and events for the seller (the EventBridge bus). Reload to see new ones.</p>',
    section('emails', 'E-mails', emails, 'No e-mail yet: alerts fire when usage reaches a threshold of tollgate:alerts.'),
    section('events', 'Seller events', events, 'No event yet.'),
    '</main></body></html>',
  ].join('');
}

/** Answers GET /outbox from the state folder's outbox; false for any other path. Only for a Host of this loopback server. */
export function serveOutboxPage(req: IncomingMessage, res: ServerResponse, options: { readonly stateDir: string; readonly port: () => number }): boolean {
  const url = new URL(req.url ?? '/', 'http://local');
  if (url.pathname !== OUTBOX_PATH) return false;
  const port = options.port();
  const send = (status: number, type: string, body: string, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-security-policy': OPERATOR_CSP.replace("style-src 'self'", "style-src 'unsafe-inline'"), 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store', 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (![`127.0.0.1:${port}`, `localhost:${port}`].includes(req.headers.host ?? '')) {
    send(421, 'text/plain; charset=utf-8', `this page answers only at http://127.0.0.1:${port}${OUTBOX_PATH}\n`);
    return true;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(405, 'text/plain; charset=utf-8', 'the outbox page is read-only: use GET\n', { allow: 'GET, HEAD' });
    return true;
  }
  send(200, 'text/html; charset=utf-8', outboxHtml(readOutbox(outboxPath(options.stateDir))));
  return true;
}
