import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import type { FakeMeterEvents } from './meter-events';
import { ok, stripeError, type FakeRequest, type FakeResponse, type Resource } from './server';
import { fakeId } from './store';

/**
 * Stripe's v2 meter event stream, as tollgate's metering reports billed units:
 *
 * - `POST /v2/billing/meter_event_session` (the API key) answers a session whose
 *   `authentication_token` is valid 15 minutes;
 * - `POST /v2/billing/meter_event_stream` (on meter-events.stripe.com; the SDK sends it to the same host
 *   when one is configured) takes up to 100 events, JSON, authenticated with that token. An expired or
 *   unknown token is a 401 `temporary_session_expired`; a malformed request, or an event dated more than
 *   35 days back or 5 minutes ahead, is a 400 for the whole request. Accepted events are recorded in the
 *   meter events' ledger (meter-events.ts), de-duplicated by identifier within 24 h. An event for a meter
 *   or customer Stripe does not know is accepted and dropped, and shows up in `errorReports()`, as Stripe
 *   validates stream events after answering (and reports them as `v1.billing.meter.error_report_triggered`).
 *
 * Request and response are the SDK's own types, so a shape the SDK would not send or accept does not compile.
 */

type StreamParams = Parameters<Stripe['v2']['billing']['meterEventStream']['create']>[0];
type StreamEvent = StreamParams['events'][number];

export const SESSION_SECONDS = 15 * 60;
const MAX_EVENTS = 100;
const DAY = 24 * 60 * 60;

export interface FakeMeterEventStreamOptions {
  /** @default Date.now (epoch ms); the meter events' own clock should be the same */
  readonly now?: () => number;
  /** @default SESSION_SECONDS */
  readonly sessionSeconds?: number;
}

export interface FakeMeterEventStream extends Resource {
  /** Sessions created, in order. */
  sessions(): readonly Stripe.V2.Billing.MeterEventSession[];
  /** Stream requests accepted, with their event counts. */
  readonly batches: readonly number[];
  /** Events accepted but dropped by Stripe's later validation (what error_report_triggered would carry). */
  errorReports(): ReadonlyArray<{ readonly event: StreamEvent; readonly message: string }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request as the SDK sends it, checked; a string is what Stripe would answer with a 400. */
function readStream(body: Record<string, unknown>): StreamParams | string {
  const { events } = body;
  if (!Array.isArray(events) || events.length === 0) return 'events must be a non-empty array.';
  if (events.length > MAX_EVENTS) return `events supports at most ${MAX_EVENTS} events per request.`;
  for (const [i, e] of events.entries()) {
    if (!isObject(e) || typeof e.event_name !== 'string' || e.event_name === '') return `events[${i}].event_name is required.`;
    if (!isObject(e.payload) || !Object.values(e.payload).every((v) => typeof v === 'string')) return `events[${i}].payload must map keys to strings.`;
    if (e.identifier !== undefined && (typeof e.identifier !== 'string' || e.identifier.length > 100)) return `events[${i}].identifier must be at most 100 characters.`;
    if (e.timestamp !== undefined && (typeof e.timestamp !== 'string' || Number.isNaN(Date.parse(e.timestamp)))) return `events[${i}].timestamp must be an RFC 3339 timestamp.`;
  }
  return { events: events as StreamEvent[] };
}

export function fakeMeterEventStream(meterEvents: FakeMeterEvents, options: FakeMeterEventStreamOptions = {}): FakeMeterEventStream {
  const now = options.now ?? Date.now;
  const lifetime = options.sessionSeconds ?? SESSION_SECONDS;
  const created: Stripe.V2.Billing.MeterEventSession[] = [];
  /** Token → expiry (epoch ms). */
  const tokens = new Map<string, number>();
  const batches: number[] = [];
  const errors: Array<{ event: StreamEvent; message: string }> = [];

  const createSession = (request: FakeRequest): FakeResponse => {
    if (!request.apiKey.startsWith('sk_') && !request.apiKey.startsWith('rk_')) return stripeError(401, 'authentication_error', 'A meter event session needs an API key.');
    const at = now();
    const session: Stripe.V2.Billing.MeterEventSession = {
      id: fakeId('mes'),
      object: 'v2.billing.meter_event_session',
      authentication_token: `mes_token_${randomBytes(12).toString('hex')}`,
      created: new Date(at).toISOString(),
      expires_at: new Date(at + lifetime * 1000).toISOString(),
      livemode: false,
    };
    created.push(session);
    tokens.set(session.authentication_token, at + lifetime * 1000);
    return ok(session);
  };

  const stream = (request: FakeRequest): FakeResponse => {
    const expiresAt = tokens.get(request.apiKey);
    if (expiresAt === undefined || expiresAt <= now()) {
      return stripeError(401, 'temporary_session_expired', 'The meter event session has expired: create a new one.', { code: 'billing_meter_event_session_expired' });
    }
    const params = readStream(request.body);
    if (typeof params === 'string') return stripeError(400, 'invalid_request_error', params, { code: 'invalid_fields' });
    const nowS = Math.floor(now() / 1000);
    const epoch = params.events.map((e) => (e.timestamp === undefined ? nowS : Math.floor(Date.parse(e.timestamp) / 1000)));
    const late = epoch.findIndex((t) => t < nowS - 35 * DAY || t > nowS + 5 * 60);
    if (late >= 0) return stripeError(400, 'invalid_request_error', `events[${late}].timestamp must be within the past 35 days and at most 5 minutes in the future.`, { code: 'invalid_fields' });
    params.events.forEach((event, i) => {
      const result = meterEvents.record({ event_name: event.event_name, payload: event.payload, timestamp: epoch[i]!, ...(event.identifier === undefined ? {} : { identifier: event.identifier }) });
      if (result.outcome === 'refused') errors.push({ event, message: result.message });
    });
    batches.push(params.events.length);
    return ok({});
  };

  return {
    routes: [
      { method: 'POST', pattern: /\/v2\/billing\/meter_event_session/, handle: createSession },
      { method: 'POST', pattern: /\/v2\/billing\/meter_event_stream/, handle: stream },
    ],
    sessions: () => created,
    batches,
    errorReports: () => errors,
  };
}
