import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { portalCatalog } from '../../lib/config/portal-catalog';
import { startGatewayServer, type RunningServer } from '../../lib/local/server';
import { buildLocalDocument, createLocalApi, LOCAL_WEBHOOK_SECRET, type LocalApi } from '../../lib/local/stack';
import { startLocalStripe, type LocalStripe } from '../../lib/local/stripe-run';
import { startFakeFacilitator, type FakeFacilitator } from '../../lib/local/x402-facilitator';
import { freshTables, type TestTables } from '../support/dynamodb';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const ROOT = path.join(__dirname, '..', '..');
const config = loadProjectConfig(ROOT);
const built = buildLocalDocument(config, ROOT);

/**
 * Conformance with the reference x402 client: `@x402/fetch` with `@x402/evm` from npm, unmodified
 * (scripts/x402-buy.mjs, the command `npm start` prints), signing with a test key, against the local
 * stack over HTTP and the local facilitator: 402 → pay → 200 with a key and PAYMENT-RESPONSE, then
 * calls on the credits until 402.
 */
describe('a stock x402 client buys credits and spends them', () => {
  let tables: TestTables;
  let api: LocalApi;
  let local: LocalStripe;
  let facilitator: FakeFacilitator;
  let server: RunningServer;

  beforeAll(async () => {
    tables = await freshTables('agents-x402');
    local = await startLocalStripe({ catalog: portalCatalog(config), pages: { checkout: (id) => id, billingPortal: (id) => id } });
    facilitator = await startFakeFacilitator();
    api = createLocalApi({
      config,
      built,
      dynamodbEndpoint: tables.endpoint,
      tables: tables.names,
      webhookSecret: LOCAL_WEBHOOK_SECRET,
      portal: { stripe: local.client({}), fakeStripe: local.fake!.store, sessionSecret: 'x402-session' },
      metering: { intervalMs: 200 },
      facilitatorUrl: facilitator.url,
    });
    server = await startGatewayServer(api.gateway, { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await api.metering?.stop();
    api.destroy();
    tables.client.destroy();
    await local.close();
    await facilitator.close();
  });

  it('402 → pay → 200 in two round trips, then calls on the credits until 402 credits_exhausted', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'x402-buy.mjs'), `${server.url}/${config.stageName}/`], { cwd: ROOT, timeout: 90_000 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    const pack = config.creditPacks[0]!;
    expect(result.purchase).toMatchObject({ status: 200, roundTrips: 2, paymentResponse: { success: true, network: config.agentPayments!.x402!.network, payer: result.payer } });
    expect(result.credits).toBe(pack.credits);
    // As for mppx (mppx.integration.test.ts): never fewer calls than bought, a log-metered overshoot at most.
    expect(result.calls).toBeGreaterThanOrEqual(pack.credits);
    expect(result.calls).toBeLessThan(pack.credits * 3);
    expect(result.final).toEqual({ status: 402, reason: 'credits_exhausted', offers: [pack.id] });
    // Settled once, for the pack's cents in USDC's 6 decimals; no card charge.
    expect([...facilitator.settled.values()]).toEqual([{ payer: result.payer, value: String(pack.amount! * 10_000), transaction: result.purchase.paymentResponse.transaction }]);
    expect(local.fake!.sharedPayments.paymentIntents.size).toBe(0);
  }, 120_000);
});
