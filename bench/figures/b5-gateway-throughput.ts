import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { composeAuthorizer } from '../../lambda/authorizer/compose';
import { handler as sampleBackend } from '../../lambda/backend/index';
import { parseApiKey } from '../../lambda/shared/customers/api-key';
import { decisionProjection } from '../../lambda/shared/customers/item';
import { composeWebhook } from '../../lambda/webhook/compose';
import { loadApiDocument } from '../../lib/openapi/load';
import { DEFAULT_CONFIG } from '../../lib/config/tollgate-config';
import { localClient } from '../../lib/local/dynamodb-local';
import { createLocalGateway, localInvocationUri, type LocalFunction } from '../../lib/local/gateway';
import { startGatewayServer, type RunningServer } from '../../lib/local/server';
import { buildApiDocument } from '../../lib/openapi/build';
import { benchAuthorizerClient, benchAuthorizerSettings, benchWebhookSettings, freshBenchTables, seedCustomers } from '../lib/authorizer';
import { SIZES } from '../lib/sizes';
import { ratioMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

const CONNECTIONS = 8;
const NAMES = { authorizer: 'tollgate-authorizer', webhook: 'tollgate-webhook', backend: 'tollgate-backend' };

interface LoadResult {
  readonly perSecond: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** autocannon in a child process (same process tree, its own core), loopback, bounded duration. */
function autocannon(root: string, url: string, seconds: number, headers: Record<string, string> = {}): Promise<LoadResult> {
  const bin = path.join(root, 'node_modules', 'autocannon', 'autocannon.js');
  const args = [bin, '-j', '-c', String(CONNECTIONS), '-d', String(seconds), ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]), url];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root, maxBuffer: 16 * 2 ** 20, timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      if (err) {
        reject(new Error(`autocannon failed: ${err.message.split('\n')[0] ?? ''}`));
        return;
      }
      const out = JSON.parse(stdout) as { requests: { total: number }; non2xx: number; errors: number; duration: number; '2xx': number };
      resolve({ perSecond: out['2xx'] / out.duration, requests: out.requests.total, non2xx: out.non2xx, errors: out.errors });
    });
  });
}

