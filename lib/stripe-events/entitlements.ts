import { FIXTURE_CUSTOMER, stripeId, type Json, type StripeEventOverrides } from './overrides';

/** `entitlements.active_entitlement_summary.updated`: the customer's active features. */

export function entitlementSummaryObject(o: StripeEventOverrides = {}): Json {
  const livemode = o.livemode ?? false;
  return {
    customer: o.customer ?? FIXTURE_CUSTOMER,
    entitlements: {
      data: (o.entitlements ?? []).map((lookupKey) => ({
        // The summary expands each entitlement's feature.
        feature: {
          active: true,
          id: `feat_test_${lookupKey.replace(/[^A-Za-z0-9]/g, '').slice(0, 24)}`,
          livemode,
          lookup_key: lookupKey,
          metadata: {},
          name: lookupKey,
          object: 'entitlements.feature',
        },
        id: stripeId('ent_test'),
        livemode,
        lookup_key: lookupKey,
        object: 'entitlements.active_entitlement',
      })),
      has_more: o.entitlementsHasMore ?? false,
      object: 'list',
      url: '/v1/entitlements/active_entitlements',
    },
    livemode,
    object: 'entitlements.active_entitlement_summary',
  };
}
