import { canonicalJson, createChallenge, encodeRequest, parseCredential, MalformedCredentialError, serializeChallenge, serializeCredential, verifyChallenge } from '../../lambda/shared/agents/mpp';
import { denyOffers, fittingOffers, NO_OFFER_CHALLENGE, packChallenge, type AgentPayments } from '../../lambda/shared/agents/offers';
import { decide } from '../../lambda/shared/customers/standing';
import { agentPaymentsOf } from '../../lib/config/agents';
import { loadConfig } from '../../lib/config/tollgate-config';
import type { PaymentReason } from '../../lambda/shared/problems';
import type { RouteRule } from '../../lambda/shared/requirements';
import { parseChallenges } from './support';

const SETTINGS: AgentPayments = {
  realm: 'tollgate',
  networkId: 'profile_test',
  paymentMethodTypes: ['card', 'link'],
  packs: [
    { id: 'credits_100', name: '100 credits', credits: 100, amount: 1000, currency: 'usd' },
    { id: 'credits_1k', name: '1000 credits', credits: 1000, amount: 8000, currency: 'usd' },
  ],
  plans: [{ id: 'pro', name: 'Pro' }],
  denyChallengeSeconds: 300 + 900,
};
const SEARCH: RouteRule = { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } };
const RENDER: RouteRule = { method: 'POST', path: '/v1/render', requires: { kind: 'entitlement', lookupKey: 'render' }, usage: { cost: 5, strict: true } };
const QUOTES: RouteRule = { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } };
const REPORTS: RouteRule = { method: 'GET', path: '/v1/reports/{id}', requires: { kind: 'entitlement', lookupKey: 'reports' } };
const AT = new Date('2026-12-06T12:00:00Z');

describe('the offers that fit a 402', () => {
  const kinds = (reason: PaymentReason, denied: RouteRule[]): string[] => {
    const fit = fittingOffers(SETTINGS, reason, denied);
    return [...fit.packs.map((p) => `pack:${p.id}`), ...fit.plans.map((p) => `plan:${p.id}`)];
  };

  it.each([
    ['credits_exhausted', [SEARCH], ['pack:credits_100', 'pack:credits_1k']],
    ['credits_exhausted', [RENDER], ['pack:credits_100', 'pack:credits_1k']],
    ['quota_exceeded', [SEARCH], ['pack:credits_100', 'pack:credits_1k']],
    ['no_subscription', [SEARCH], ['pack:credits_100', 'pack:credits_1k']],
    ['no_subscription', [QUOTES], ['plan:pro']],
    ['no_subscription', [QUOTES, REPORTS], ['plan:pro']],
    ['subscription_canceled', [QUOTES], ['plan:pro']],
    ['upgrade_required', [REPORTS], ['plan:pro']],
    // Credits never stand in for an entitlement.
    ['upgrade_required', [RENDER], ['plan:pro']],
    // Fixed at the invoice, not by buying anything.
    ['payment_failed', [QUOTES], []],
    ['payment_action_required', [QUOTES], []],
  ].map(([reason, denied, expected]) => [reason, (denied as RouteRule[]).map((r) => r.path).join(' + '), denied, expected]) as Array<[PaymentReason, string, RouteRule[], string[]]>)('%s on %s offers %j', (reason, _paths, denied, expected) => {
    expect(kinds(reason, denied)).toEqual(expected);
  });

  it('offers nothing when nothing is denied', () => {
    expect(fittingOffers(SETTINGS, undefined, [])).toEqual({ packs: [], plans: [] });
  });

  it("builds the Deny's context: offers as a JSON literal with purchase URLs, one challenge per pack expiring when asked", () => {
    const expiresAt = new Date(AT.getTime() + SETTINGS.denyChallengeSeconds * 1000);
    const context = denyOffers(SETTINGS, { reason: 'credits_exhausted', denied: [SEARCH], domainName: 'api.example.com', stage: 'prod', secret: 's3cret', expiresAt });
    expect(JSON.parse(context.offers)).toEqual([
      { id: 'credits_100', kind: 'credits', name: '100 credits', credits: 100, amount: '1000', currency: 'usd', protocols: ['mpp'], purchaseUrl: 'https://api.example.com/prod/tollgate/purchase?offer=credits_100' },
      { id: 'credits_1k', kind: 'credits', name: '1000 credits', credits: 1000, amount: '8000', currency: 'usd', protocols: ['mpp'], purchaseUrl: 'https://api.example.com/prod/tollgate/purchase?offer=credits_1k' },
    ]);
    const challenges = parseChallenges(context.wwwAuthenticate);
    expect(challenges.map((c) => c.request.externalId)).toEqual(['credits_100', 'credits_1k']);
    expect(challenges.every((c) => c.expires === '2026-12-06T12:20:00.000Z' && verifyChallenge('s3cret', c))).toBe(true);
    // An unpriced plan's offer points where a person subscribes: no challenge sells it.
    const plan = denyOffers(SETTINGS, { reason: 'no_subscription', denied: [QUOTES], paymentUrl: 'https://checkout.example.com', secret: 's3cret', expiresAt });
    expect(JSON.parse(plan.offers)).toEqual([{ id: 'pro', kind: 'plan', name: 'Pro', protocols: ['checkout'], url: 'https://checkout.example.com' }]);
    expect(plan.wwwAuthenticate).toBe(NO_OFFER_CHALLENGE);
  });

  it('still lists the offers when the secret could not be read, without a challenge', () => {
    const context = denyOffers(SETTINGS, { reason: 'credits_exhausted', denied: [SEARCH], secret: undefined, expiresAt: AT });
    expect(JSON.parse(context.offers)).toHaveLength(2);
    expect(context.wwwAuthenticate).toBe(NO_OFFER_CHALLENGE);
  });
});

