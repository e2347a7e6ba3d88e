import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import Stripe from 'stripe';
import type { Catalog } from '../../lambda/portal/settings';
import { PORTAL_PATHS } from '../../lambda/shared/portal-paths';
import { billingPortalSessionsResource } from './stripe-api/billing-portal-sessions';
import { checkoutSessionsResource } from './stripe-api/checkout-sessions';
import { customersResource } from './stripe-api/customers';
import { pricesResource } from './stripe-api/prices';
import { startFakeStripeApi, type FakeStripeApi } from './stripe-api/server';
import { addPrice, createFakeStripeStore } from './stripe-api/store';
import type { LocalPortalOptions } from './stack';

/**
 * The portal's outside world for `npm start`: with `STRIPE_API_KEY` (a test-mode key) the real Stripe
 * (real Checkout, the real Billing Portal); without one, the fake Stripe API on loopback with the
 * catalog's prices, whose checkout URLs lead to the local test checkout page. The session-signing
 * secret is generated once and kept in the private state folder (mode 0600).
 */

export const SESSION_SECRET_FILE = 'portal-session-secret';

export interface LocalPortal {
  readonly options: LocalPortalOptions;
  /** "fake": the local test checkout; "stripe": the real Stripe API. */
  readonly mode: 'fake' | 'stripe';
  stop(): Promise<void>;
}

export function sessionSecret(stateDir: string): string {
  const file = path.join(stateDir, SESSION_SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Prices the fake sells: a monthly price per plan, a one-time price per credit pack. */
export function seedPrices(store: ReturnType<typeof createFakeStripeStore>, catalog: Catalog): void {
  for (const plan of catalog.plans) addPrice(store, { lookupKey: plan.lookupKey, unitAmount: plan.quota === undefined ? 2000 : 500, recurring: true, nickname: plan.name });
  for (const pack of catalog.creditPacks) if (!pack.price.startsWith('price_')) addPrice(store, { lookupKey: pack.price, unitAmount: 1000, recurring: false, nickname: pack.name });
}

export async function startLocalPortal(options: { stateDir: string; apiUrl: () => string; catalog: Catalog; stripeApiKey?: string }): Promise<LocalPortal> {
  const secret = sessionSecret(options.stateDir);
  if (options.stripeApiKey !== undefined && options.stripeApiKey !== '') {
    return { options: { stripe: new Stripe(options.stripeApiKey, { maxNetworkRetries: 2 }), sessionSecret: secret }, mode: 'stripe', stop: () => Promise.resolve() };
  }
  const page = (id: string): string => `${options.apiUrl().replace(/\/$/, '')}${PORTAL_PATHS.testCheckout.replace('{session}', id)}`;
  const store = createFakeStripeStore({ checkout: page, billingPortal: page });
  seedPrices(store, options.catalog);
  const api: FakeStripeApi = await startFakeStripeApi({
    resources: [customersResource(store), pricesResource(store), checkoutSessionsResource(store), billingPortalSessionsResource(store)],
  });
  const stripe = new Stripe('sk_test_tollgate_local_fake', { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0 });
  return { options: { stripe, fakeStripe: store, sessionSecret: secret }, mode: 'fake', stop: () => api.close() };
}
