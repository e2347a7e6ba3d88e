import * as path from 'node:path';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { seedPrices } from '../../lib/local/stripe-run';
import { createFakeStripeStore, type FakeStripeStore } from '../../lib/local/stripe-api/store';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import type { TestTables } from './dynamodb';

const ROOT = path.join(__dirname, '..', '..');

/** The project's local API on test tables, in process, keeping the access-log and events-log lines it writes. */
export function recordingLocalApi(tables: TestTables, options: { webhookSecret: string; now?: () => number }): { api: LocalApi; accessLog: string[]; eventsLog: string[] } {
  const accessLog: string[] = [];
  const eventsLog: string[] = [];
  const config = loadProjectConfig(ROOT);
  const api = createLocalApi({
    config,
    built: buildLocalDocument(config, ROOT),
    dynamodbEndpoint: tables.endpoint,
    tables: tables.names,
    webhookSecret: options.webhookSecret,
    ...(options.now === undefined ? {} : { now: options.now }),
    accessLog: (line) => accessLog.push(line),
    eventsLog: (line) => eventsLog.push(line),
  });
  return { api, accessLog, eventsLog };
}

/** The project's configuration and stage document, and where the local gateway serves them (as npm start). */
export const PROJECT = (() => {
  const config = loadProjectConfig(ROOT);
  return { config, built: buildLocalDocument(config, ROOT), origin: 'http://127.0.0.1', stage: `/${config.stageName}` };
})();

/**
 * The project's local API on test tables with the portal and its fake Stripe API (prices seeded from the
 * catalog, checkout and billing portal pages on the stage), no metering; `request` sends through the gateway.
 */
export function portalLocalApi(tables: TestTables): { api: LocalApi; store: FakeStripeStore; request: GatewayRequest } {
  const { config, built, origin, stage } = PROJECT;
  const page = (id: string): string => `${origin}${stage}/tollgate/portal/test-checkout/${id}`;
  const store = createFakeStripeStore({ checkout: page, billingPortal: page });
  seedPrices(store, portalCatalog(config));
  const api = createLocalApi({ config, built, dynamodbEndpoint: tables.endpoint, tables: tables.names, webhookSecret: LOCAL_WEBHOOK_SECRET, portal: { fakeStripe: store, sessionSecret: 'test-session-secret' }, metering: false });
  const request: GatewayRequest = (method, p, headers = {}, body) => api.gateway.handle({ method, path: `${stage}${p}`, headers, ...(body === undefined ? {} : { body: Buffer.from(body) }) });
  return { api, store, request };
}

export type GatewayRequest = (method: string, p: string, headers?: Record<string, string>, body?: string) => ReturnType<LocalApi['gateway']['handle']>;
