import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import Stripe from 'stripe';
import {
  buildStripeEvent,
  checkoutSessionObject,
  deletedCustomerObject,
  entitlementSummaryObject,
  HANDLED_EVENT_TYPES,
  invoiceObject,
  serializeEvent,
  signPayload,
  subscriptionObject,
} from '../../lib/stripe-events';

// Stripe-authored fixtures live beside the project, not in it: users' clones do not have them.
const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures/stripe/openapi-fixtures3');
const haveFixtures = existsSync(FIXTURES);
if (!haveFixtures) {
  console.warn(`stripe fixtures not found at ../shared/fixtures/stripe: skipping the shape comparison`);
}
const fixture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));

type Json = Record<string, unknown>;
const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * Every field the builder writes exists in Stripe's fixture with the same JSON type (null on either
 * side matches anything: Stripe's nullable fields), recursively through objects and first list items.
 */
function shapeMismatches(built: unknown, reference: unknown, at = '$'): string[] {
  if (built === null || reference === null) return [];
  if (kind(built) !== kind(reference)) return [`${at}: ${kind(built)} where stripe has ${kind(reference)}`];
  if (Array.isArray(built) && Array.isArray(reference)) {
    return built.length > 0 && reference.length > 0 ? shapeMismatches(built[0], reference[0], `${at}[0]`) : [];
  }
  if (kind(built) !== 'object') return [];
  const ref = reference as Json;
  return Object.entries(built as Json).flatMap(([key, value]) =>
    key in ref ? shapeMismatches(value, ref[key], `${at}.${key}`) : [`${at}.${key}: not in stripe's fixture`],
  );
}

const describeFixtures = haveFixtures ? describe : describe.skip;

describeFixtures('stripe event builder against stripe fixtures', () => {
  it.each([
    ['subscription', () => subscriptionObject({ lookupKey: 'pro' })],
    ['invoice', () => invoiceObject({})],
    ['checkout.session', () => checkoutSessionObject({})],
    ['entitlements.active_entitlement_summary', () => entitlementSummaryObject({ entitlements: ['exports'] })],
    ['deleted_customer', () => deletedCustomerObject({})],
  ])('builds a %s shaped like stripe\'s', (name, build) => {
    expect(shapeMismatches(build(), fixture(name))).toEqual([]);
  });

  it('wraps objects in the envelope of stripe\'s event fixture', () => {
    const reference = fixture('event');
    for (const type of HANDLED_EVENT_TYPES) {
      const event = buildStripeEvent(type);
      expect(Object.keys(event).sort()).toEqual(Object.keys(reference).sort());
      expect(shapeMismatches({ ...event, data: {} }, { ...reference, data: {} })).toEqual([]);
    }
  });
});

describe('stripe event builder', () => {
  it('applies the overrides a test depends on', () => {
    const event = buildStripeEvent('invoice.payment_action_required', {
      eventId: 'evt_1',
      created: 1_790_000_000,
      customer: 'cus_X',
      subscription: 'sub_X',
      invoiceUrl: 'https://invoice.stripe.com/i/x',
    });
    expect(event).toMatchObject({
      id: 'evt_1',
      type: 'invoice.payment_action_required',
      created: 1_790_000_000,
      data: { object: { object: 'invoice', customer: 'cus_X', hosted_invoice_url: 'https://invoice.stripe.com/i/x', parent: { subscription_details: { subscription: 'sub_X' } } } },
    });
  });

  it('signs a payload so that the stripe sdk verifies it', () => {
    const payload = serializeEvent(buildStripeEvent('customer.subscription.created'));
    const header = signPayload(payload, 'whsec_builder_test_secret', Math.floor(Date.now() / 1000));
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(Stripe.webhooks.constructEvent(payload, header, 'whsec_builder_test_secret').id).toBe(JSON.parse(payload).id);
    expect(() => Stripe.webhooks.constructEvent(payload, header, 'whsec_other_secret_value')).toThrow();
  });

  it('signs with the given timestamp', () => {
    expect(signPayload('{}', 'whsec_builder_test_secret', 1234)).toMatch(/^t=1234,/);
  });
});
