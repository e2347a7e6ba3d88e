import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { LocalPortalOptions } from './stack';
import type { LocalStripe } from './stripe-run';

/**
 * The portal's outside world for `npm start`: the run's Stripe (stripe-run.ts). With `STRIPE_API_KEY`
 * (a test-mode key) the real Stripe (real Checkout, the real Billing Portal); without one, the run's
 * fake of Stripe's API with the catalog's prices, whose checkout and billing portal URLs lead to the
 * local test pages. The session-signing secret is generated once and kept in the private state folder
 * (mode 0600).
 */

export const SESSION_SECRET_FILE = 'portal-session-secret';

export interface LocalPortal {
  readonly options: LocalPortalOptions;
  /** "fake": the local test checkout; "stripe": the real Stripe API. */
  readonly mode: 'fake' | 'stripe';
}

export function sessionSecret(stateDir: string): string {
  const file = path.join(stateDir, SESSION_SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

export function localPortal(options: { stateDir: string; stripe: LocalStripe }): LocalPortal {
  const secret = sessionSecret(options.stateDir);
  const stripe = options.stripe.client({ maxNetworkRetries: 2 });
  const fake = options.stripe.fake;
  return fake === undefined
    ? { options: { stripe, sessionSecret: secret }, mode: 'stripe' }
    : { options: { stripe, fakeStripe: fake.store, sessionSecret: secret }, mode: 'fake' };
}
