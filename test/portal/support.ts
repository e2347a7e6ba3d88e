import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import Stripe from 'stripe';
import { makePortalHandler, type PortalDeps } from '../../lambda/portal/handler';
import type { IssuanceStore } from '../../lambda/portal/issuance';
import type { PortalBrand } from '../../lambda/portal/brand';
import type { Catalog } from '../../lambda/portal/settings';
import type { Plans } from '../../lambda/shared/customers/usage-view';
import type { FlushTarget } from '../../lambda/shared/ports';
import type { RouteRule } from '../../lambda/shared/requirements';
import { SAMPLE_CATALOG } from '../../lib/config/portal-catalog';
import { billingPortalSessionsResource } from '../../lib/local/stripe-api/billing-portal-sessions';
import { checkoutSessionsResource } from '../../lib/local/stripe-api/checkout-sessions';
import { customersResource } from '../../lib/local/stripe-api/customers';
import { pricesResource } from '../../lib/local/stripe-api/prices';
import { startFakeStripeApi, type FakeStripeApi } from '../../lib/local/stripe-api/server';
import { addPrice, createFakeStripeStore, type FakeStripeStore } from '../../lib/local/stripe-api/store';
import type { TestTables } from '../support/dynamodb';
import { statedProxyEvent } from '../../lib/local/gateway/events';
import { TEST_API } from '../support/events';
import { RecordingFlusher } from '../support/flusher';
import { quietObservability } from '../support/observability';

export const DOMAIN = 'api.example.com';
export const ORIGIN = `https://${DOMAIN}`;
export const STAGE = TEST_API.stage;
export const ROUTES: RouteRule[] = [
  { method: 'GET', path: '/v1/ping', requires: { kind: 'key' } },
  { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
];

/** The sample's usage plans, as the authorizer and the usage route read them. */
export const PLANS: Plans = { pro: { name: 'Pro', overage: 'block' }, sample_metered: { name: 'Metered', quota: 20, overage: 'block' } };

export interface Call {
  readonly body?: string;
  readonly cookies?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  /** @default ORIGIN on POST */
  readonly origin?: string | null;
}

/** The portal's API: its own domain, as a deployment behind a custom domain name. */
const PORTAL_API = { ...TEST_API, domainName: DOMAIN };

export function portalEvent(method: string, resource: string, call: Call = {}): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const origin = call.origin === undefined ? (method === 'POST' ? ORIGIN : null) : call.origin;
  if (origin !== null) headers.Origin = origin;
  if (call.cookies !== undefined) headers.Cookie = Object.entries(call.cookies).map(([k, v]) => `${k}=${v}`).join('; ');
  if (call.body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  const { body, query, pathParameters } = call;
  return statedProxyEvent(PORTAL_API, { method, resource, headers, ...(body === undefined ? {} : { body }), ...(query === undefined ? {} : { query }), ...(pathParameters === undefined ? {} : { pathParameters }) });
}

/** Set-Cookie values of a response, by cookie name. */
export function setCookies(result: APIGatewayProxyResult): Record<string, string> {
  const values = (result.multiValueHeaders?.['Set-Cookie'] ?? []) as string[];
  return Object.fromEntries(values.map((v) => [v.slice(0, v.indexOf('=')), v]));
}
export const cookieValue = (setCookie: string | undefined): string => (setCookie ?? '').slice(setCookie!.indexOf('=') + 1).split(';')[0]!;

export interface PortalHarness {
  readonly handle: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  readonly api: FakeStripeApi;
  readonly store: FakeStripeStore;
  readonly flushes: FlushTarget[];
  close(): Promise<void>;
}

/** The sample's plans and one credit pack. */
export const CATALOG: Catalog = { ...SAMPLE_CATALOG, creditPacks: [{ id: 'credits_100', name: '100 credits', credits: 100, price: 'credits_100' }] };

export async function portalHarness(tables: TestTables, options: { now?: () => Date; issuance?: IssuanceStore; stripe?: boolean; brand?: PortalBrand } = {}): Promise<PortalHarness> {
  const store = createFakeStripeStore({ checkout: (id) => `${ORIGIN}/${STAGE}/tollgate/portal/test-checkout/${id}`, billingPortal: (id) => `https://billing.example/${id}` });
  for (const plan of CATALOG.plans) addPrice(store, { lookupKey: plan.lookupKey, unitAmount: 2000, recurring: true });
  for (const pack of CATALOG.creditPacks) addPrice(store, { lookupKey: pack.price, unitAmount: 1000, recurring: false });
  const api = await startFakeStripeApi({ resources: [customersResource(store), pricesResource(store), checkoutSessionsResource(store), billingPortalSessionsResource(store)] });
  const stripe = new Stripe('sk_test_portal', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
  const flusher = new RecordingFlusher();
  const deps: PortalDeps = {
    settings: { tables: tables.names, routes: ROUTES, gracePeriodSeconds: 3600, catalog: { ...CATALOG, ...(options.brand === undefined ? {} : { brand: options.brand }) }, plans: PLANS, flush: { eventsTable: tables.names.events, cacheTtlSeconds: 300, flushIntervalSeconds: 1 } },
    dynamodb: tables.client,
    stripe: () => Promise.resolve(options.stripe === false ? undefined : stripe),
    sessionSecret: () => Promise.resolve('test-session-secret-0123456789abcdef'),
    flusher,
    assets: { asset: () => Promise.resolve(undefined), document: () => Promise.resolve({ openapi: '3.0.1', paths: {} }) },
    observability: quietObservability(),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.issuance === undefined ? {} : { issuance: options.issuance }),
  };
  return { handle: makePortalHandler(deps), api, store, flushes: flusher.flushes, close: () => api.close() };
}
