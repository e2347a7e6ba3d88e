import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import { dynamoClaimStore } from './claims';
import { makePurchaseHandler, type PurchaseDeps } from './handler';
import type { PurchaseSettings } from './settings';

/** What the purchase function talks to; the local run gives its own (the fake Stripe, a local secret). */
export interface PurchaseClients {
  readonly dynamodb: DynamoDBClient;
  readonly stripe: () => Promise<Stripe | undefined>;
  readonly secret: () => Promise<string>;
  readonly now?: () => Date;
  readonly log?: (message: string, fields: Readonly<Record<string, unknown>>) => void;
  readonly count?: PurchaseDeps['count'];
  readonly facilitator?: PurchaseDeps['facilitator'];
  readonly onPurchase?: PurchaseDeps['onPurchase'];
}

export type PurchaseHandler = ReturnType<typeof makePurchaseHandler>;

/** The purchase function, wired once: index.ts, the local run and the tests build it here. */
export function composePurchase(settings: PurchaseSettings, clients: PurchaseClients): PurchaseHandler {
  return makePurchaseHandler({ settings, ...clients, claims: dynamoClaimStore(clients.dynamodb, settings.eventsTable) });
}
