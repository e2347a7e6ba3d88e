import { createServer, type Server, type Socket } from 'node:net';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { authorizerDynamoClient } from '../../lambda/authorizer/dynamo-client';
import { makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { createTables, freePort, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal, tableNames, type DynamoDbLocal } from '../../lib/local/dynamodb-local';
import { quietObservability } from '../support/observability';
import { countRequests } from '../../bench/lib/request-counter';
import { authorizerEvent, bearer, settingsFor } from './support';

/**
 * The README's budget (the whole decision, retries included, answers or fails within 1 s) is a property
 * of the client's settings and the reader's deadline: the tests below prove the deadline ends the calls
 * (its error, its attempt count). Wall-clock upper bounds would only measure this machine's load, so
 * they are loose: they fail when a call hangs, not when the machine is busy.
 */
const HANG_LIMIT_MS = 15_000;

const clientFor = (endpoint: string) => authorizerDynamoClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

interface Tally {
  allow: number;
  deny: number;
  unauthorized: number;
  failures: number;
  slowestMs: number;
}

/** Calls the handler `calls` times; every outcome is tallied, none may be a policy or a 401. */
async function faultedCalls(endpoint: string, table: string, key: string, calls: number): Promise<Tally> {
  const client = clientFor(endpoint);
  const handler = makeAuthorizerHandler({
    customers: new DynamoCustomerReader(client, table),
    settings: settingsFor(table),
    observability: quietObservability(),
  });
  const tally: Tally = { allow: 0, deny: 0, unauthorized: 0, failures: 0, slowestMs: 0 };
  try {
    await Promise.all(
      Array.from({ length: calls }, async (_, i) => {
        const started = performance.now();
        try {
          const policy = await handler(authorizerEvent(i % 2 === 0 ? 'quotes' : 'ping', bearer(key)));
          const effects = (policy.policyDocument.Statement as Array<{ Effect: string }>).map((s) => s.Effect);
          if (effects.includes('Allow')) tally.allow++;
          if (effects.includes('Deny')) tally.deny++;
        } catch (err) {
          if (err instanceof Error && err.message === 'Unauthorized') tally.unauthorized++;
          else tally.failures++;
        }
        tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
      }),
    );
  } finally {
    client.destroy();
  }
  return tally;
}

describe('authorizer when the store fails', () => {
  let own: DynamoDbLocal;
  let key: string;
  const names = tableNames('faults');

  beforeAll(async () => {
    own = await startDynamoDbLocal();
    const setup = own.client();
    await createTables(setup, names);
    ({ key } = await createApiKey({ client: setup, tables: { customers: names.customers, apiKeys: names.apiKeys } }, { customerId: 'cus_Fault1' }));
    setup.destroy();
  });
  afterAll(async () => {
    await own.stop();
  });

  it('answers from the running store first (the key and table are good)', async () => {
    const tally = await faultedCalls(own.endpoint, names.customers, key, 4);
    expect(tally).toMatchObject({ allow: 4, unauthorized: 0, failures: 0 });
  });

  it('throws a non-Unauthorized error within the budget, with no policy, after the store is stopped', async () => {
    await own.stop();
    const tally = await faultedCalls(own.endpoint, names.customers, key, 40);
    expect(tally).toMatchObject({ allow: 0, deny: 0, unauthorized: 0, failures: 40 });
    expect(tally.slowestMs).toBeLessThan(HANG_LIMIT_MS);
  });

  it('throws a non-Unauthorized error within the budget for a port nobody listens on', async () => {
    const port = await freePort();
    const tally = await faultedCalls(`http://127.0.0.1:${port}`, names.customers, key, 40);
    expect(tally).toMatchObject({ allow: 0, deny: 0, unauthorized: 0, failures: 40 });
    expect(tally.slowestMs).toBeLessThan(HANG_LIMIT_MS);
  });

  describe('against a store that accepts connections and never answers', () => {
    let blackhole: Server;
    const sockets = new Set<Socket>();
    let endpoint: string;

    beforeAll(async () => {
      blackhole = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
      const address = blackhole.address();
      endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    });

    it('times out every attempt and throws within the budget, 0 Allow and 0 Deny', async () => {
      const tally = await faultedCalls(endpoint, names.customers, key, 40);
      expect(tally).toMatchObject({ allow: 0, deny: 0, unauthorized: 0, failures: 40 });
      expect(tally.slowestMs).toBeLessThan(HANG_LIMIT_MS);
      // The deadline, not luck, ended the calls: they took at least the per-attempt timeout.
      expect(tally.slowestMs).toBeGreaterThanOrEqual(200);
    });

    it('retries a bounded number of times before the deadline', async () => {
      const client = clientFor(endpoint);
      const requests = countRequests(client);
      const reader = new DynamoCustomerReader(client, names.customers);
      const error = await reader.read('cus_Fault1', 'abcdEFGH').catch((err: unknown) => err);
      client.destroy();
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).not.toBe('Unauthorized');
      expect(requests.total()).toBeGreaterThanOrEqual(2);
      expect(requests.total()).toBeLessThanOrEqual(3);
    });

    it('stops at the reader deadline even when retries would go on', async () => {
      const client = clientFor(endpoint);
      const reader = new DynamoCustomerReader(client, names.customers, { deadlineMs: 300 });
      const started = performance.now();
      const error = await reader.read('cus_Fault1', 'abcdEFGH').catch((err: unknown) => err);
      const elapsed = performance.now() - started;
      client.destroy();
      // The injected 300 ms deadline, not the default one nor the attempts running out, ended the read.
      expect(error).toMatchObject({ name: 'StoreTimeoutError', message: 'the customers table did not answer within 300 ms' });
      expect(elapsed).toBeGreaterThanOrEqual(290);
    });
  });
});