describe('plans sold over the protocols', () => {
  const SOLD: AgentPayments = { ...SETTINGS, plans: [{ id: 'pro', name: 'Pro', amount: 2000, currency: 'usd', days: 30 }, { id: 'team', name: 'Team' }] };
  const expiresAt = new Date(AT.getTime() + 60_000);

  it('offers a sold plan over MPP on a subscription route denied for standing: a challenge, its price and period, its purchase URL; the unpriced plan stays checkout only', () => {
    const context = denyOffers(SOLD, { reason: 'no_subscription', denied: [QUOTES], paymentUrl: 'https://checkout.example.com', domainName: 'api.example.com', stage: 'prod', secret: 's3cret', expiresAt });
    expect(JSON.parse(context.offers)).toEqual([
      { id: 'pro', kind: 'plan', name: 'Pro', amount: '2000', currency: 'usd', days: 30, protocols: ['mpp', 'checkout'], purchaseUrl: 'https://api.example.com/prod/tollgate/purchase?offer=pro', url: 'https://checkout.example.com' },
      { id: 'team', kind: 'plan', name: 'Team', protocols: ['checkout'], url: 'https://checkout.example.com' },
    ]);
    const challenges = parseChallenges(context.wwwAuthenticate);
    expect(challenges.map((c) => c.request)).toEqual([expect.objectContaining({ amount: '2000', currency: 'usd', externalId: 'pro', description: 'Pro' })]);
    expect(verifyChallenge('s3cret', challenges[0]!)).toBe(true);
  });

  it('does not sell a plan over a protocol for a missing entitlement (upgrade_required): its standing would not open the route', () => {
    const context = denyOffers(SOLD, { reason: 'upgrade_required', denied: [REPORTS], paymentUrl: 'https://checkout.example.com', domainName: 'api.example.com', stage: 'prod', secret: 's3cret', expiresAt });
    expect(JSON.parse(context.offers).map((o: { protocols: string[] }) => o.protocols)).toEqual([['checkout'], ['checkout']]);
    expect(context.wwwAuthenticate).toBe(NO_OFFER_CHALLENGE);
  });

  it("grants the plan's standing for its period only: allowed until the period ends, then 402 subscription_canceled (a payment does not renew)", () => {
    const end = Math.floor(AT.getTime() / 1000) + 30 * 86_400;
    const customer = {
      customerId: 'cus_agent',
      subscriptions: { agent_01796558400_x: { status: 'canceled' as const, plan: 'pro', cancelAtPeriodEnd: true, currentPeriodStart: end - 30 * 86_400, currentPeriodEnd: end, watermark: `${end}:0:mpp#x` } },
      invoices: {},
      pastDue: {},
    };
    const settings = { gracePeriodSeconds: 0, plans: { pro: { name: 'Pro', overage: 'block' as const } } };
    expect(decide(customer, [QUOTES], new Date((end - 1) * 1000), settings).verdicts[0]!.allow).toBe(true);
    const after = decide(customer, [QUOTES], new Date((end + 1) * 1000), settings);
    expect({ allow: after.verdicts[0]!.allow, reason: after.reason }).toEqual({ allow: false, reason: 'subscription_canceled' });
    // The ended plan is offered again.
    expect(fittingOffers(SOLD, after.reason, [QUOTES]).plans.map((p) => p.id)).toEqual(['pro', 'team']);
  });
});

