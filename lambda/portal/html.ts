import type { PortalBrand } from './brand';

/**
 * A small HTML renderer: every interpolated value is escaped unless it is already `Html` (built by
 * this module). No framework, no inline script or style, so the pages run under a strict CSP.
 */

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Value = Html | string | number | boolean | undefined | null | readonly Value[];

function render(value: Value): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return (value as readonly Value[]).map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<p>${untrusted}</p>\``: values escaped, nested `html` kept. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Content-Security-Policy of the portal and problem pages: scripts and styles from the stack only. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  // A form that starts a checkout or opens the billing portal is redirected to Stripe.
  "form-action 'self' https://checkout.stripe.com https://billing.stripe.com",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** The API reference: the explorer injects its own styles and calls the API (same origin). */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** A CSP whose img-src also allows the origin of `imageUrl` (the configured logo). */
export function withImagesFrom(csp: string, imageUrl: string | undefined): string {
  if (imageUrl === undefined || !URL.canParse(imageUrl)) return csp;
  const { origin } = new URL(imageUrl);
  return csp.replace(/(^|; )img-src ([^;]*)/, `$1img-src $2 ${origin}`);
}

/**
 * On every page: no sniffing, no framing, and no Referer to any other origin (a URL never leaves the
 * stage). Not `no-referrer`: under it browsers send `Origin: null` on a form POST, and the same-origin
 * check of every state-changing form needs the real origin.
 */
export function securityHeaders(csp: string): Record<string, string> {
  return {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
}

export interface Layout {
  readonly title: string;
  /** The stage's base URL path (`/prod`): links are absolute paths under it. */
  readonly base: string;
  readonly body: Html;
  /** A note under the title, e.g. "local test mode". */
  readonly banner?: Html;
  /** The product's name, logo and colours. @default - tollgate's plain pages */
  readonly brand?: PortalBrand;
}

/** The product's name (and logo) at the start of the header, when configured. */
export function brandMark(brand: PortalBrand | undefined): Html | string {
  if (brand?.name === undefined && brand?.logoUrl === undefined) return '';
  const logo = brand.logoUrl === undefined ? '' : html`<img src="${brand.logoUrl}" alt="${brand.name === undefined ? 'Logo' : ''}" height="28">`;
  return html`<span class="brand">${logo}${brand.name === undefined ? '' : html` <strong>${brand.name}</strong>`}</span>`;
}

export function layout({ title, base, body, banner, brand }: Layout): string {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}${brand?.name === undefined ? '' : ` · ${brand.name}`}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/tollgate/assets/portal.css">
${brand?.colors === undefined ? '' : html`<link rel="stylesheet" href="${base}/tollgate/assets/brand.css">`}
<script defer src="${base}/tollgate/assets/portal.js"></script>
</head>
<body>
<header><nav aria-label="${brand?.name ?? 'tollgate'}">${brandMark(brand)}<a href="${base}/tollgate/portal">Plans</a> <a href="${base}/tollgate/portal/sign-in">Sign in</a> <a href="${base}/tollgate/portal/account">Account</a> <a href="${base}/tollgate/docs">API reference</a></nav></header>
<main>
<h1>${title}</h1>
${banner ?? ''}
${body}
</main>
</body>
</html>`.text}`;
}
