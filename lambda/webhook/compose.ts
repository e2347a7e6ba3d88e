import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import type { Observability } from '../shared/observability';
import { stageFlushes } from '../shared/aws/flush-coordinator';
import { dynamoTopUpSettler } from '../shared/auto-top-up';
import type { AuthorizerCacheFlusher, FlushClock } from '../shared/ports';
import type { WebhookSettings } from '../shared/settings';
import { checkoutLinker, dynamoCheckoutLinkStore } from './checkout-link';
import { makeWebhookHandler } from './handler';
import type { AccessRestored } from './recovery';
import { DynamoPaymentStateStore } from './store';
import type { SigningSecrets } from './verify';

/** What the webhook talks to; the local run and the bench give their own. */
export interface WebhookClients {
  readonly dynamodb: DynamoDBClient;
  readonly signingSecrets: SigningSecrets;
  /** The management API's flush (counted), which the stage's one flusher spends the budget through. */
  readonly flusher: AuthorizerCacheFlusher;
  /** With a Stripe API key: re-fetch same-second subscriptions and completed checkouts, page entitlements. @default - none */
  readonly stripe?: Stripe;
  readonly observability?: Observability;
  /** Also receives each restoration of access (the local run's events log). @default - none */
  readonly onRestored?: (restored: AccessRestored) => void;
  /** @default the system clock */
  readonly now?: () => Date;
  /** The stage flusher's clock and waits. @default the system clock and timers */
  readonly flushClock?: FlushClock;
}

export type WebhookHandler = ReturnType<typeof makeWebhookHandler>;

/** The webhook, wired once: index.ts, the local run and the bench all build it here. */
export function composeWebhook(settings: WebhookSettings, clients: WebhookClients): WebhookHandler {
  const { dynamodb } = clients;
  return makeWebhookHandler({
    store: new DynamoPaymentStateStore(dynamodb, { customersTable: settings.customersTable, eventsTable: settings.eventsTable }),
    signingSecrets: clients.signingSecrets,
    flushes: stageFlushes(settings.flush, { dynamodb, flusher: clients.flusher, ...(clients.flushClock === undefined ? {} : { clock: clients.flushClock }) }),
    gracePeriodSeconds: settings.gracePeriodSeconds,
    checkoutLinks: checkoutLinker(dynamoCheckoutLinkStore(dynamodb, { customers: settings.customersTable, events: settings.eventsTable })),
    stripe: clients.stripe,
    now: clients.now,
    observability: clients.observability,
    plans: settings.plans ?? {},
    topUps: dynamoTopUpSettler(dynamodb, { customers: settings.customersTable, events: settings.eventsTable }),
    recovery: { gracePeriodSeconds: settings.gracePeriodSeconds, plans: settings.plans ?? {}, onRestored: clients.onRestored },
  });
}
