import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The seller webhook's signature, Stripe's scheme: `Tollgate-Signature: t=<unix s>,v1=<hex HMAC-SHA256
 * of "<t>.<raw body>">`, keyed by the signing secret the stack keeps in Secrets Manager. The receiver
 * recomputes it over the bytes it received and refuses a `t` older than its tolerance (replays).
 */

export const SIGNATURE_HEADER = 'Tollgate-Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

const hmac = (secret: string, t: number, body: string): string => createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');

export function signatureHeader(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

/** Whether `header` signs `body` with `secret` within `toleranceSeconds` of `now` (what a seller's receiver does). */
export function verifySignature(secret: string, body: string, header: string, now: Date, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS): boolean {
  const parts = header.split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isSafeInteger(t) || Math.abs(Math.floor(now.getTime() / 1000) - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, t, body), 'hex');
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v) && timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