/** B5: the gateway's throughput with the authorizer cached, uncached, and the raw read it rests on. */
export const figure: Figure = {
  id: 'B5',
  title: 'requests/s through the local gateway: secured (cached) / public, uncached / raw GetItem',
  async run(context) {
    const sizes = SIZES[context.mode];
    const names = await freshBenchTables(context.dynamodbEndpoint, 'gateway');
    const seeder = localClient(context.dynamodbEndpoint);
    const customers = await seedCustomers(seeder, names, 1).finally(() => seeder.destroy());
    const credential = customers.allow[0]!;
    const authorizerClient = benchAuthorizerClient(context.dynamodbEndpoint);
    const rawClient = benchAuthorizerClient(context.dynamodbEndpoint);
    const webhookClient = localClient(context.dynamodbEndpoint);
    const settings = benchAuthorizerSettings(context.root, names.customers);
    const functions: Record<string, LocalFunction> = {
      [NAMES.authorizer]: composeAuthorizer(settings, { dynamodb: authorizerClient }),
      [NAMES.webhook]: composeWebhook(benchWebhookSettings(names), {
        dynamodb: webhookClient,
        signingSecrets: () => Promise.resolve(['whsec_bench_unused_in_this_figure']),
        flusher: { flush: () => Promise.resolve() },
      }),
      [NAMES.backend]: sampleBackend,
    };
    const gatewayWithTtl = (ttl: number) =>
      createLocalGateway({
        document: buildApiDocument({
          document: loadApiDocument(DEFAULT_CONFIG.openApiDocument, context.root),
          authorizerUri: localInvocationUri(NAMES.authorizer),
          webhookUri: localInvocationUri(NAMES.webhook),
          backend: { type: 'lambda', invocationUri: localInvocationUri(NAMES.backend) },
          authorizerCacheTtlSeconds: ttl,
          corsAllowOrigin: DEFAULT_CONFIG.corsAllowOrigin,
          docsBaseUrl: DEFAULT_CONFIG.docsBaseUrl,
        }).document,
        functions,
        stage: 'prod',
      });
    const servers: RunningServer[] = [];
    try {
      const cached = await startGatewayServer(gatewayWithTtl(DEFAULT_CONFIG.authorizerCacheTtlSeconds), { port: 0 });
      servers.push(cached);
      const uncached = await startGatewayServer(gatewayWithTtl(0), { port: 0 });
      servers.push(uncached);
      const auth = { Authorization: `Bearer ${credential.key}` };
      const secured = '/prod/v1/quotes';
      const open = '/prod/v1/status';
      for (const [url, headers] of [[`${cached.url}${secured}`, auth], [`${uncached.url}${secured}`, auth], [`${cached.url}${open}`, {}]] as const) {
        const response = await fetch(url, { headers });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`benchmark set-up is wrong: ${url} answered ${response.status}, expected 200`);
      }

      // The physical floor of an uncached request: the authorizer's GetItem, CONNECTIONS in flight.
      const getItem = new GetItemCommand({
        TableName: names.customers,
        Key: { customerId: { S: credential.customerId } },
        ConsistentRead: true,
        ...decisionProjection(parseApiKey(credential.key)!.keyId),
      });
      const rawGetItems = async (seconds: number): Promise<number> => {
        const end = Date.now() + seconds * 1000;
        let done = 0;
        const started = process.hrtime.bigint();
        await Promise.all(
          Array.from({ length: CONNECTIONS }, async () => {
            while (Date.now() < end) {
              await rawClient.send(getItem);
              done += 1;
            }
          }),
        );
        return done / (Number(process.hrtime.bigint() - started) / 1e9);
      };

      if (context.mode !== 'smoke') {
        const warm = Math.max(1, Math.ceil(sizes.loadSeconds / 2));
        await autocannon(context.root, `${cached.url}${secured}`, warm, auth);
        await autocannon(context.root, `${cached.url}${open}`, warm);
        await autocannon(context.root, `${uncached.url}${secured}`, warm, auth);
        await rawGetItems(warm);
      }

      const cachedVsPublic: { a: number; b: number }[] = [];
      const uncachedVsRaw: { a: number; b: number }[] = [];
      let non2xx = 0;
      let errors = 0;
      let requests = 0;
      const track = (r: LoadResult): number => {
        non2xx += r.non2xx;
        errors += r.errors;
        requests += r.requests;
        return r.perSecond;
      };
      for (let rep = 0; rep < sizes.repetitions; rep++) {
        const flip = rep % 2 === 1;
        const a1 = flip ? undefined : track(await autocannon(context.root, `${cached.url}${secured}`, sizes.loadSeconds, auth));
        const b1 = track(await autocannon(context.root, `${cached.url}${open}`, sizes.loadSeconds));
        const a1b = a1 ?? track(await autocannon(context.root, `${cached.url}${secured}`, sizes.loadSeconds, auth));
        cachedVsPublic.push({ a: a1b, b: b1 });
        const b2 = flip ? await rawGetItems(sizes.loadSeconds) : undefined;
        const a2 = track(await autocannon(context.root, `${uncached.url}${secured}`, sizes.loadSeconds, auth));
        const b2b = b2 ?? (await rawGetItems(sizes.loadSeconds));
        uncachedVsRaw.push({ a: a2, b: b2b });
      }
      return {
        available: true,
        measures: [
          ratioMeasure('secured (authorizer cached) req/s / public req/s', cachedVsPublic, { unit: '/s', target: { op: '>=', value: 0.75 } }),
          ratioMeasure('secured (uncached) req/s / raw GetItem/s', uncachedVsRaw, { unit: '/s', target: { op: '>=', value: 0.8 } }),
        ],
        facts: { connections: CONNECTIONS, secondsPerRun: sizes.loadSeconds, requests, non2xx, errors },
        notes: [
          `autocannon (${CONNECTIONS} connections, loopback) in a child process against the local gateway's HTTP server in the figure's process; runs alternate A B / B A.`,
          'Both sides of the first ratio reach the same in-process sample backend; "cached" is the stack\'s default TTL (300 s), "uncached" a gateway built with TTL 0.',
          'The raw GetItem/s runs the authorizer\'s exact read in-process with the same client settings and as many requests in flight as autocannon has connections.',
        ],
      };
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      authorizerClient.destroy();
      rawClient.destroy();
      webhookClient.destroy();
    }
  },
};
