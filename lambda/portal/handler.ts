import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { FlushClock } from '../shared/ports';
import { headerValue } from '../shared/headers';
import { createObservability, type Observability } from '../shared/observability';
import { stageBaseUrl } from '../shared/portal-paths';
import { checkSameOrigin, PageError, type Page, type Portal, type PortalClients, type RequestContext, type Result } from './context';
import { stageFlushes } from '../shared/aws/flush-coordinator';
import { dynamoIssuanceStore, type IssuanceStore } from './issuance';
import { errorPage, FAILURE_PAGE } from './pages/error';
import { renderPage } from './response';
import { routeFor } from './routes';
import { parseCookies } from './session';
import { stripePriceBook } from './prices';
import { dynamoSessionStore, type SessionStore } from './sessions';

/**
 * The portal function: the API reference, the problem pages, the document, and the developer portal
 * (plans, checkout, the key shown once, sign-in with a key, account, rotation, billing portal). Every
 * page is server-rendered with escaping, under a strict CSP; state changes are POST with a same-origin
 * check; a key never appears in a URL, a log line or a Referer. The routes are in routes.ts; this is
 * the one place a route's answer, or its failure, becomes a response.
 */

export interface PortalDeps extends PortalClients {
  readonly issuance?: IssuanceStore;
  readonly sessions?: SessionStore;
  readonly now?: () => Date;
  /** The stage flusher's clock and waits. @default the system clock and timers */
  readonly flushClock?: FlushClock;
  /** Pages say plainly that payments are simulated (the local run's fake Stripe). @default false */
  readonly testMode?: boolean;
  readonly observability?: Observability;
}

export function makePortalHandler(deps: PortalDeps): (event: APIGatewayProxyEvent) => Promise<Result> {
  const { settings, dynamodb } = deps;
  const now = deps.now ?? (() => new Date());
  const { logger } = deps.observability ?? createObservability('tollgate-portal');
  const portal: Portal = {
    settings,
    dynamodb,
    stripe: deps.stripe,
    sessionSecret: deps.sessionSecret,
    flusher: deps.flusher,
    flushes: stageFlushes(settings.flush, { dynamodb, flusher: deps.flusher, ...(deps.flushClock === undefined ? {} : { clock: deps.flushClock }) }),
    assets: deps.assets,
    issuance: deps.issuance ?? dynamoIssuanceStore(dynamodb, settings.tables.events),
    sessions: deps.sessions ?? dynamoSessionStore(dynamodb, settings.tables.events),
    prices: stripePriceBook(deps.stripe, now, (err) => logger.warn('plans shown without prices: stripe could not be read', { error: err instanceof Error ? err.message : 'non-error thrown' })),
    keyStore: { client: dynamodb, tables: { customers: settings.tables.customers, apiKeys: settings.tables.apiKeys }, now },
    now,
    logger,
  };
  const testMode = deps.testMode === true;

  return async (event) => {
    const stage = event.requestContext.stage;
    const base = `/${stage}`;
    const origin = stageBaseUrl(event.requestContext.domainName ?? '', stage).slice(0, -base.length);
    const ctx: RequestContext = { event, base, origin, cookies: parseCookies(headerValue(event, 'cookie')) };
    const show = (page: Page): Result => renderPage(page, { base, testMode, ...(settings.catalog.brand === undefined ? {} : { brand: settings.catalog.brand }) });
    try {
      if (event.httpMethod === 'POST') checkSameOrigin(event, origin);
      // Awaited here, inside the try: a route's rejection must become the failure page, not escape it.
      const answer = await routeFor(event.httpMethod, event.resource)(ctx, portal);
      return 'statusCode' in answer ? answer : show(answer);
    } catch (err) {
      if (err instanceof PageError) return show(errorPage(err.status, err.title, err.detail));
      // Never the event or the body: a form may carry a key.
      logger.error('portal request failed', { route: `${event.httpMethod} ${event.resource}`, error: err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown' });
      return show(FAILURE_PAGE);
    }
  };
}
