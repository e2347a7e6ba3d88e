import type Stripe from 'stripe';
import { ok, stripeError, type Resource } from './server';
import { epochNow, fakeId, type FakeBillingPortalSession, type FakeStripeStore } from './store';

/** `POST /v1/billing_portal/sessions`: a session whose URL is the local run's test billing page. */
export function billingPortalSessionsResource(store: FakeStripeStore): Resource {
  return {
    routes: [
      {
        method: 'POST',
        pattern: /\/v1\/billing_portal\/sessions/,
        handle: ({ body }) => {
          const params = body as unknown as Stripe.BillingPortal.SessionCreateParams;
          if (typeof params.customer !== 'string' || params.customer === '') return stripeError(400, 'invalid_request_error', 'Missing required param: customer.', { param: 'customer' });
          const id = fakeId('bps');
          const session: FakeBillingPortalSession = {
            id,
            object: 'billing_portal.session',
            customer: params.customer,
            return_url: params.return_url ?? null,
            url: store.pages.billingPortal(id),
            created: epochNow(),
            livemode: false,
          };
          store.billingPortalSessions.set(id, session);
          return ok(session);
        },
      },
    ],
  };
}
