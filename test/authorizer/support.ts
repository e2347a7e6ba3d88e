import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { CustomerRecord, SubscriptionStatus, UsageBlock } from '../../lambda/shared/customers/record';
import type { RouteRule } from '../../lambda/shared/requirements';
import type { AuthorizerSettings } from '../../lambda/shared/settings';
import { statedAuthorizerEvent } from '../../lib/local/gateway/events';
import { TEST_API, TEST_API_ARN } from '../support/events';

export const BASE = TEST_API_ARN;

export const ROUTES: RouteRule[] = [
  { method: 'GET', path: '/v1/ping', requires: { kind: 'key' } },
  { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
  { method: 'GET', path: '/v1/reports/{reportId}', requires: { kind: 'entitlement', lookupKey: 'premium-reports' } },
];

export const settingsFor = (customersTable: string): AuthorizerSettings => ({
  customersTable,
  routes: ROUTES,
  gracePeriodSeconds: 72 * 3600,
  checkoutUrl: 'https://pay.example/checkout',
  portalUrl: 'https://billing.example/portal',
});

/** The REQUEST authorizer event API Gateway sends for a call of `method` on `path`, matched to `resource`. */
export function requestEvent(
  call: { readonly method: string; readonly resource: string; readonly path: string; readonly pathParameters?: Record<string, string> },
  headers: Record<string, string> | null,
): APIGatewayRequestAuthorizerEvent {
  const event = statedAuthorizerEvent(TEST_API, { ...call, ...(headers === null ? {} : { headers }) });
  return headers === null ? { ...event, headers: null, multiValueHeaders: null } : event;
}

/** The event for one of ROUTES, by name. */
export function authorizerEvent(route: 'ping' | 'quotes' | 'reports', headers: Record<string, string> | null): APIGatewayRequestAuthorizerEvent {
  if (route === 'reports') return requestEvent({ method: 'GET', resource: '/v1/reports/{reportId}', path: '/v1/reports/r1', pathParameters: { reportId: 'r1' } }, headers);
  const path = route === 'ping' ? '/v1/ping' : '/v1/quotes';
  return requestEvent({ method: 'GET', resource: path, path }, headers);
}

/** The event for a static route (its path is its resource). */
export const routeEvent = (route: RouteRule, headers: Record<string, string> | null): APIGatewayRequestAuthorizerEvent =>
  requestEvent({ method: route.method, resource: route.path, path: route.path }, headers);

export const bearer = (key: string): Record<string, string> => ({ Authorization: `Bearer ${key}` });

/** A customer with at most one subscription, stated flat as tables of cases state it. */
export interface OneSubscription {
  readonly subscriptionStatus?: SubscriptionStatus;
  readonly plan?: string;
  readonly cancelAtPeriodEnd?: boolean;
  readonly currentPeriodEnd?: number;
  /** When the subscription's open invoice fell due. */
  readonly pastDueSince?: number;
  readonly paymentActionRequired?: boolean;
  readonly paymentUrl?: string;
  readonly entitlements?: readonly string[];
  readonly usageBlock?: UsageBlock;
  readonly topUp?: CustomerRecord['topUp'];
  readonly deleted?: boolean;
}

export const TEST_SUBSCRIPTION = 'sub_1TestSubscription';

/**
 * The record of such a customer. A past_due subscription's events first showed it at `pastDueObservedAt`
 * (the decision time in these tables: a fresh delinquency unless its invoice says it is older).
 */
export function oneSubscription(customerId: string, fields: OneSubscription, pastDueObservedAt: number): CustomerRecord {
  const { subscriptionStatus: status, plan, cancelAtPeriodEnd, currentPeriodEnd, pastDueSince, paymentActionRequired, paymentUrl, ...customer } = fields;
  const id = TEST_SUBSCRIPTION;
  const watermark = '01780000000:3:evt_seed';
  const invoice = { pastDueSince, paymentActionRequired, paymentUrl };
  const hasInvoice = Object.values(invoice).some((v) => v !== undefined);
  return {
    customerId,
    ...customer,
    subscriptions: status === undefined ? {} : { [id]: { status, plan, cancelAtPeriodEnd, currentPeriodEnd, watermark } },
    invoices: status === undefined || !hasInvoice ? {} : { [id]: { invoiceId: 'in_1TestInvoice', watermark, ...invoice } },
    pastDue: status === 'past_due' ? { [id]: pastDueObservedAt } : {},
  };
}

/** The item attributes of a record, as the webhook stores them (undefined values left out). */
export function itemOf(record: CustomerRecord): Record<string, unknown> {
  const { apiKeys: _keys, ...item } = record;
  return JSON.parse(JSON.stringify(item)) as Record<string, unknown>;
}
