import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type Stripe from 'stripe';
import { accessSignature, ITEM_LIMITS } from '../shared/customers/item';
import type { CustomerRecord } from '../shared/customers/record';
import { headerValue } from '../shared/headers';
import { problem } from '../shared/http';
import { countOne, createObservability, type Observability } from '../shared/observability';
import { METERING_METRICS } from '../shared/metrics';
import type { AccessFlushes, FlushOutcome, FlushTarget } from '../shared/ports';
import { changesStandingAccess } from '../shared/customers/standing-changes';
import { isLookupKey } from '../shared/requirements';
import { EventShapeError, interpret, isHandledEventType, readSubscription, type StripeEventEnvelope } from './events';
import type { CheckoutLinker } from './checkout-link';
import { classifyFailure, type PermanentCause } from './failures';
import { customerHint } from './parking';
import { liftedDenial, makeAccessObserver, type RecoveryOptions } from './recovery';
import { recoveryOf } from '../shared/alerts/recovered';
import {
  assumedWatermark,
  forgettable,
  project,
  rankOf,
  refetchedWatermark,
  watermark,
  watermarkOf,
  watermarkSecond,
} from './state';
import type { CustomerUpdate, PaymentChange } from '../shared/customers/changes';
import { CustomerItemFullError, type ApplyResult, type PaymentStateStore } from './store';
import type { Plans } from '../shared/customers/usage-view';
import { withUsageEffects } from './usage';
import { METER_ERROR_REPORT, thinNotification, type ThinEventNotification } from './thin-events';
import { eventOf, parseBody, rawBody, rejected, verifySignature, WebhookRejection, type SigningSecrets } from './verify';
import { cardLabel, type SavedCard } from '../shared/customers/top-up';

export { MAX_BODY_BYTES, WebhookRejection } from './verify';

export interface WebhookDeps {
  readonly store: PaymentStateStore;
  readonly signingSecrets: SigningSecrets;
  /** The stage's one flusher (aws/flush-coordinator.ts): asked only when an event opens or closes a standing route. */
  readonly flushes: AccessFlushes;
  /** The standing authorizer's grace period: a past_due customer within it is not denied. */
  readonly gracePeriodSeconds: number;
  /** Routes a payer's events to the customer its checkout named (checkout-link.ts). @default - no links */
  readonly checkoutLinks?: CheckoutLinker;
  /** When set: re-fetch same-second subscriptions and completed checkouts, page entitlements. */
  readonly stripe?: Stripe;
  readonly now?: () => Date;
  readonly observability?: Observability;
  /** Usage plans: a counted plan's new period resets its counter (usage.ts). @default {} */
  readonly plans?: Plans;
  /** Recovery analytics (recovery.ts): the authorizer's grace period. @default - none: not computed */
  readonly recovery?: RecoveryOptions;
  /** Settles auto top-up attempts (shared/customers/top-up.ts). @default - none: top-up payments are only credited */
  readonly topUps?: TopUpSettler;
}

/** The auto top-up's state machine, as the webhook moves it: each call true when it moved this attempt. */
export interface TopUpSettler {
  paid(customerId: string, attempt: string, now: Date): Promise<boolean>;
  /** Settles the attempt as failed and, when this call did, tells the customer (the alert). */
  failed(customerId: string, attempt: string, failure: string, now: Date): Promise<boolean>;
  /** Keeps a card the customer set up (shared/customers/top-up.ts saveTopUpMethod). */
  cardSaved(customerId: string, card: SavedCard, now: Date): Promise<'saved' | 'same' | 'stale'>;
}

export type WebhookOutcome = 'applied' | 'duplicate' | 'stale' | 'ignored' | 'parked' | 'rejected' | 'failed' | 'recorded';

function flushTarget(event: APIGatewayProxyEvent): FlushTarget | undefined {
  const { apiId, stage } = event.requestContext ?? {};
  // The invoking event names the API: the stack cannot (function → API → function would be a cycle).
  return typeof apiId === 'string' && apiId !== '' && typeof stage === 'string' && stage !== '' ? { restApiId: apiId, stage } : undefined;
}

interface Resolved {
  readonly update?: CustomerUpdate;
  readonly ignoredReason?: string;
  readonly topUpFailed?: { readonly customerId: string; readonly attempt: string; readonly failure: string };
  readonly topUpCard?: { readonly customerId: string; readonly card: SavedCard };
}

