import { decide } from '../../lambda/shared/customers/standing';
import { PAYMENT_PROBLEMS, PAYMENT_REASONS, type PaymentReason } from '../../lambda/shared/problems';
import { buildGatewayResponses, type GatewayResponse } from '../../lib/openapi/gateway-responses';
import { renderGatewayResponse } from '../../lib/openapi/render';
import { synth } from '../support/synth';
import type { CustomerRecord } from '../../lambda/shared/customers/record';
import type { RouteRule } from '../../lambda/shared/requirements';
import { oneSubscription, ROUTES, type OneSubscription } from './support';

const NOW = new Date('2026-08-01T12:00:00Z');
const T = NOW.getTime() / 1000;
const DOCS = 'https://docs.example/problems';
const INVOICE_URL = 'https://invoice.stripe.com/i/acct_1/test_inv';
const SETTINGS = { gracePeriodSeconds: 72 * 3600, checkoutUrl: 'https://pay.example/checkout', portalUrl: 'https://billing.example/portal' };

/** A customer whose standing yields each reason (a budget stops routes sold by use only: DERIVED below). */
const STATES: Record<Exclude<PaymentReason, 'budget_exceeded'>, OneSubscription> = {
  no_subscription: {},
  subscription_canceled: { subscriptionStatus: 'canceled' },
  payment_failed: { subscriptionStatus: 'unpaid', paymentUrl: INVOICE_URL },
  payment_action_required: { subscriptionStatus: 'incomplete', paymentUrl: INVOICE_URL },
  trial_ended: { subscriptionStatus: 'paused' },
  upgrade_required: { subscriptionStatus: 'active', entitlements: [], plan: 'starter' },
  credits_exhausted: { subscriptionStatus: 'active', usageBlock: 'credits_exhausted' },
  quota_exceeded: { subscriptionStatus: 'active', usageBlock: 'quota_exceeded' },
  top_up_failed: { subscriptionStatus: 'active', usageBlock: 'credits_exhausted', topUp: { state: 'failed', failure: 'card_declined' } },
};
const EXPECTED_URL: Record<PaymentReason, string> = {
  no_subscription: SETTINGS.checkoutUrl,
  subscription_canceled: SETTINGS.checkoutUrl,
  payment_failed: INVOICE_URL,
  payment_action_required: INVOICE_URL,
  trial_ended: SETTINGS.portalUrl,
  upgrade_required: SETTINGS.portalUrl,
  credits_exhausted: SETTINGS.portalUrl,
  quota_exceeded: SETTINGS.portalUrl,
  top_up_failed: SETTINGS.portalUrl,
  budget_exceeded: SETTINGS.portalUrl,
};
const DAY_END = Math.ceil(T / 86_400) * 86_400;

const PERIOD_END = T + 86_400;
const SEARCH: RouteRule = { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } };
const PLANS = { sample_metered: { name: 'Metered', quota: 20, overage: 'block' as const } };
/** The usage reasons as the authorizer derives them (not the set-usage flag): a cost route, the plan's counter, the balance. */
const DERIVED: Partial<Record<PaymentReason, { record: CustomerRecord; usage: Record<string, unknown> }>> = {
  quota_exceeded: {
    record: { ...oneSubscription('cus_Render1', { subscriptionStatus: 'active', plan: 'sample_metered', currentPeriodEnd: PERIOD_END }, T), periodUsed: 20, usagePeriodEnd: PERIOD_END },
    usage: { limit: 20, used: 20, resetsAt: new Date(PERIOD_END * 1000).toISOString(), balance: null },
  },
  credits_exhausted: {
    record: { ...oneSubscription('cus_Render1', {}, T), credits: 0 },
    usage: { limit: null, used: null, resetsAt: null, balance: 0 },
  },
  budget_exceeded: {
    record: {
      ...oneSubscription('cus_Render1', { subscriptionStatus: 'active', plan: 'sample_metered', currentPeriodEnd: PERIOD_END }, T),
      budgets: { '*': { limit: 5, window: 'day', resetsAt: DAY_END } },
      budgetLeft: 0,
    },
    usage: { limit: 5, used: 5, resetsAt: new Date(DAY_END * 1000).toISOString(), balance: null },
  },
};
const derivedOnly = (reason: PaymentReason): reason is 'budget_exceeded' => !Object.hasOwn(STATES, reason);

