import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type Stripe from 'stripe';
import type { ApiKeyStore } from '../shared/customers/keys';
import { headerValue } from '../shared/headers';
import type { Observability } from '../shared/observability';
import type { AccessFlushes, AuthorizerCacheFlusher } from '../shared/ports';
import type { PortalAssets } from './assets';
import type { Html } from './html';
import type { IssuanceStore } from './issuance';
import type { PriceBook } from './prices';
import type { SessionStore } from './sessions';
import type { PortalSettings } from './settings';

/**
 * What every route is given (the portal's dependencies, resolved once, and the request) and what it
 * gives back: a page to render in the layout, or a response of its own (a redirect, JSON, an asset).
 */

export type PortalRouteSettings = Pick<PortalSettings, 'tables' | 'routes' | 'gracePeriodSeconds' | 'catalog' | 'plans' | 'checkoutUrl' | 'portalUrl' | 'flush'>;

/** What the function is given to serve the portal with (handler.ts adds the optional rest). */
export interface PortalClients {
  readonly settings: PortalRouteSettings;
  readonly dynamodb: DynamoDBClient;
  /** undefined: no Stripe API key is configured, so no checkout or billing portal. */
  readonly stripe: () => Promise<Stripe | undefined>;
  readonly sessionSecret: () => Promise<string>;
  /** The management API's flush, which the stage's one flusher spends the budget through. */
  readonly flusher: AuthorizerCacheFlusher;
  readonly assets: PortalAssets;
}

/** The clients, with the defaults resolved once per instance. */
export interface Portal extends PortalClients {
  readonly flushes: AccessFlushes;
  readonly issuance: IssuanceStore;
  readonly sessions: SessionStore;
  readonly prices: PriceBook;
  readonly keyStore: ApiKeyStore;
  readonly now: () => Date;
  readonly logger: Observability['logger'];
}

export interface RequestContext {
  readonly event: APIGatewayProxyEvent;
  /** `/prod` */
  readonly base: string;
  /** `https://api.example.com` */
  readonly origin: string;
  readonly cookies: Record<string, string>;
}

export type Result = APIGatewayProxyResult;

/** A page in the portal's layout, under the page CSP and no-store unless its headers say otherwise. */
export interface Page {
  /** @default 200 */
  readonly status?: number;
  readonly title: string;
  readonly body: Html;
  readonly headers?: Record<string, string>;
  readonly cookies?: readonly string[];
}

export type Answer = Page | Result;
export type Route = (ctx: RequestContext, portal: Portal) => Answer | Promise<Answer>;

/** A page the portal shows instead of doing something: the status says why. */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** A state-changing POST must come from a page of this stage's own origin (forms send Origin). */
export function checkSameOrigin(event: APIGatewayProxyEvent, origin: string): void {
  const sent = headerValue(event, 'origin');
  const fetchSite = headerValue(event, 'sec-fetch-site');
  if (sent !== origin || (fetchSite !== undefined && fetchSite !== 'same-origin')) {
    throw new PageError(403, 'Refused', 'This form must be sent from the portal itself. Nothing was changed.');
  }
}

export function readForm(event: APIGatewayProxyEvent): URLSearchParams {
  const raw = event.body === null ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return new URLSearchParams(raw.length > 8192 ? '' : raw);
}
