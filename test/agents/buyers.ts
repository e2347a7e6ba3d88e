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
import { buildReport, localRows, renderReport } from '../../lib/report/queries';

/** The local stack a stock agent client buys from over HTTP: tables, the fake Stripe, optionally the local x402 facilitator. */
export interface AgentsStack {
  readonly config: TollgateConfig;
  /** The stage's URL, as a buyer script takes it. */
  readonly url: string;
  readonly stripe: LocalStripe;
  readonly facilitator?: FakeFacilitator;
  /** The stage's access-log lines and its events log (purchases, metering's first calls), as `npm start` writes them to .tollgate/. */
  readonly accessLog: readonly string[];
  readonly eventsLog: readonly string[];
  close(): Promise<void>;
}

/** Starts the sample's stack on fresh tables (metering every 200 ms, so credits drain while a client calls). */
export async function startAgentsStack(label: string, options: { readonly facilitator?: boolean } = {}): Promise<AgentsStack> {
  const config = loadProjectConfig(PROJECT_ROOT);
  const tables = await freshTables(label);
  const stripe = await startLocalStripe({ catalog: portalCatalog(config), pages: { checkout: (id) => id, billingPortal: (id) => id } });
  const facilitator = options.facilitator === true ? await startFakeFacilitator() : undefined;
  const accessLog: string[] = [];
  const eventsLog: string[] = [];
  const api = createLocalApi({
    accessLog: (line) => accessLog.push(line),
    eventsLog: (line) => eventsLog.push(line),
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
    accessLog,
    eventsLog,
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

/**
 * The way out of the 402 the buyer took, as operations see it (lambda/shared/agents/first-call.ts): its payment
 * timed from the 402 it answered, metering's one record of its first counted 2xx after it (waited for: metering
 * runs every 200 ms), and the report's funnel for the protocol.
 */
export async function expectRecordedRecovery(stack: AgentsStack, protocol: 'mpp' | 'x402', since: Date): Promise<void> {
  const lines = (): Array<Record<string, any>> => stack.eventsLog.map((line) => JSON.parse(line) as Record<string, any>);
  const paid = lines().find((l) => l.message === 'agent purchase' && l.outcome === 'paid' && l.protocol === protocol)!;
  const deadline = Date.now() + 10_000;
  const firstCalls = (): Array<Record<string, any>> => lines().filter((l) => l.message === 'agent first call');
  while (firstCalls().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(Date.parse(paid.purchasedAt) - Date.parse(paid.challengedAt)).toBeGreaterThanOrEqual(0);
  expect(Date.parse(paid.purchasedAt) - Date.parse(paid.challengedAt)).toBeLessThan(60_000);
  expect(firstCalls()).toHaveLength(1);
  expect(firstCalls()[0]).toMatchObject({ protocol, customerId: paid.customerId, paidAt: paid.purchasedAt });
  expect(firstCalls()[0]!.secondsToFirstCall).toBeGreaterThanOrEqual(0);
  expect(firstCalls()[0]!.secondsToFirstCall).toBeLessThan(60);
  const until = new Date(Date.now() + 1000);
  const report = buildReport(localRows(stack.accessLog, stack.eventsLog, since, until), since, until);
  expect(report.agentPurchases.byProtocol[protocol]).toMatchObject({ paid: 1, firstSuccess: 1 });
  expect(report.agentPurchases.byProtocol[protocol].medianSecondsToPay).not.toBeNull();
  expect(report.agentPurchases.byProtocol[protocol].medianSecondsToFirstSuccess).not.toBeNull();
  expect(renderReport(report, 'local')).toMatch(new RegExp(`\\n {2}${protocol} +1 → 1 \\(\\d+s, \\d+s\\)`));
}
