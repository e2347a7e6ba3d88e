import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import Stripe from 'stripe';
import { accessSignature, ITEM_LIMITS } from '../shared/customers/item';
import type { CustomerRecord } from '../shared/customers/record';
import { headerValue } from '../shared/headers';
import { countOne, createObservability, type Observability } from '../shared/observability';
import type { AuthorizerCacheFlusher, FlushTarget } from '../shared/ports';
import { isLookupKey } from '../shared/requirements';
import { EventShapeError, interpret, isHandledEventType, parseEnvelope, readSubscription, type StripeEventEnvelope } from './events';
import {
  assumedWatermark,
  forgettable,
  project,
  rankOf,
  refetchedWatermark,
  watermark,
  watermarkOf,
  watermarkSecond,
  type CustomerUpdate,
  type PaymentChange,
} from './state';
import type { ApplyResult, PaymentStateStore } from './store';

export interface WebhookDeps {
  readonly store: PaymentStateStore;
  /** The endpoint's signing secrets (two while rolling); may carry `refresh()` (see secrets.ts). */
  readonly signingSecrets: () => Promise<readonly string[]>;
  readonly flusher: AuthorizerCacheFlusher;
  /** When set: re-fetch same-second subscriptions and completed checkouts, page entitlements. */
  readonly stripe?: Stripe;
  readonly now?: () => Date;
  readonly observability?: Observability;
}

/** Stripe's events are a few KB; anything this large is not one. Rejected before any parsing. */
export const MAX_BODY_BYTES = 256 * 1024;

export type WebhookOutcome = 'applied' | 'duplicate' | 'stale' | 'ignored' | 'rejected' | 'failed';

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

function problemResponse(status: number, problem: string, title: string, detail: string): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' },
    body: JSON.stringify({ type: 'about:blank', title, status, detail, problem }),
  };
}

/** The bytes Stripe signed: decoded from base64 if API Gateway encoded them, never re-serialised. */
function rawBody(event: APIGatewayProxyEvent): Buffer {
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

function flushTarget(event: APIGatewayProxyEvent): FlushTarget | undefined {
  const { apiId, stage } = event.requestContext ?? {};
  // The invoking event names the API: the stack cannot (function → API → function would be a cycle).
  return typeof apiId === 'string' && apiId !== '' && typeof stage === 'string' && stage !== '' ? { restApiId: apiId, stage } : undefined;
}

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

async function verifySignature(deps: WebhookDeps, raw: Buffer, signature: string, receivedAt: Date): Promise<void> {
  let result = verifyWith(raw, signature, await deps.signingSecrets(), receivedAt.getTime());
  const source = deps.signingSecrets as { refresh?: () => Promise<boolean> };
  // A warm function may still hold a secret that has since been rolled: re-read it (rate-limited).
  if (!result.ok && !result.staleTimestamp && typeof source.refresh === 'function' && (await source.refresh())) {
    result = verifyWith(raw, signature, await deps.signingSecrets(), receivedAt.getTime());
  }
  if (result.staleTimestamp) {
    throw new WebhookRejection('stale_timestamp', 'the stripe-signature timestamp is outside the 300 s tolerance: check the clock, or resend the event from stripe');
  }
  if (!result.ok) {
    throw new WebhookRejection('invalid_signature', 'the stripe-signature header does not match the body: check the signing secret, and forward the raw body unchanged');
  }
}

function parseEvent(raw: Buffer): StripeEventEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new WebhookRejection('invalid_json', 'the body is not json: stripe sends events as json');
  }
  try {
    return parseEnvelope(parsed);
  } catch (err) {
    if (err instanceof EventShapeError) throw new WebhookRejection('not_an_event', err.message);
    throw err;
  }
}

interface Resolved {
  readonly update?: CustomerUpdate;
  readonly ignoredReason?: string;
}

