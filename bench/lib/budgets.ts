import { BatchGetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { AuthorizerHandler } from '../../lambda/authorizer/compose';
import { BUDGET_LEFT, MAX_BUDGET_LIMIT } from '../../lambda/shared/budgets';
import { parseApiKey } from '../../lambda/shared/customers/api-key';
import { setBudget } from '../../lambda/shared/customers/budgets-store';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { grantCredits } from '../../lambda/shared/customers/metered-usage';
import { walletKey } from '../../lambda/shared/customers/wallet';
import { decisionBatchRequest } from '../../lambda/shared/customers/decision-reads';
import type { TableNames } from '../../lambda/shared/tables';
import { authorizerEvent, type Credential } from './authorizer';
import { outcomeOf } from './decisions';
import { cycling, latenciesAgainst, type PairedPercentiles, type Probe } from './interleave';
import { recordDecisionReads, replayClient } from './replay';
import type { RequestCounter } from './request-counter';
import type { Sizes } from './sizes';

/**
 * Budgets on and off for one decision (B1's on the route sold by use, B10's strict one): the same handler on
 * customers of the same shape, half of them with a customer budget and a key budget that the run never
 * reaches, interleaved. Before the timing, the set-up proves that the decision reads the budgets: a customer
 * whose budget is used up gets a 402, the budgeted customers an Allow. Beside the pair, interleaved with it,
 * the decision's raw requests for the same two sets of customers on a raw client: what the bigger wallet item
 * costs DynamoDB Local and the SDK, apart from what tollgate's code does with it.
 */

export type BenchRoute = { readonly method: string; readonly resource: string; readonly path: string };

/** A pay-as-you-go customer: a key, and `credits` units on its wallet as a purchase grants them. */
export async function seedWalletCustomer(seeder: DynamoDBClient, names: TableNames, credits: number, prefix = 'cus_strict'): Promise<Credential> {
  const customerId = `${prefix}${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const { key } = await createApiKey({ client: seeder, tables: { customers: names.customers, apiKeys: names.apiKeys } }, { customerId, name: 'bench' });
  await grantCredits(seeder, { customers: names.customers, events: names.events }, { customerId, units: credits, reason: 'bench', grantId: randomUUID(), now: new Date() });
  return { customerId, key };
}

/** The largest cap on the customer and on its key, per day: checked on every decision, never reached. */
async function budgetBoth(seeder: DynamoDBClient, table: string, credential: Credential, limit = MAX_BUDGET_LIMIT): Promise<void> {
  const now = new Date();
  await setBudget(seeder, table, { customerId: credential.customerId }, limit, 'day', now);
  await setBudget(seeder, table, { customerId: credential.customerId, keyId: parseApiKey(credential.key)!.keyId }, limit, 'day', now);
}

export interface BudgetOnOff {
  /** A: customers with budgets; B: the same decision for customers without. */
  readonly latencies: PairedPercentiles;
  /** A: the decision's raw requests for the customers with budgets; B: for those without (p50 and p99 per repetition). */
  readonly raw: Pick<PairedPercentiles, 'p50' | 'p99'>;
  /**
   * Per repetition, a: the decision with budgets less what the raw requests take longer for the same
   * customers (DynamoDB Local and the SDK on the bigger item); b: the decision without budgets. Its ratio
   * is what tollgate's own code adds for a budget.
   */
  readonly ownP50: Array<{ a: number; b: number }>;
  /**
   * In process, on the recorded answers (replay.ts; no DynamoDB Local, no socket), per repetition: a is the
   * live decision without budgets plus what budgets add to the SDK's BatchGetItem alone (`sdk`) or to the
   * decision less that (`own`, tollgate's code); b is the live decision without budgets.
   */
  readonly inProcess?: { readonly sdk: Array<{ a: number; b: number }>; readonly own: Array<{ a: number; b: number }>; readonly addedMicroseconds: { readonly sdk: number[]; readonly own: number[] } };
  /** DynamoDB requests the counters saw over both sides, and the decisions made. */
  readonly requests: number;
  readonly decisions: number;
  readonly customersPerSide: number;
}

export async function budgetOnOff(options: {
  readonly seeder: DynamoDBClient;
  readonly names: TableNames;
  readonly handler: AuthorizerHandler;
  readonly route: BenchRoute;
  readonly sizes: Sizes;
  /** The decision's clients' counters: reset before the timing. */
  readonly counters: readonly RequestCounter[];
  /** The decision's requests for these customers, as the reader sends them, on a raw client that no counter counts. */
  readonly raw: (credentials: readonly Credential[]) => Probe | Promise<Probe>;
  /** The same handler on another client: the decision is then also timed in process on the recorded answers (a route whose decision only reads). */
  readonly handlerOn?: (client: DynamoDBClient) => AuthorizerHandler;
}): Promise<BudgetOnOff> {
  const { seeder, names, handler, route, sizes } = options;
  const seedMany = (): Promise<Credential[]> => Promise.all(Array.from({ length: sizes.customers }, () => seedWalletCustomer(seeder, names, 1_000_000_000, 'cus_budget')));
  const [withBudgets, without] = await Promise.all([seedMany(), seedMany()]);
  for (const c of withBudgets) await budgetBoth(seeder, names.customers, c);

  // The decision must read the budgets: one used up (its left counter at 0) answers 402.
  const spent = await seedWalletCustomer(seeder, names, 1_000_000_000, 'cus_budget');
  await budgetBoth(seeder, names.customers, spent);
  await seeder.send(
    new UpdateItemCommand({ TableName: names.customers, Key: { customerId: { S: walletKey(spent.customerId) } }, UpdateExpression: 'SET #left = :zero', ExpressionAttributeNames: { '#left': BUDGET_LEFT }, ExpressionAttributeValues: { ':zero': { N: '0' } } }),
  );
  const expect = async (credentials: readonly Credential[], expected: 'allow' | 'deny'): Promise<void> => {
    for (const c of credentials) {
      const event = authorizerEvent(c.key, route);
      const outcome = await outcomeOf(handler(event), event.methodArn);
      if (outcome !== expected) throw new Error(`benchmark set-up is wrong: ${c.customerId} got ${outcome} on ${route.method} ${route.path}, expected ${expected}`);
    }
  };
  await expect([spent], 'deny');
  await expect(withBudgets, 'allow');
  await expect(without, 'allow');

  // Built before the timing, as B1's probes are.
  const probe = (credentials: readonly Credential[]) =>
    cycling(
      credentials.map((c): APIGatewayRequestAuthorizerEvent => authorizerEvent(c.key, route)),
      (event) => handler(event),
    );
  for (const counter of options.counters) counter.reset();
  // Four sides interleaved (A, raw A, raw B, B …): each of the first three is paired with B's p50 and p99.
  const [rawWithProbe, rawWithoutProbe] = [await options.raw(withBudgets), await options.raw(without)];
  const [latencies, rawWith, rawWithout] = await latenciesAgainst([probe(withBudgets), rawWithProbe, rawWithoutProbe], probe(without), sizes);
  const requests = options.counters.reduce((sum, counter) => sum + counter.total(), 0);
  const rawPair = (p: 'p50' | 'p99') => rawWith![p].map((r, i) => ({ a: r.a, b: rawWithout![p][i]!.a }));
  const raw = { p50: rawPair('p50'), p99: rawPair('p99') };
  const ownP50 = latencies!.p50.map((d, i) => ({ a: d.a - (raw.p50[i]!.a - raw.p50[i]!.b), b: d.b }));
  const inProcess = options.handlerOn === undefined ? undefined : await onRecordedAnswers(options.handlerOn, seeder, names.customers, route, withBudgets, without, latencies!, sizes);
  return { latencies: latencies!, raw, ownP50, ...(inProcess === undefined ? {} : { inProcess }), requests, decisions: 2 * latencies!.callsPerSide, customersPerSide: sizes.customers };
}

/** What budgets add to the SDK and to tollgate's code, apart from DynamoDB Local and the socket: the decision and its BatchGetItem on the recorded answers. */
async function onRecordedAnswers(
  handlerOn: (client: DynamoDBClient) => AuthorizerHandler,
  recorder: DynamoDBClient,
  table: string,
  route: BenchRoute,
  withBudgets: readonly Credential[],
  without: readonly Credential[],
  live: PairedPercentiles,
  sizes: Sizes,
): Promise<NonNullable<BudgetOnOff['inProcess']>> {
  const answers = new Map([...(await recordDecisionReads(recorder, table, withBudgets)), ...(await recordDecisionReads(recorder, table, without))]);
  const client = replayClient(answers);
  try {
    const handler = handlerOn(client);
    const decisions = (credentials: readonly Credential[]) => cycling(credentials.map((c) => authorizerEvent(c.key, route)), (event) => handler(event));
    const reads = (credentials: readonly Credential[]) =>
      cycling(
        credentials.map((c) => new BatchGetItemCommand({ RequestItems: decisionBatchRequest(table, c.customerId, parseApiKey(c.key)!.keyId) })),
        (request) => client.send(request),
      );
    // A few hundred µs a call: four times the live samples for the same spread.
    const more = { ...sizes, latencySamples: 4 * sizes.latencySamples, latencyWarmup: 4 * sizes.latencyWarmup };
    const [decided, readWith, readWithout] = await latenciesAgainst([decisions(withBudgets), reads(withBudgets), reads(without)], decisions(without), more);
    const sdk = readWith!.p50.map((r, i) => r.a - readWithout!.p50[i]!.a);
    const own = decided!.p50.map((d, i) => d.a - d.b - sdk[i]!);
    const over = (added: number[]) => added.map((ms, i) => ({ a: live.p50[i]!.b + ms, b: live.p50[i]!.b }));
    const micro = (added: number[]) => added.map((ms) => Math.round(ms * 10_000) / 10);
    return { sdk: over(sdk), own: over(own), addedMicroseconds: { sdk: micro(sdk), own: micro(own) } };
  } finally {
    client.destroy();
  }
}
