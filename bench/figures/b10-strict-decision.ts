import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { composeAuthorizer, type AuthorizerClients } from '../../lambda/authorizer/compose';
import { newReservationId, walletKey, walletReservationUpdate } from '../../lambda/shared/customers/wallet';
import { createApiKey } from '../../lambda/shared/customers/keys';
import type { RouteRule } from '../../lambda/shared/requirements';
import { authorizerDynamoClient } from '../../lambda/authorizer/dynamo-client';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClient } from '../../lib/local/dynamodb-local';
import { authorizerEvent, benchAuthorizerClient, benchAuthorizerSettings, freshBenchTables, type Credential } from '../lib/authorizer';
import { outcomeOf } from '../lib/decisions';
import { cycling, pairedLatencies, throughput } from '../lib/interleave';
import { countRequests } from '../lib/request-counter';
import { SIZES } from '../lib/sizes';
import { exactMeasure, ratioMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

/** A strict route of the sample's shape: 1 unit per call, reserved from the prepaid balance at decision time. */
const STRICT: RouteRule = { method: 'POST', path: '/v1/ask', requires: { kind: 'subscription' }, usage: { cost: 1, strict: true } };
const STRICT_EVENT = { method: STRICT.method, resource: STRICT.path, path: STRICT.path };
const CLIENTS = 8;
/** Balance for the overshoot runs: each run spends it to 0 and beyond with CLIENTS callers. */
const OVERSHOOT_BALANCE = { full: 400, quick: 100, smoke: 40 } as const;

/**
 * B10: a strict-mode decision (one conditional UpdateItem that reserves the cost and authenticates the
 * key) against that same raw UpdateItem, and the overshoot of CLIENTS concurrent callers on a balance.
 */
export const figure: Figure = {
  id: 'B10',
  title: 'strict decision latency / raw wallet UpdateItem; write units; overshoot under 8 concurrent clients',
  async run(context) {
    const sizes = SIZES[context.mode];
    const names = await freshBenchTables(context.dynamodbEndpoint, 'strict');
    const seeder = localClient(context.dynamodbEndpoint);
    const authorizerClient = benchAuthorizerClient(context.dynamodbEndpoint);
    const rawClient = benchAuthorizerClient(context.dynamodbEndpoint);
    // As index.ts wires it: reservations on a client that does not retry (a retried ADD could charge twice).
    const reservationClient = authorizerDynamoClient({ endpoint: context.dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const documents = DynamoDBDocumentClient.from(seeder);
    const cleanup: Array<() => void> = [];
    const settings = { ...benchAuthorizerSettings(context.root, names.customers) };
    const routes = [...settings.routes, STRICT];
    const handlerOn = (clients: AuthorizerClients) => composeAuthorizer({ ...settings, routes }, clients);
    const setCredits = (customerId: string, credits: number) =>
      documents.send(new UpdateCommand({ TableName: names.customers, Key: { customerId }, UpdateExpression: 'SET credits = :c', ExpressionAttributeValues: { ':c': credits } }));
    const seed = async (credits: number): Promise<Credential> => {
      const customerId = `cus_strict${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const { key } = await createApiKey({ client: seeder, tables: { customers: names.customers, apiKeys: names.apiKeys } }, { customerId, name: 'bench' });
      await setCredits(customerId, credits);
      return { customerId, key };
    };
    try {
      // Latency: balances far above what the run spends, so every decision is an Allow.
      const credentials = await Promise.all(Array.from({ length: sizes.customers }, () => seed(1_000_000_000)));
      const handler = handlerOn({ dynamodb: authorizerClient, reservations: reservationClient });
      for (const c of credentials) {
        const event = authorizerEvent(c.key, STRICT_EVENT);
        const outcome = await outcomeOf(handler(event), event.methodArn);
        if (outcome !== 'allow') throw new Error(`benchmark set-up is wrong: ${c.customerId} got ${outcome}, expected allow`);
      }
      // Built before the timing, as in B1 (bench/lib/decisions.ts decisionProbe).
      const decide = cycling(
        credentials.map((c) => authorizerEvent(c.key, STRICT_EVENT)),
        (event) => handler(event),
      );
      // The floor: the reader's exact wallet write (condition, balance, pending entry, return values) on a client of the same settings.
      const raw = cycling(credentials, (c) => rawClient.send(walletReservationUpdate(names.customers, { customerId: c.customerId, reservation: newReservationId(), cost: 1, now: new Date() })));
      // The reservation's write units, as DynamoDB reports them (goal 1: the wallet is a small item).
      const measured = walletReservationUpdate(names.customers, { customerId: credentials[0]!.customerId, reservation: newReservationId(), cost: 1, now: new Date() });
      measured.input.ReturnConsumedCapacity = 'TOTAL';
      const writeUnits = (await rawClient.send(measured)).ConsumedCapacity?.CapacityUnits ?? NaN;
      const counter = countRequests(reservationClient);
      const reads = countRequests(authorizerClient);
      counter.reset();
      reads.reset();
      const { p50, p99, callsPerSide: decisions } = await pairedLatencies([decide, raw], sizes);
      const requests = counter.total() + reads.total();

      // Overshoot: CLIENTS callers keep calling a strict route on one balance until twice what it covers.
      // The default local client and a long store deadline: a request cut off by a loaded machine would hide
      // a call (and, retried, spend its units twice), which is not what this counts.
      const patient = localClient(context.dynamodbEndpoint);
      cleanup.push(() => patient.destroy());
      const concurrent = handlerOn({ dynamodb: patient, readDeadlineMs: 60_000 });
      const balance = OVERSHOOT_BALANCE[context.mode];
      let overshoot = 0;
      let allowedTotal = 0;
      let errors = 0;
      const runs: Array<{ allowed: number; denied: number; final: number }> = [];
      for (let rep = 0; rep < sizes.repetitions; rep++) {
        const target = await seed(balance);
        const outcomes = { allow: 0, deny: 0, unauthorized: 0, error: 0 };
        await throughput(balance * 2, CLIENTS, async () => {
          const event = authorizerEvent(target.key, STRICT_EVENT);
          outcomes[await outcomeOf(concurrent(event), event.methodArn)]++;
        });
        const stored = await seeder.send(new GetItemCommand({ TableName: names.customers, Key: { customerId: { S: walletKey(target.customerId) } }, ConsistentRead: true }));
        const final = Number(stored.Item?.balance?.N ?? NaN);
        overshoot = Math.max(overshoot, outcomes.allow - balance, -final);
        allowedTotal += outcomes.allow;
        errors += outcomes.error + outcomes.unauthorized;
        runs.push({ allowed: outcomes.allow, denied: outcomes.deny, final });
      }
      return {
        available: true,
        measures: [
          ratioMeasure('p50 strict decision / p50 conditional UpdateItem', p50, { unit: 'ms', target: { op: '<=', value: 1.15 } }),
          ratioMeasure('p99 strict decision / p99 conditional UpdateItem', p99, { unit: 'ms' }),
          // The customer item (key, standing) then the wallet's write: the write alone is B's side.
          exactMeasure('DynamoDB requests per strict decision', requests / decisions, { a: requests, b: decisions, target: { op: '==', value: 2 } }),
          exactMeasure('write units per strict reservation', writeUnits, { target: { op: '==', value: 1 } }),
          exactMeasure(`calls allowed beyond the balance, ${CLIENTS} concurrent clients (worst run)`, overshoot, {
            a: allowedTotal,
            b: balance * sizes.repetitions,
            target: { op: '==', value: 0 },
          }),
        ],
        facts: {
          decisions,
          requestsByOperation: { ...reads.counts.attempts, ...counter.counts.attempts },
          writeUnitsPerReservation: writeUnits,
          overshootRuns: runs,
          overshootBalance: balance,
          overshootCallsPerRun: balance * 2,
          overshootErrors: errors,
          customers: credentials.length,
        },
        notes: [
          'Sequential, interleaved strict decision / raw UpdateItem pairs after a warm-up; each side has its own client built by authorizerDynamoClient(). The raw side sends the reader\'s exact UpdateItem (condition on balance and key, ADD credits -1, UPDATED_NEW) without the document client, key parsing, validation or policy.',
          `Overshoot: ${CLIENTS} callers make twice as many 1-unit strict calls as the balance covers; allowed minus balance (and a negative final balance) is the overshoot. These callers use the default local client and a long store deadline, so that a loaded machine cannot turn a call into an error.`,
        ],
      };
    } finally {
      for (const destroy of cleanup) destroy();
      seeder.destroy();
      reservationClient.destroy();
      authorizerClient.destroy();
      rawClient.destroy();
    }
  },
};