export function makeWebhookHandler(deps: WebhookDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const now = deps.now ?? (() => new Date());
  const { logger, metrics } = deps.observability ?? createObservability('tollgate-webhook');

  const record = (outcome: WebhookOutcome, fields: { type?: string; eventId?: string; customerId?: string; detail?: string }): void => {
    if (outcome === 'rejected') logger.warn('stripe webhook', { outcome, ...fields });
    else if (outcome !== 'failed') logger.info('stripe webhook', { outcome, ...fields });
    // Low cardinality: the handled types by name, everything else as "other".
    countOne(metrics, 'WebhookEvents', { type: fields.type !== undefined && isHandledEventType(fields.type) ? fields.type : 'other', outcome });
  };

  const fetchSubscription = async (stripe: Stripe, subscriptionId: string, customerId: string): Promise<PaymentChange> => {
    const subscription = await stripe.subscriptions.retrieve(subscriptionId);
    const read = readSubscription(subscription as unknown as Record<string, unknown>);
    if (read.customerId !== customerId) throw new EventShapeError(`subscription ${subscriptionId} belongs to another customer`);
    return read.change;
  };

  const fetchEntitlements = async (stripe: Stripe, customerId: string): Promise<PaymentChange> => {
    const keys: string[] = [];
    for await (const entitlement of stripe.entitlements.activeEntitlements.list({ customer: customerId, limit: 100 })) {
      if (isLookupKey(entitlement.lookup_key)) keys.push(entitlement.lookup_key);
    }
    if (keys.length > ITEM_LIMITS.entitlements) {
      throw new Error(`customer ${customerId} has ${keys.length} active entitlements, more than the ${ITEM_LIMITS.entitlements} tollgate keeps per customer: remove features it does not use in stripe (stripe retries this event)`);
    }
    return { stream: 'entitlements', entitlements: keys };
  };

  /** The update an event makes, asking Stripe where the event alone is not enough. */
  const resolve = async (envelope: StripeEventEnvelope, stored: (customerId: string) => Promise<CustomerRecord | undefined>): Promise<Resolved> => {
    const interpretation = interpret(envelope);
    const { id, created } = envelope;
    switch (interpretation.kind) {
      case 'ignored':
        return { ignoredReason: interpretation.reason };
      case 'checkout': {
        const { customerId, subscriptionId } = interpretation;
        if (deps.stripe !== undefined) {
          const change = await fetchSubscription(deps.stripe, subscriptionId, customerId);
          return { update: { customerId, change, watermark: refetchedWatermark(created, id) } };
        }
        if (interpretation.assumed === undefined) return { ignoredReason: 'checkout payment not settled' };
        return { update: { customerId, change: interpretation.assumed, watermark: assumedWatermark(id) } };
      }
      case 'change': {
        const { customerId } = interpretation;
        let change = interpretation.change;
        if (change.stream === 'entitlements' && interpretation.entitlementsIncomplete === true) {
          if (deps.stripe !== undefined) return { update: { customerId, change: await fetchEntitlements(deps.stripe, customerId), watermark: refetchedWatermark(created, id) } };
          logger.warn('entitlement summary truncated and no stripe api key configured: stored the first page only', { eventId: id, customerId });
        }
        if (deps.stripe !== undefined && (change.stream === 'subscription' || change.stream === 'entitlements')) {
          // Same second as the stored state: the event order is unknown, so ask Stripe for the truth.
          const current = watermarkOf(await stored(customerId), change);
          if (current !== undefined && watermarkSecond(current) === created) {
            change =
              change.stream === 'subscription'
                ? await fetchSubscription(deps.stripe, change.subscriptionId, customerId)
                : await fetchEntitlements(deps.stripe, customerId);
            return { update: { customerId, change, watermark: refetchedWatermark(created, id) } };
          }
        }
        return { update: { customerId, change, watermark: watermark(created, rankOf(change), id) } };
      }
    }
  };

  return async (event) => {
    const receivedAt = now();
    let envelope: StripeEventEnvelope | undefined;
    let customerId: string | undefined;
    try {
      const raw = rawBody(event);
      const signature = headerValue(event, 'stripe-signature');
      if (signature === undefined || signature === '') {
        throw new WebhookRejection('missing_signature', 'the stripe-signature header is missing: only stripe can call this endpoint');
      }
      await verifySignature(deps, raw, signature, receivedAt);
      envelope = parseEvent(raw);

      let before: Promise<CustomerRecord | undefined> | undefined;
      let resolved: Resolved;
      try {
        resolved = await resolve(envelope, (id) => (before ??= deps.store.read(id)));
      } catch (err) {
        if (err instanceof EventShapeError) throw new WebhookRejection('unreadable_event', err.message);
        throw err;
      }
      const { update } = resolved;
      if (update === undefined) {
        record('ignored', { type: envelope.type, eventId: envelope.id, detail: resolved.ignoredReason });
        return ok('ignored');
      }
      customerId = update.customerId;
      const { type, id } = envelope;
      const stored = await (before ?? deps.store.read(customerId));
      const target = flushTarget(event);
      const accessChanges = accessSignature(stored) !== accessSignature(project(stored, customerId, update, receivedAt));
      if (accessChanges && target === undefined) logger.warn('access changed but the request names no api stage: cached decisions expire with the authorizer ttl', { eventId: id });
      const result: ApplyResult = await deps.store.apply({ eventId: id, type, created: envelope.created }, update, {
        flushPending: accessChanges && target !== undefined,
        now: receivedAt,
        forget: forgettable(stored, update, receivedAt),
      });
      const flushNeeded = target !== undefined && (result.outcome === 'applied' ? accessChanges : result.outcome === 'duplicate' && result.flushPending);
      if (flushNeeded) {
        try {
          await deps.flusher.flush(target);
        } catch (err) {
          // Lets Stripe's retry finish the flush at once. Best effort: should this write fail too, the
          // retry (minutes later) finds the entry older than FLUSH_IN_FLIGHT_SECONDS and flushes anyway.
          await deps.store.flushFailed(id).catch(() => undefined);
          throw err;
        }
        await deps.store.flushDone(id);
      }
      record(result.outcome, { type, eventId: id, customerId, ...(flushNeeded ? { detail: 'authorizer cache flushed' } : {}) });
      return ok(result.outcome);
    } catch (err) {
      const fields = { type: envelope?.type, eventId: envelope?.id, customerId };
      if (err instanceof WebhookRejection) {
        record('rejected', { ...fields, detail: err.problem });
        return problemResponse(400, err.problem, 'Invalid Stripe webhook request', err.message);
      }
      logger.error('stripe webhook', { outcome: 'failed', ...fields, detail: 'answering 500 so that stripe retries', error: err as Error });
      record('failed', fields);
      return problemResponse(500, 'webhook_failed', 'Webhook processing failed', 'the event could not be stored: stripe will retry it');
    }
  };
}

const ok = (outcome: WebhookOutcome): APIGatewayProxyResult => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  body: JSON.stringify({ received: true, outcome }),
});
