import Stripe from 'stripe';
import { serializeEvent, signPayload } from '../stripe-events/event';
import type { Catalog } from '../../lambda/portal/settings';
import { billingPortalSessionsResource } from './stripe-api/billing-portal-sessions';
import { checkoutSessionsResource } from './stripe-api/checkout-sessions';
import { customersResource } from './stripe-api/customers';
import { fakeMeterEventStream } from './stripe-api/meter-event-stream';
import { fakeMeterEvents, type FakeMeterEvents } from './stripe-api/meter-events';
import { paymentMethodsResource } from './stripe-api/payment-methods';
import { pricesResource } from './stripe-api/prices';
import { setupIntentsResource } from './stripe-api/setup-intents';
import { fakeSharedPayments, type FakeSharedPayments } from './stripe-api/shared-payments';
import { startFakeStripeApi, type FakeStripeApi, type StripeEventObject } from './stripe-api/server';
import { addPrice, createFakeStripeStore, type FakeStripeStore } from './stripe-api/store';

/**
 * The local run's one Stripe: Stripe itself when a test-mode API key is given (STRIPE_API_KEY), else
 * one fake of Stripe's API on loopback serving every resource tollgate calls (the portal's customers,
 * prices, Checkout and Billing Portal sessions; metering's meter event stream; agents' shared payment tokens
 * and PaymentIntents; auto top-up's saved cards and off-session PaymentIntents), so the portal and metered
 * billing work out of the box and share one server. The events Stripe sends for what the fake's API does
 * (a saved card charged) are signed and posted to the given webhook, in order, after the API answered.
 */

/** Only for the local fake; never a real key. */
export const LOCAL_FAKE_STRIPE_KEY = 'sk_test_tollgate_local_fake';

export interface LocalStripeFake {
  readonly api: FakeStripeApi;
  /** The portal's objects: the test checkout and billing portal complete and read them. */
  readonly store: FakeStripeStore;
  readonly meterEvents: FakeMeterEvents;
  /** Test SPTs (minted by the test-helper route) and the PaymentIntents that charged them. */
  readonly sharedPayments: FakeSharedPayments;
  /** Resolves once every event emitted so far has been delivered to the webhook (at once without one). */
  settled(): Promise<void>;
}

/** Where the fake's events go: the stage's Stripe webhook, signed with its secret. */
export interface LocalWebhook {
  readonly secret: string;
  /** Posts the signed body; resolves with the webhook's status. */
  deliver(payload: string, signature: string): Promise<number>;
  /** A delivery the webhook refused or that failed. @default nothing */
  readonly log?: (line: string) => void;
}

/** Signs and posts each event to the webhook, one after the other (as Stripe would, without its retries). */
export function webhookSink(webhook: LocalWebhook): { readonly emit: (event: StripeEventObject) => void; settled(): Promise<void> } {
  let queue = Promise.resolve();
  const emit = (event: StripeEventObject): void => {
    const payload = serializeEvent(event);
    queue = queue.then(async () => {
      try {
        const status = await webhook.deliver(payload, signPayload(payload, webhook.secret));
        if (status < 200 || status > 299) webhook.log?.(`tollgate: the local webhook answered ${status} to ${event.type} (${event.id})`);
      } catch (err) {
        webhook.log?.(`tollgate: could not deliver ${event.type} (${event.id}) to the local webhook: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  };
  return { emit, settled: () => queue };
}

export interface LocalStripe {
  /** undefined: real Stripe (test mode). */
  readonly fake?: LocalStripeFake;
  /** An SDK client for this Stripe, with each user's own retry and timeout settings. */
  client(config: Pick<Stripe.StripeConfig, 'maxNetworkRetries' | 'timeout'>): Stripe;
  close(): Promise<void>;
}

/** Prices the fake sells: a monthly price per plan, a one-time price per credit pack. */
export function seedPrices(store: FakeStripeStore, catalog: Catalog): void {
  for (const plan of catalog.plans) addPrice(store, { lookupKey: plan.lookupKey, unitAmount: plan.quota === undefined ? 2000 : 500, recurring: true, nickname: plan.name });
  for (const pack of catalog.creditPacks) if (!pack.price.startsWith('price_')) addPrice(store, { lookupKey: pack.price, unitAmount: 1000, recurring: false, nickname: pack.name });
}

export async function startLocalStripe(options: { apiKey?: string; catalog: Catalog; pages: FakeStripeStore['pages']; webhook?: LocalWebhook }): Promise<LocalStripe> {
  const { apiKey } = options;
  if (apiKey !== undefined && apiKey !== '') {
    if (!apiKey.startsWith('sk_test_') && !apiKey.startsWith('rk_test_')) {
      throw new Error('STRIPE_API_KEY must be a test-mode key (sk_test_… or rk_test_…) for the local run');
    }
    return { client: (config) => new Stripe(apiKey, config), close: () => Promise.resolve() };
  }
  const store = createFakeStripeStore(options.pages);
  seedPrices(store, options.catalog);
  const meterEvents = fakeMeterEvents();
  const sharedPayments = fakeSharedPayments(undefined, store);
  const sink = options.webhook === undefined ? undefined : webhookSink(options.webhook);
  const api = await startFakeStripeApi({
    ...(sink === undefined ? {} : { onEvent: sink.emit }),
    resources: [
      customersResource(store),
      pricesResource(store),
      checkoutSessionsResource(store),
      billingPortalSessionsResource(store),
      meterEvents,
      fakeMeterEventStream(meterEvents),
      sharedPayments,
      paymentMethodsResource(store),
      setupIntentsResource(store),
    ],
  });
  return {
    fake: { api, store, meterEvents, sharedPayments, settled: () => sink?.settled() ?? Promise.resolve() },
    // The fake is on loopback and answers at once: no retries, whatever the caller would use with Stripe.
    client: (config) => new Stripe(LOCAL_FAKE_STRIPE_KEY, { ...config, host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 }),
    close: () => api.close(),
  };
}
