import type { Page, Result } from './context';
import type { PortalBrand } from './brand';
import { html, layout, PAGE_CSP, securityHeaders, withImagesFrom } from './html';
import { CHECKOUT_COOKIE, CHECKOUT_COOKIE_SECONDS, SESSION_COOKIE, SESSION_SECONDS, setCookie } from './session';

/** The portal's responses: a page in the layout, a redirect, JSON, and its cookies. */

const TEST_MODE_BANNER = html`<p class="test-mode" role="note">Local test mode: payments are simulated by tollgate's test checkout, no real card is charged.</p>`;

export interface RenderOptions {
  readonly base: string;
  readonly testMode: boolean;
  readonly brand?: PortalBrand;
}

export function renderPage(page: Page, { base, testMode, brand }: RenderOptions): Result {
  const cookies = page.cookies ?? [];
  return {
    statusCode: page.status ?? 200,
    headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...securityHeaders(withImagesFrom(PAGE_CSP, brand?.logoUrl)), ...page.headers },
    ...(cookies.length === 0 ? {} : { multiValueHeaders: { 'Set-Cookie': [...cookies] } }),
    body: layout({ title: page.title, base, body: page.body, ...(testMode ? { banner: TEST_MODE_BANNER } : {}), ...(brand === undefined ? {} : { brand }) }),
  };
}

export function redirect(location: string, cookies: readonly string[] = []): Result {
  return {
    statusCode: 303,
    headers: { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' },
    ...(cookies.length === 0 ? {} : { multiValueHeaders: { 'Set-Cookie': [...cookies] } }),
    body: '',
  };
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): Result {
  return { statusCode: status, headers: { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', ...headers }, body: JSON.stringify(value) };
}

const cookiePath = (base: string): string => `${base}/tollgate/portal`;

/** The signed-in session (`token` signed by session.ts), or '' to end it. */
export const sessionCookie = (base: string, token: string): string =>
  setCookie(SESSION_COOKIE, token, { path: cookiePath(base), maxAgeSeconds: token === '' ? 0 : SESSION_SECONDS, sameSite: 'Strict' });

/** Binds a checkout to this browser (`binding` signed by session.ts), or '' to drop the binding. */
export const checkoutCookie = (base: string, binding: string, maxAgeSeconds = CHECKOUT_COOKIE_SECONDS): string =>
  setCookie(CHECKOUT_COOKIE, binding, { path: cookiePath(base), maxAgeSeconds: binding === '' ? 0 : maxAgeSeconds, sameSite: 'Lax' });
