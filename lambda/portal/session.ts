import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed cookies: `<base64url payload>.<base64url HMAC-SHA256>`. The payload names the server-side
 * session (sessions.ts), the customer and the key it signed in with (never the key), and when it expires. The secret comes from Secrets
 * Manager (locally a generated one in the private state folder).
 */

export interface PortalSession {
  /** The server-side session (sessions.ts) this cookie names. */
  readonly sessionId: string;
  readonly customerId: string;
  readonly keyId: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

export const SESSION_COOKIE = 'tg_session';
/** Binds a Checkout Session to the browser that started it. */
export const CHECKOUT_COOKIE = 'tg_checkout';
export const SESSION_SECONDS = 15 * 60;
export const CHECKOUT_COOKIE_SECONDS = 24 * 60 * 60;

const mac = (secret: string, payload: string): Buffer => createHmac('sha256', secret).update(payload, 'utf8').digest();

export function sign(secret: string, value: unknown): string {
  const payload = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The signed value, or undefined when the signature does not match (forged, another secret, garbage). */
export function verify(secret: string, token: string | undefined): unknown {
  if (token === undefined || token.length > 2048) return undefined;
  const [payload, signature, extra] = token.split('.');
  if (payload === undefined || signature === undefined || extra !== undefined) return undefined;
  const expected = mac(secret, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export function readSession(secret: string, token: string | undefined, now: Date): PortalSession | 'expired' | undefined {
  const value = verify(secret, token) as Partial<PortalSession> | undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  const { sessionId, customerId, keyId, expiresAt } = value;
  if (typeof sessionId !== 'string' || typeof customerId !== 'string' || typeof keyId !== 'string' || typeof expiresAt !== 'number') return undefined;
  if (expiresAt <= now.getTime() / 1000) return 'expired';
  return { sessionId, customerId, keyId, expiresAt };
}

/** Cookies of a request (`Cookie` header), by name; the first of a name wins. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!(name in cookies)) cookies[name] = part.slice(eq + 1).trim();
  }
  return cookies;
}

/**
 * A `Set-Cookie` value. HttpOnly and Secure always (browsers treat http://127.0.0.1 and localhost as
 * secure contexts, so the local run works too); SameSite=Strict for the sign-in session, Lax for the
 * checkout binding, which must survive the top-level redirect back from Stripe.
 */
export function setCookie(name: string, value: string, options: { path: string; maxAgeSeconds: number; sameSite: 'Strict' | 'Lax' }): string {
  return `${name}=${value}; Path=${options.path}; Max-Age=${options.maxAgeSeconds}; HttpOnly; Secure; SameSite=${options.sameSite}`;
}
