import { PORTAL_PATHS } from '../../shared/portal-paths';
import type { RouteRule } from '../../shared/requirements';
import { exampleRequest } from '../example-request';
import type { Page } from '../context';
import { html, type Html } from '../html';

/** The pages that show a key: once after a checkout, once after a rotation. Never cached (the layout's no-store). */

const keyField = (key: string): Html =>
  html`<p><label for="api-key">API key</label><input id="api-key" class="key" type="text" readonly value="${key}" data-api-key> <button type="button" data-copy-key>Copy</button> <output data-copy-result></output></p>`;

export interface IssuedKeyView {
  readonly base: string;
  readonly key: string;
  /** The API's routes: "Try it" calls one of them with the key. */
  readonly routes: readonly RouteRule[];
  /** The public document, for the parameters a route requires. @default - only routes without parameters are tried */
  readonly document?: Record<string, unknown>;
}

/** The key a checkout paid for, with a button that tries it (when some route can be called as it stands). */
export function issuedKeyPage({ base, key, routes, document }: IssuedKeyView): Page {
  const tried = tryRoute(routes, document);
  return {
    title: 'Your API key',
    body: html`<p>Payment received. This is your API key. <strong>It is shown only this once</strong>: copy it now and keep it secret.</p>
${keyField(key)}
<p>Send it as <code>Authorization: Bearer &lt;key&gt;</code>.${tried === undefined ? '' : html` <button type="button" data-try-key data-url="${base}${tried}">Try it</button> <output data-try-result></output>`}</p>
<p><a href="${base}${PORTAL_PATHS.account}">Your account</a> · <a href="${base}${PORTAL_PATHS.docs}">API reference</a></p>`,
  };
}

export interface RotatedKeyView {
  readonly base: string;
  readonly key: string;
  /** The key it replaces, which no longer works. */
  readonly replacedKeyId: string;
}

export function rotatedKeyPage({ base, key, replacedKeyId }: RotatedKeyView): Page {
  return {
    title: 'Your new API key',
    body: html`<p>Key <code>${replacedKeyId}</code> no longer works. This is its replacement. <strong>It is shown only this once</strong>: copy it now.</p>
${keyField(key)}
<p><a href="${base}${PORTAL_PATHS.account}">Your account</a></p>`,
  };
}

/** A checkout by a customer that already holds keys: those keys now work, no key is shown. */
export function subscribedPage(base: string): Page {
  return {
    title: 'Subscribed',
    body: html`<p>Payment received. Your existing API keys now have access: retry your request.</p><p><a href="${base}${PORTAL_PATHS.account}">Your account</a></p>`,
  };
}

/** A credit pack bought by a customer that already holds keys: the same keys draw on the credits. */
/** A checkout paid by a delayed method (SEPA, ACH, Bacs…): complete, still settling. */
export function paymentProcessingPage(options: { readonly base: string; readonly credits?: number; readonly claimsKey: boolean }): Page {
  const what = options.credits === undefined ? 'your subscription starts' : `${options.credits} credits are added to your account`;
  const next = options.claimsKey
    ? html`<p>Your API key is shown here, once, when it has: come back to this page in this browser then (reload it).</p>`
    : html`<p>Your existing API keys work as soon as it has: retry your request then.</p>`;
  return {
    title: 'Payment processing',
    body: html`<p role="status">Your payment is processing. Bank payments can take a few days to settle; ${what} once it has.</p>${next}<p><a href="${options.base}${PORTAL_PATHS.pricing}">Plans</a></p>`,
  };
}

export function creditsAddedPage(base: string, credits: number): Page {
  return {
    title: 'Credits added',
    body: html`<p>Payment received: ${credits} credits are added to your account within seconds. Your existing API keys draw on them: retry your request.</p><p><a href="${base}${PORTAL_PATHS.account}">Your account</a></p>`,
  };
}

/**
 * What "Try it" calls: a secured GET with every required parameter filled from the document's examples
 * (example-request.ts), a paid route first, one sold by use next (it counts one call), the free tier
 * last; never a strict route (it reserves credits). Undefined when no route can be called as it stands.
 */
export function tryRoute(routes: readonly RouteRule[], document: Record<string, unknown> = { paths: {} }): string | undefined {
  const gets = routes.filter((r) => r.method === 'GET' && r.usage?.strict !== true);
  const paid = gets.filter((r) => r.requires.kind !== 'key');
  const ordered = [...paid.filter((r) => r.usage === undefined), ...paid.filter((r) => r.usage !== undefined), ...gets.filter((r) => r.requires.kind === 'key')];
  for (const route of ordered) {
    const request = exampleRequest(document, 'GET', route.path);
    if (request !== undefined && request.fromExamples && !request.needsMore) return request.path;
    // A route the document does not describe: tried only when it has nothing to fill.
    if (request === undefined && !route.path.includes('{')) return route.path;
  }
  return undefined;
}
