import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { loadProjectConfig, type TollgateConfig } from '../../lib/config/tollgate-config';
import { PROJECT_ROOT } from '../../lib/contract';
import { startGatewayServer } from '../../lib/local/server';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET } from '../../lib/local/stack';
import { startLocalStripe, type LocalStripe } from '../../lib/local/stripe-run';
import { startFakeFacilitator, type FakeFacilitator } from '../../lib/local/x402-facilitator';
import { freshTables } from '../support/dynamodb';

/** The local stack a stock agent client buys from over HTTP: tables, the fake Stripe, optionally the local x402 facilitator. */
export interface AgentsStack {
  readonly config: TollgateConfig;
  /** The stage's URL, as a buyer script takes it. */
  readonly url: string;
  readonly stripe: LocalStripe;
  readonly facilitator?: FakeFacilitator;
  close(): Promise<void>;
}

/** Starts the sample's stack on fresh tables (metering every 200 ms, so credits drain while a client calls). */
export async function startAgentsStack(label: string, options: { readonly facilitator?: boolean } = {}): Promise<AgentsStack> {
  const config = loadProjectConfig(PROJECT_ROOT);
  const tables = await freshTables(label);
  const stripe = await startLocalStripe({ catalog: portalCatalog(config), pages: { checkout: (id) => id, billingPortal: (id) => id } });
  const facilitator = options.facilitator === true ? await startFakeFacilitator() : undefined;
  const api = createLocalApi({
    config,
    built: buildLocalDocument(config, PROJECT_ROOT),
    dynamodbEndpoint: tables.endpoint,
    tables: tables.names,
    webhookSecret: LOCAL_WEBHOOK_SECRET,
    portal: { stripe: stripe.client({}), fakeStripe: stripe.fake!.store, sessionSecret: `${label}-session` },
    metering: { intervalMs: 200 },
    ...(facilitator === undefined ? {} : { facilitatorUrl: facilitator.url }),
  });
  const server = await startGatewayServer(api.gateway, { port: 0 });
  return {
    config,
    url: `${server.url}/${config.stageName}/`,
    stripe,
    ...(facilitator === undefined ? {} : { facilitator }),
    close: async () => {
      await server.close();
      await api.metering?.stop();
      api.destroy();
      tables.client.destroy();
      await stripe.close();
      await facilitator?.close();
    },
  };
}

/** Runs a buyer script of scripts/ (a stock client from npm, unmodified, in a child process) and reads the JSON of its last line. */
export async function runBuyer(script: string, args: readonly string[]): Promise<any> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'scripts', script), ...args], { cwd: PROJECT_ROOT, timeout: 90_000 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  } catch (err) {
    // Say how the script ended and what it printed: a bare "Command failed" hides why.
    const { code, signal, stdout, stderr } = err as { code?: number | string; signal?: string | null; stdout?: string; stderr?: string };
    throw new Error(`${script} ended with code ${code ?? '?'}${signal === null || signal === undefined ? '' : `, signal ${signal}`}\nstdout: ${stdout ?? ''}\nstderr: ${stderr ?? ''}`, { cause: err });
  }
}
