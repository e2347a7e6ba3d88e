import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import type { Observability } from '../shared/observability';
import type { AuthorizerCacheFlusher } from '../shared/ports';
import { makePortalHandler, type PortalAssets } from './handler';
import type { PortalSettings } from './settings';

/** What the portal talks to; the local run gives its own (the fake Stripe, a random session secret). */
export interface PortalClients {
  readonly dynamodb: DynamoDBClient;
  /** Resolves to undefined when no Stripe API key is configured: no checkout, no billing portal. */
  readonly stripe: () => Promise<Stripe | undefined>;
  /** The key sessions are signed with. */
  readonly sessionSecret: () => Promise<string>;
  readonly flusher: AuthorizerCacheFlusher;
  readonly assets: PortalAssets;
  readonly observability?: Observability;
  /** @default the system clock */
  readonly now?: () => Date;
  /** Pages say plainly that payments are simulated (the local run's fake Stripe). @default false */
  readonly testMode?: boolean;
}

export type PortalHandler = ReturnType<typeof makePortalHandler>;

/** The portal, wired once: index.ts and the local run build it here. */
export function composePortal(settings: PortalSettings, clients: PortalClients): PortalHandler {
  return makePortalHandler({ settings, ...clients });
}