/** `$context.authorizer.*` variables as API Gateway exposes a Deny's context. */
function variablesFor(reason: PaymentReason, derived: boolean): Record<string, string | number | boolean> {
  const usage = DERIVED[reason];
  const decision =
    derived && usage !== undefined
      ? decide(usage.record, [SEARCH], NOW, { ...SETTINGS, plans: PLANS })
      : decide(oneSubscription('cus_Render1', { pastDueSince: T, ...STATES[reason as keyof typeof STATES] }, T), ROUTES, NOW, SETTINGS);
  expect(decision.reason).toBe(reason);
  return {
    ...Object.fromEntries(Object.entries(decision.context).map(([k, v]) => [`context.authorizer.${k}`, v])),
    'context.requestId': 'req-42',
  };
}

function expectProblem(response: Partial<GatewayResponse> | undefined, reason: PaymentReason, docs: string, asked = false): void {
  const derived = asked || derivedOnly(reason);
  const rendered = renderGatewayResponse(response, 403, variablesFor(reason, derived));
  expect(rendered.statusCode).toBe(402);
  expect(rendered.headers['Content-Type']).toBe('application/problem+json');
  expect(rendered.headers['Cache-Control']).toBe('no-store');
  expect(rendered.headers['Access-Control-Allow-Origin']).toBeDefined();
  expect(JSON.parse(rendered.body)).toEqual({
    type: `${docs}/${reason}`,
    title: PAYMENT_PROBLEMS[reason].title,
    status: 402,
    detail: PAYMENT_PROBLEMS[reason].detail,
    reason,
    subscriptionStatus: derived ? (reason === 'credits_exhausted' ? 'none' : 'active') : (STATES[reason].subscriptionStatus ?? 'none'),
    paymentUrl: EXPECTED_URL[reason],
    // The usage fields are valid JSON for every reason: values where they apply, null where they do not.
    ...(derived ? DERIVED[reason]!.usage : { limit: null, used: null, resetsAt: null, balance: reason === 'credits_exhausted' || reason === 'top_up_failed' ? 0 : null }),
    requestId: 'req-42',
  });
}

describe('the 402 gateway response rendered with the authorizer context', () => {
  const built = buildGatewayResponses({ docsBaseUrl: DOCS, corsAllowOrigin: '*' });

  it.each(PAYMENT_REASONS.map((r) => [r]))('renders the documented problem+json for %s (builder output)', (reason) => {
    expectProblem(built.ACCESS_DENIED, reason, DOCS);
  });

  it.each(['quota_exceeded', 'credits_exhausted'] as const)('renders %s from a plan counter or a balance with its usage fields (builder output)', (reason) => {
    expectProblem(built.ACCESS_DENIED, reason, DOCS, true);
  });

  it('renders the documented problem+json for every reason from the synthesized template', () => {
    // Without offers to agents: test/agents/gateway-responses.test.ts renders those.
    const { template } = synth({ 'tollgate:docsBaseUrl': DOCS, 'tollgate:agentPayments': null });
    const apis = template.findResources('AWS::ApiGateway::RestApi');
    const body = Object.values(apis)[0]!.Properties.Body as Record<string, Record<string, GatewayResponse>>;
    const accessDenied = body['x-amazon-apigateway-gateway-responses']!.ACCESS_DENIED;
    for (const reason of PAYMENT_REASONS) expectProblem(accessDenied, reason, DOCS);
    expectProblem(accessDenied, 'quota_exceeded', DOCS, true);
    expectProblem(accessDenied, 'credits_exhausted', DOCS, true);
  });
});