export function makeWebhookHandler(deps: WebhookDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const now = deps.now ?? (() => new Date());
  const observability = deps.observability ?? createObservability('tollgate-webhook');
  const { logger, metrics } = observability;
  const accessChanged = deps.recovery === undefined ? undefined : makeAccessObserver(deps.recovery, observability);

  const record = (outcome: WebhookOutcome, fields: { type?: string; eventId?: string; customerId?: string; detail?: string }): void => {
    if (outcome === 'rejected' || outcome === 'parked') logger.warn('stripe webhook', { outcome, ...fields });
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
      throw new CustomerItemFullError(
        `customer ${customerId} has ${keys.length} active entitlements, more than the ${ITEM_LIMITS.entitlements} tollgate keeps per customer: remove features it does not use in stripe, then replay the event with npx tollgate events replay`,
      );
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
      case 'topUpFailed':
        return { topUpFailed: interpretation };
      case 'topUpCard':
        return { topUpCard: interpretation };
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

  /** A verified event that the same bytes would fail again: kept for replay, answered 200 (Stripe stops retrying). */
  const park = async (envelope: StripeEventEnvelope, raw: Buffer, customerId: string | undefined, cause: PermanentCause, err: Error, at: Date): Promise<APIGatewayProxyResult> => {
    const { id: eventId, type } = envelope;
    const fields = { type, eventId, customerId: customerId ?? customerHint(envelope.object) };
    let parked;
    try {
      parked = await deps.store.park({ ...fields, created: envelope.created, cause, reason: err.message, rawBody: raw }, at);
    } catch (parkError) {
      logger.error('stripe webhook', { outcome: 'failed', ...fields, detail: `failed for a permanent reason (${cause}) and could not be parked: answering 500 so that stripe retries`, error: parkError as Error });
      record('failed', fields);
      return retryLater();
    }
    if (parked.outcome === 'duplicate') {
      record('duplicate', fields);
      return ok('duplicate');
    }
    // The reason is the error's message (ours, DynamoDB's or Stripe's), never the body.
    record('parked', { ...fields, detail: `${cause}: ${err.message}${parked.outcome === 'already-parked' ? ' (already parked)' : ''}` });
    return ok('parked', { cause, detail: err.message });
  };

  /** A thin event: a meter's error report is recorded once, counted where the rejected-reports alarm looks, and logged. */
  const noticed = async (notice: ThinEventNotification, receivedAt: Date): Promise<APIGatewayProxyResult> => {
    const fields = { type: notice.type, eventId: notice.id };
    if (notice.type !== METER_ERROR_REPORT) {
      record('ignored', { ...fields, detail: 'a thin event tollgate does not act on' });
      return ok('ignored');
    }
    const outcome = await deps.store.recordNotice({ eventId: notice.id, type: notice.type, created: notice.created, ...(notice.relatedObjectId === undefined ? {} : { subject: notice.relatedObjectId }) }, receivedAt);
    if (outcome === 'duplicate') {
      record('duplicate', fields);
      return ok('duplicate');
    }
    countOne(metrics, METERING_METRICS.reportsRejected, {});
    logger.error('stripe could not apply meter events tollgate reported', {
      ...fields,
      meter: notice.relatedObjectId,
      detail: `stripe's event ${notice.id} lists the errors (an unknown customer or meter, a timestamp out of range) with samples: fix the cause in stripe; the units of those events are not billed until they are sent again`,
    });
    record('recorded', fields);
    return ok('recorded');
  };

  return async (event) => {
    const receivedAt = now();
    let envelope: StripeEventEnvelope | undefined;
    let raw: Buffer | undefined;
    let customerId: string | undefined;
    // Once the event is in the ledger, a failure after it must not park the event.
    let recorded = false;
    try {
      raw = rawBody(event);
      const signature = headerValue(event, 'stripe-signature');
      if (signature === undefined || signature === '') {
        throw new WebhookRejection('missing_signature', 'the stripe-signature header is missing: only stripe can call this endpoint');
      }
      await verifySignature(deps.signingSecrets, raw, signature, receivedAt);
      const body = parseBody(raw);
      const notice = thinNotification(body);
      if (notice !== undefined) return await noticed(notice, receivedAt);
      envelope = eventOf(body);

      let before: Promise<CustomerRecord | undefined> | undefined;
      const resolved = await resolve(envelope, (id) => (before ??= deps.store.read(id)));
      if (resolved.topUpFailed !== undefined) {
        const { customerId: failedFor, attempt, failure } = resolved.topUpFailed;
        // Conditional on the attempt: a redelivery, or the charge's own answer settling it first, moves nothing.
        const moved = (await deps.topUps?.failed(failedFor, attempt, failure, receivedAt)) === true;
        record(moved ? 'applied' : 'duplicate', { type: envelope.type, eventId: envelope.id, customerId: failedFor, detail: `auto top-up failed: ${failure}` });
        return ok(moved ? 'applied' : 'duplicate');
      }
      if (resolved.topUpCard !== undefined) {
        const { customerId: owner, card } = resolved.topUpCard;
        // The event names the PaymentMethod alone: its brand and last digits come from Stripe when it can be asked.
        const label = card.label ?? (deps.stripe === undefined ? undefined : await deps.stripe.paymentMethods.retrieve(card.method).then(cardLabel, () => undefined));
        const saved = deps.topUps === undefined ? 'stale' : await deps.topUps.cardSaved(owner, { ...card, ...(label === undefined ? {} : { label }) }, receivedAt);
        record(saved === 'saved' ? 'applied' : 'duplicate', { type: envelope.type, eventId: envelope.id, customerId: owner, detail: `auto top-up card ${saved}` });
        return ok(saved === 'saved' ? 'applied' : 'duplicate');
      }
      const linked = resolved.update === undefined || deps.checkoutLinks === undefined ? resolved.update : await deps.checkoutLinks.route(envelope, resolved.update, receivedAt);
      const routed = linked === undefined || 'ignoredReason' in linked ? undefined : linked;
      // Re-addressed: the state read for the payer's customer is not the target's.
      if (routed !== undefined && routed.customerId !== resolved.update?.customerId) before = undefined;
      if (routed === undefined) {
        record('ignored', { type: envelope.type, eventId: envelope.id, detail: linked !== undefined && 'ignoredReason' in linked ? linked.ignoredReason : resolved.ignoredReason });
        return ok('ignored');
      }
      customerId = routed.customerId;
      const { type, id } = envelope;
      const stored = await (before ?? deps.store.read(customerId));
      const effects = withUsageEffects(routed, stored, deps.plans ?? {});
      const target = flushTarget(event);
      const after = project(stored, customerId, effects, receivedAt);
      // A payment that lifts a 402 carries its marker in the same write (payment_recovered, docs/alerts.md).
      const recovery = recoveryOf(effects.change, liftedDenial({ before: stored, after, customerId, appliedAt: receivedAt }, { gracePeriodSeconds: deps.gracePeriodSeconds, plans: deps.plans ?? {} }), envelope, receivedAt);
      const update = recovery === undefined ? effects : { ...effects, recovery };
      const accessChanges = accessSignature(stored) !== accessSignature(after);
      // Only an event that opens or closes a standing route flushes: routes sold by use are cached a second
      // at most, and anything else (a renewal in good standing: the month-end wave) leaves every cached decision true.
      const outbox = target !== undefined && changesStandingAccess(stored, after, receivedAt, deps.gracePeriodSeconds) ? deps.flushes.outboxWrite(target) : undefined;
      if (accessChanges && target === undefined) logger.warn('access changed but the request names no api stage: cached decisions expire with the authorizer ttl', { eventId: id });
      const result: ApplyResult = await deps.store.apply({ eventId: id, type, created: envelope.created }, update, {
        ...(outbox === undefined ? {} : { outbox: outbox.write }),
        now: receivedAt,
        forget: forgettable(stored, update, receivedAt),
      });
      recorded = true;
      // The top-up's grant is in (now or by an earlier delivery): its attempt is settled, and the top-up armed again.
      if (update.change.stream === 'credits' && update.change.topUpAttempt !== undefined && result.outcome !== 'stale') {
        await deps.topUps?.paid(customerId, update.change.topUpAttempt, receivedAt);
      }
      // The request is in the outbox with the change: a flush that cannot be made now is the clock's to
      // finish, never a 5xx that would make Stripe deliver (and flush) again.
      const flushed: FlushOutcome | undefined = outbox !== undefined && target !== undefined && result.outcome === 'applied' ? await deps.flushes.settle(target, outbox.changedAt) : undefined;
      if (result.outcome === 'applied' && accessChanges) {
        const flushedAt = flushed === 'flushed' || flushed === 'covered' ? { flushedAt: now() } : {};
        accessChanged?.({ customerId, before: stored, after, eventId: id, type, created: envelope.created, appliedAt: receivedAt, ...flushedAt });
      }
      record(result.outcome, { type, eventId: id, customerId, ...(flushed === undefined ? {} : { detail: `authorizer cache flush: ${flushed}` }) });
      return ok(result.outcome);
    } catch (err) {
      const fields = { type: envelope?.type, eventId: envelope?.id, customerId };
      if (err instanceof WebhookRejection) {
        record('rejected', { ...fields, detail: err.problem });
        return rejected(err);
      }
      const failure = classifyFailure(err);
      if (failure.kind === 'permanent' && envelope !== undefined && raw !== undefined && !recorded && err instanceof Error) {
        return park(envelope, raw, customerId, failure.cause, err, receivedAt);
      }
      logger.error('stripe webhook', { outcome: 'failed', ...fields, detail: 'answering 500 so that stripe retries', error: err as Error });
      record('failed', fields);
      return retryLater();
    }
  };
}

/** 500: Stripe retries the delivery (only 2xx counts as delivered). */
const retryLater = (): APIGatewayProxyResult =>
  problem(500, 'Webhook processing failed', 'the event could not be stored: stripe will retry it', { problem: 'webhook_failed' });

const ok = (outcome: WebhookOutcome, extra: Readonly<Record<string, string>> = {}): APIGatewayProxyResult => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  body: JSON.stringify({ received: true, outcome, ...extra }),
});
