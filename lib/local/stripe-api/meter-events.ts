import type Stripe from 'stripe';
import { ok, stripeError, type FakeRequest, type FakeResponse, type Resource } from './server';

/**
 * `POST /v1/billing/meter_events` (Stripe Billing Meters v1). Like Stripe it de-duplicates on
 * `identifier` within 24 h (a repeat is answered with the event first recorded and adds nothing), and
 * rejects an event for a meter it does not know or a customer it does not know (when told which exist)
 * with a 400. The v2 meter event stream (meter-event-stream.ts), which tollgate's metering reports
 * through, records its events here too (`record`), so one ledger of events answers for both.
 */

export const METER_EVENT_DEDUP_SECONDS = 24 * 60 * 60;

export interface FakeMeterEventsOptions {
  /** Meter event names that exist. @default - any */
  readonly meters?: readonly string[];
  /** Customers that exist. @default - any `cus_…` */
  readonly customerExists?: (customerId: string) => boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface FakeMeterEvents extends Resource {
  /** Every event recorded, once per identifier, in order. */
  events(): readonly Stripe.Billing.MeterEvent[];
  /** Sum of `value` per customer and meter event name (`${customer} ${event_name}`). */
  totals(): ReadonlyMap<string, number>;
  /** Requests answered with the already-recorded event (de-duplicated on identifier). */
  readonly duplicates: number;
  /** Checks and records one event as Stripe would; a duplicate identifier adds nothing. */
  record(params: Stripe.Billing.MeterEventCreateParams): Recorded;
}

export type Recorded =
  | { readonly outcome: 'recorded' | 'duplicate'; readonly event: Stripe.Billing.MeterEvent }
  | { readonly outcome: 'refused'; readonly message: string; readonly extra: Record<string, unknown> };

/** The SDK's create params, checked: what a wrong shape would be answered by Stripe. */
function readParams(body: Record<string, unknown>): Stripe.Billing.MeterEventCreateParams | string {
  const { event_name, payload, identifier, timestamp } = body;
  if (typeof event_name !== 'string' || event_name === '') return 'Missing required param: event_name.';
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return 'Missing required param: payload.';
  const entries = Object.entries(payload as Record<string, unknown>);
  if (!entries.every((entry): entry is [string, string] => typeof entry[1] === 'string')) return 'Invalid payload: values must be strings.';
  if (identifier !== undefined && (typeof identifier !== 'string' || identifier.length > 100)) return 'Invalid identifier: at most 100 characters.';
  if (timestamp !== undefined && (typeof timestamp !== 'string' || !/^\d+$/.test(timestamp))) return 'Invalid timestamp: an integer.';
  return {
    event_name,
    payload: Object.fromEntries(entries),
    ...(identifier === undefined ? {} : { identifier: identifier }),
    ...(timestamp === undefined ? {} : { timestamp: Number(timestamp) }),
  };
}

export function fakeMeterEvents(options: FakeMeterEventsOptions = {}): FakeMeterEvents {
  const now = options.now ?? Date.now;
  const recorded: Stripe.Billing.MeterEvent[] = [];
  const byIdentifier = new Map<string, Stripe.Billing.MeterEvent>();
  let duplicates = 0;
  let sequence = 0;

  const refused = (message: string, extra: Record<string, unknown>): Recorded => ({ outcome: 'refused', message, extra });

  const record = (params: Stripe.Billing.MeterEventCreateParams): Recorded => {
    const nowS = Math.floor(now() / 1000);
    const identifier = params.identifier ?? `fake_${nowS}_${sequence++}`;
    const earlier = byIdentifier.get(identifier);
    if (earlier !== undefined && nowS - earlier.created < METER_EVENT_DEDUP_SECONDS) {
      duplicates += 1;
      return { outcome: 'duplicate', event: earlier };
    }
    if (options.meters !== undefined && !options.meters.includes(params.event_name)) {
      return refused(`No active meter was found for event_name "${params.event_name}".`, { param: 'event_name' });
    }
    const customer = params.payload.stripe_customer_id;
    if (customer === undefined || !/^cus_\w+$/.test(customer) || (options.customerExists !== undefined && !options.customerExists(customer))) {
      return refused(`No such customer: '${customer ?? ''}'`, { code: 'resource_missing', param: 'payload[stripe_customer_id]' });
    }
    const value = params.payload.value;
    if (value === undefined || !/^-?\d+(\.\d+)?$/.test(value)) {
      return refused('payload[value] must be a number.', { param: 'payload[value]' });
    }
    const timestamp = params.timestamp ?? nowS;
    if (timestamp < nowS - 35 * 24 * 60 * 60 || timestamp > nowS + 5 * 60) {
      return refused('Timestamp must be within the past 35 days and at most 5 minutes in the future.', { param: 'timestamp' });
    }
    const event: Stripe.Billing.MeterEvent = {
      object: 'billing.meter_event',
      created: nowS,
      event_name: params.event_name,
      identifier,
      livemode: false,
      payload: params.payload,
      timestamp,
    };
    recorded.push(event);
    byIdentifier.set(identifier, event);
    return { outcome: 'recorded', event };
  };

  const create = (request: FakeRequest): FakeResponse => {
    const params = readParams(request.body);
    if (typeof params === 'string') return stripeError(400, 'invalid_request_error', params, { code: 'parameter_missing' });
    const result = record(params);
    return result.outcome === 'refused' ? stripeError(400, 'invalid_request_error', result.message, result.extra) : ok(result.event);
  };

  return {
    routes: [{ method: 'POST', pattern: /\/v1\/billing\/meter_events/, handle: create }],
    events: () => recorded,
    totals: () => {
      const totals = new Map<string, number>();
      for (const e of recorded) {
        const key = `${e.payload.stripe_customer_id} ${e.event_name}`;
        totals.set(key, (totals.get(key) ?? 0) + Number(e.payload.value));
      }
      return totals;
    },
    get duplicates() {
      return duplicates;
    },
    record,
  };
}