describe('tollgate:agentPayments.plans', () => {
  const load = (plans: unknown, packs: unknown = []) =>
    loadConfig((key) => ({ 'tollgate:plans': { pro: { name: 'Pro' } }, 'tollgate:creditPacks': packs, 'tollgate:agentPayments': { mpp: { networkId: 'profile_test' }, plans } })[key]);

  it('prices plans of tollgate:plans for agents, 30 days a payment unless told', () => {
    expect(load({ pro: { amount: 2000, currency: 'usd' } }).agentPayments?.plans).toEqual({ pro: { amount: 2000, currency: 'usd', days: 30 } });
    expect(agentPaymentsOf(load({ pro: { amount: 2000, currency: 'usd', days: 7 } }))?.plans).toEqual([{ id: 'pro', name: 'Pro', amount: 2000, currency: 'usd', days: 7 }]);
  });

  it.each([
    [{ pro: { amount: 0, currency: 'usd' } }, /pro\.amount is 0/],
    [{ pro: { amount: 1, currency: 'USD' } }, /pro\.currency is "USD"/],
    [{ pro: { amount: 1, currency: 'usd', days: 0 } }, /pro\.days is 0/],
    [{ pro: { amount: 1, currency: 'usd', renew: true } }, /unknown field "renew"/],
  ])('refuses %j', (plans, message) => {
    expect(() => load(plans)).toThrow(message);
  });

  it("carries a pack's lifetime to the packs sold to agents, so their grant expires as a Checkout purchase's does", () => {
    const packs = [
      { id: 'credits_100', name: '100 credits', credits: 100, price: 'credits_100', amount: 1000, currency: 'usd', expiresIn: '90d' },
      { id: 'credits_500', name: '500 credits', credits: 500, price: 'credits_500', amount: 4000, currency: 'usd' },
    ];
    expect(agentPaymentsOf(load({}, packs))?.packs).toEqual([
      { id: 'credits_100', name: '100 credits', credits: 100, amount: 1000, currency: 'usd', expiresIn: '90d' },
      { id: 'credits_500', name: '500 credits', credits: 500, amount: 4000, currency: 'usd' },
    ]);
  });

  it('sells nothing for a price of a plan tollgate:plans does not declare (plans replaced with -c keep the rest working)', () => {
    expect(agentPaymentsOf(load({ team: { amount: 1, currency: 'usd' } }))?.plans).toEqual([{ id: 'pro', name: 'Pro' }]);
  });

  it('refuses a sold plan whose key is also a pack id: an offer id names one thing', () => {
    expect(() => load({ pro: { amount: 1, currency: 'usd' } }, [{ id: 'pro', name: 'Pro credits', credits: 10, price: 'pro_credits' }])).toThrow(/has the id of a credit pack/);
  });
});

describe('the MPP wire format', () => {
  const challenge = packChallenge('s3cret', SETTINGS, SETTINGS.packs[0]!, AT);

  it('binds the id to every field: any change of realm, request, expires or header fails verification', () => {
    expect(verifyChallenge('s3cret', challenge)).toBe(true);
    expect(verifyChallenge('other', challenge)).toBe(false);
    for (const altered of [
      { ...challenge, realm: 'other' },
      { ...challenge, request: { ...challenge.request, amount: '1' } },
      { ...challenge, expires: '2030-01-01T00:00:00.000Z' },
      { ...challenge, header: 'Payment-Authorization' },
      { ...challenge, id: challenge.id.slice(1) },
    ]) {
      expect(verifyChallenge('s3cret', altered)).toBe(false);
    }
  });

  it('encodes the request as base64url JCS (sorted keys, no padding) and quotes parameters in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 'x'], c: true } })).toBe('{"a":{"c":true,"d":[2,"x"]},"b":1}');
    expect(encodeRequest({ b: '1', a: '2' })).toBe(Buffer.from('{"a":"2","b":"1"}').toString('base64url'));
    const header = serializeChallenge(createChallenge('k', { realm: 'r', method: 'stripe', intent: 'charge', request: { a: '1' }, description: 'say "hi"', expires: AT.toISOString(), header: 'Payment-Authorization' }));
    expect(header).toMatch(/^Payment id="[A-Za-z0-9_-]{43}", realm="r", method="stripe", intent="charge", request="eyJhIjoiMSJ9", description="say \\"hi\\"", expires="2026-12-06T12:00:00.000Z", header="Payment-Authorization"$/);
  });

  it('round-trips a credential, and refuses malformed ones with a reason', () => {
    const credential = { challenge, payload: { spt: 'spt_test_1' } };
    expect(parseCredential(serializeCredential(credential))).toEqual(credential);
    for (const bad of ['Bearer x', 'Payment !!!', `Payment ${Buffer.from('[]').toString('base64url')}`, `Payment ${Buffer.from('{"challenge":{},"payload":{}}').toString('base64url')}`, `Payment ${'A'.repeat(9000)}`]) {
      expect(() => parseCredential(bad)).toThrow(MalformedCredentialError);
    }
  });
});
