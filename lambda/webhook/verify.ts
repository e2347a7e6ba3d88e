import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import Stripe from 'stripe';
import { problem } from '../shared/http';
import { EventShapeError, parseEnvelope, type StripeEventEnvelope } from './events';

/**
 * What makes a request a verifiable Stripe event: its raw body, its signature, its envelope. A request
 * that fails here is answered 400 and nothing is written.
 */

/** The endpoint's signing secrets (two while rolling); may carry `refresh()` (see lambda/shared/aws/secrets.ts). */
export type SigningSecrets = () => Promise<readonly string[]>;

/** Stripe's events are a few KB; anything this large is not one. Rejected before any parsing. */
export const MAX_BODY_BYTES = 256 * 1024;

/** A request that is not a verifiable Stripe event: 400, nothing written. */
export class WebhookRejection extends Error {
  override readonly name = 'WebhookRejection';
  constructor(
    readonly problem: string,
    message: string,
  ) {
    super(message);
  }
}

/** 400, with the rejection's name as the `problem` member: nothing was written. */
export const rejected = (err: WebhookRejection): APIGatewayProxyResult => problem(400, 'Invalid Stripe webhook request', err.message, { problem: err.problem });

/** The bytes Stripe signed: decoded from base64 if API Gateway encoded them, never re-serialised. */
export function rawBody(event: APIGatewayProxyEvent): Buffer {
  const body = event.body;
  if (typeof body !== 'string' || body.length === 0) throw new WebhookRejection('missing_body', 'the request has no body: stripe sends the event as json');
  if (event.isBase64Encoded) {
    if (body.length > Math.ceil(MAX_BODY_BYTES / 3) * 4) throw tooLarge();
    const bytes = Buffer.from(body, 'base64');
    if (bytes.length > MAX_BODY_BYTES) throw tooLarge();
    return bytes;
  }
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) throw tooLarge();
  return Buffer.from(body, 'utf8');
}

const tooLarge = (): WebhookRejection =>
  new WebhookRejection('body_too_large', `the body is larger than ${MAX_BODY_BYTES} bytes: this endpoint accepts stripe events only`);

interface Verification {
  readonly ok: boolean;
  readonly staleTimestamp: boolean;
}

function verifyWith(raw: Buffer, signature: string, secrets: readonly string[], receivedAtMs: number): Verification {
  const verifier = Stripe.webhooks.signature;
  if (verifier === null) throw new Error('the stripe sdk has no webhook signature helper');
  let staleTimestamp = false;
  for (const secret of secrets) {
    try {
      verifier.verifyHeader(raw, signature, secret, Stripe.webhooks.DEFAULT_TOLERANCE, undefined, receivedAtMs);
      return { ok: true, staleTimestamp: false };
    } catch (err) {
      // The SDK checks the timestamp only once a signature matched.
      if (err instanceof Error && /tolerance/i.test(err.message)) staleTimestamp = true;
    }
  }
  return { ok: false, staleTimestamp };
}

export async function verifySignature(signingSecrets: SigningSecrets, raw: Buffer, signature: string, receivedAt: Date): Promise<void> {
  let result = verifyWith(raw, signature, await signingSecrets(), receivedAt.getTime());
  const source = signingSecrets as { refresh?: () => Promise<boolean> };
  // A warm function may still hold a secret that has since been rolled: re-read it (rate-limited).
  if (!result.ok && !result.staleTimestamp && typeof source.refresh === 'function' && (await source.refresh())) {
    result = verifyWith(raw, signature, await signingSecrets(), receivedAt.getTime());
  }
  if (result.staleTimestamp) {
    throw new WebhookRejection('stale_timestamp', 'the stripe-signature timestamp is outside the 300 s tolerance: check the clock, or resend the event from stripe');
  }
  if (!result.ok) {
    throw new WebhookRejection('invalid_signature', 'the stripe-signature header does not match the body: check the signing secret, and forward the raw body unchanged');
  }
}

/** The body as JSON: what Stripe sends, snapshot event or thin notification. */
export function parseBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new WebhookRejection('invalid_json', 'the body is not json: stripe sends events as json');
  }
}

/** A snapshot event's envelope from the parsed body. */
export function eventOf(parsed: unknown): StripeEventEnvelope {
  try {
    return parseEnvelope(parsed);
  } catch (err) {
    if (err instanceof EventShapeError) throw new WebhookRejection('not_an_event', err.message);
    throw err;
  }
}
