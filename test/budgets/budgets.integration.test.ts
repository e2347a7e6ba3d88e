import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import fc from 'fast-check';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { evaluatePolicy } from '../../lambda/authorizer/policy';
import { removeBudget, setBudget, UnknownKeyForBudgetError } from '../../lambda/shared/customers/budgets-store';
import { budgetSpends } from '../../lambda/shared/customers/budgets-spend';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { readMeteredUsage, walletCreditsItem } from '../../lambda/shared/customers/metered-usage';
import { walletKey } from '../../lambda/shared/customers/wallet';
import { budgetEntryString, parseBudgetEntry } from '../../lambda/shared/budgets';
import { decisionBatchRequest } from '../../lambda/shared/customers/decision-reads';
import { BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import type { RouteRule } from '../../lambda/shared/requirements';
import type { AuthorizerSettings } from '../../lambda/shared/settings';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { quietObservability } from '../support/observability';
import { BASE, bearer, itemOf, oneSubscription, ROUTES, routeEvent } from '../authorizer/support';
import { makeBudgetHandler } from '../../lambda/usage/budget';
import type { APIGatewayProxyEvent } from 'aws-lambda';

const NOW = new Date('2026-08-01T12:00:00Z');
const T = NOW.getTime() / 1000;
const DAY_END = Math.ceil(T / 86_400) * 86_400;
const PERIOD_END = T + 10 * 86_400;

const SEARCH: RouteRule = { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } };
const ASK: RouteRule = { method: 'POST', path: '/v1/ask', requires: { kind: 'subscription' }, usage: { cost: 5, strict: true } };

let tables: TestTables;
let documents: DynamoDBDocumentClient;
let seq = 0;

beforeAll(async () => {
  tables = await freshTables('budgets');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => tables.client.destroy());

const settings = (): AuthorizerSettings => ({
  customersTable: tables.names.customers,
  routes: [...ROUTES, SEARCH, ASK],
  gracePeriodSeconds: 0,
  portalUrl: 'https://billing.example/portal',
  plans: { sample_metered: { name: 'Metered', quota: 1000, overage: 'block' } },
});
const handler = (now = NOW) =>
  // A generous deadline: these tests are about what is spent, not how fast (16 calls at once on a loaded machine).
  makeAuthorizerHandler({ customers: new DynamoCustomerReader(tables.client, tables.names.customers, { deadlineMs: 10_000 }), settings: settings(), now: () => now, observability: quietObservability() });
const allows = (result: APIGatewayAuthorizerResult, route: RouteRule): boolean => evaluatePolicy(result.policyDocument, `${BASE}/${route.method}${route.path}`) === 'Allow';
const call = (route: RouteRule, key: string, now = NOW) => handler(now)(routeEvent(route, bearer(key)));
const table = () => tables.names.customers;

async function customer(credits = 1000): Promise<{ customerId: string; keys: Array<{ key: string; keyId: string }> }> {
  const customerId = `cus_Bud${++seq}x${Math.random().toString(36).slice(2, 8)}`;
  const store = { client: tables.client, tables: { customers: table(), apiKeys: tables.names.apiKeys }, now: () => NOW };
  const a = await createApiKey(store, { customerId, name: 'agent' });
  const b = await createApiKey(store, { customerId, name: 'app' });
  const { customerId: _id, ...item } = itemOf(oneSubscription(customerId, { subscriptionStatus: 'active', plan: 'sample_metered', currentPeriodEnd: PERIOD_END }, T));
  await setCustomerAttributes(documents, table(), customerId, { ...item, credits });
  return { customerId, keys: [a, b] };
}

/** The customer's wallet item, where its balance and budgets live. */
const wallet = async (customerId: string): Promise<Record<string, unknown>> =>
  (await documents.send(new GetCommand({ TableName: table(), Key: { customerId: walletKey(customerId) }, ConsistentRead: true }))).Item ?? {};

/** Metering's wallet write for `units` counted calls of the key, as the metering store sends it. */
async function meter(customerId: string, units: number, keyId: string, now = NOW): Promise<void> {
  const state = (await readMeteredUsage(tables.client, table(), customerId))!;
  const spends = budgetSpends(state, { units, keys: new Map([[keyId, units]]) }, now);
  const update = walletCreditsItem(table(), customerId, { counters: [], credits: { delta: 0 }, budgets: spends }, now);
  if (update !== undefined && 'Update' in update) await documents.send(new UpdateCommand(update.Update));
}

describe('budgets at the authorizer (DynamoDB Local)', () => {
  it('answers budget_exceeded with limit, used and resetsAt once metering spent the cap, and a raise opens at once', async () => {
    const { customerId, keys } = await customer();
    const key = keys[0]!;
    const set = await setBudget(tables.client, table(), { customerId }, 3, 'day', NOW);
    expect(set).toMatchObject({ limit: 3, used: 0, left: 3, resetsAt: DAY_END, window: 'day' });
    expect(allows(await call(SEARCH, key.key), SEARCH)).toBe(true);
    await meter(customerId, 3, key.keyId);
    const denied = await call(SEARCH, key.key);
    expect(allows(denied, SEARCH)).toBe(false);
    expect(denied.context).toMatchObject({ reason: 'budget_exceeded', limit: 3, used: 3, resetsAt: `"${new Date(DAY_END * 1000).toISOString()}"`, budgetScope: 'customer' });
    // Standing routes do not spend units: a budget never closes them.
    expect(allows(await call(ROUTES[1]!, key.key), ROUTES[1]!)).toBe(true);
    const raised = await setBudget(tables.client, table(), { customerId }, 10, 'day', NOW);
    expect(raised).toMatchObject({ limit: 10, used: 3, left: 7 });
    expect(allows(await call(SEARCH, key.key), SEARCH)).toBe(true);
    await setBudget(tables.client, table(), { customerId }, 3, 'day', NOW);
    expect(allows(await call(SEARCH, key.key), SEARCH)).toBe(false);
    expect(await removeBudget(tables.client, table(), { customerId })).toBe(true);
    expect(allows(await call(SEARCH, key.key), SEARCH)).toBe(true);
    expect(await removeBudget(tables.client, table(), { customerId })).toBe(false);
  });

  it('caps one key only: the customer’s other key keeps working', async () => {
    const { customerId, keys } = await customer();
    const [agent, app] = keys as [{ key: string; keyId: string }, { key: string; keyId: string }];
    await setBudget(tables.client, table(), { customerId, keyId: agent.keyId }, 2, 'period', NOW);
    await meter(customerId, 2, agent.keyId);
    const denied = await call(SEARCH, agent.key);
    expect(denied.context).toMatchObject({ reason: 'budget_exceeded', limit: 2, used: 2, budgetScope: 'key', resetsAt: `"${new Date(PERIOD_END * 1000).toISOString()}"` });
    expect(allows(await call(SEARCH, app.key), SEARCH)).toBe(true);
    await expect(setBudget(tables.client, table(), { customerId, keyId: 'zzzzzzzz' }, 2, 'day', NOW)).rejects.toThrow(UnknownKeyForBudgetError);
  });

  it('a window that ended counts from zero, and the next strict reservation starts the new one', async () => {
    const { customerId, keys } = await customer();
    await setBudget(tables.client, table(), { customerId }, 5, 'day', NOW);
    expect(allows(await call(ASK, keys[0]!.key), ASK)).toBe(true);
    expect((await call(ASK, keys[0]!.key)).context).toMatchObject({ reason: 'budget_exceeded', used: 5 });
    const tomorrow = new Date(NOW.getTime() + 86_400_000);
    expect(allows(await call(ASK, keys[0]!.key, tomorrow), ASK)).toBe(true);
    const item = await wallet(customerId);
    expect(item.budgetLeft).toBe(0);
    expect(parseBudgetEntry(item.budget as string)?.resetsAt).toBe(DAY_END + 86_400);
  });

  it('metering starts a window that ended at the cap less its units, and its write needs the budget as it read it', async () => {
    const { customerId, keys } = await customer();
    const keyId = keys[0]!.keyId;
    await setBudget(tables.client, table(), { customerId }, 10, 'day', NOW);
    await meter(customerId, 10, keyId);
    const tomorrow = new Date(NOW.getTime() + 86_400_000);
    await meter(customerId, 3, keyId, tomorrow);
    const item = await wallet(customerId);
    expect(item.budgetLeft).toBe(7);
    expect(item.budget).toBe(budgetEntryString({ limit: 10, window: 'day', resetsAt: DAY_END + 86_400 }));
    // Read, then the cap raised before the write: the write is refused (metering reads again), never applied to the old cap.
    const state = (await readMeteredUsage(tables.client, table(), customerId))!;
    await setBudget(tables.client, table(), { customerId }, 20, 'day', tomorrow);
    const stale = walletCreditsItem(table(), customerId, { counters: [], credits: { delta: 0 }, budgets: budgetSpends(state, { units: 1 }, tomorrow) }, tomorrow);
    await expect(documents.send(new UpdateCommand((stale as { Update: ConstructorParameters<typeof UpdateCommand>[0] }).Update))).rejects.toThrow(/conditional request failed/i);
    expect((await wallet(customerId)).budgetLeft).toBe(17);
  });

  it("reads the customer's budget and the presented key's only, however many keys have one", async () => {
    const { customerId, keys } = await customer();
    await setBudget(tables.client, table(), { customerId }, 50, 'day', NOW);
    for (const { keyId } of keys) await setBudget(tables.client, table(), { customerId, keyId }, 5, 'day', NOW);
    const out = await tables.client.send(new BatchGetItemCommand({ RequestItems: decisionBatchRequest(table(), customerId, keys[0]!.keyId) }));
    const walletItem = out.Responses![table()]!.find((i) => i.customerId!.S === walletKey(customerId))!;
    expect(Object.keys(walletItem).filter((name) => name.startsWith('budget')).sort()).toEqual(['budget', `budgetLeft`, `budgetLeft_${keys[0]!.keyId}`, `budget_${keys[0]!.keyId}`].sort());
    expect(Object.keys(await wallet(customerId))).toEqual(expect.arrayContaining([`budget_${keys[1]!.keyId}`, `budgetLeft_${keys[1]!.keyId}`]));
  });

  it('never lets concurrent strict calls spend past a budget (zero overshoot)', async () => {
    const { customerId, keys } = await customer();
    await setBudget(tables.client, table(), { customerId }, 23, 'day', NOW);
    await setBudget(tables.client, table(), { customerId, keyId: keys[1]!.keyId }, 12, 'day', NOW);
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => call(ASK, keys[i % 2]!.key)));
    const allowed = results.map((r, i) => ({ allowed: allows(r, ASK), key: i % 2 }));
    const byKey1 = allowed.filter((a) => a.allowed && a.key === 1).length;
    // 23 units allow 4 calls of 5; key 1 alone may take at most 2 of them (12 units).
    expect(allowed.filter((a) => a.allowed).length).toBe(4);
    expect(byKey1).toBeLessThanOrEqual(2);
    expect((await wallet(customerId)).balance).toBe(1000 - 20);
  });

  it('a strict route follows the model exactly whatever the sequence of calls, raises and cuts (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant({ op: 'call' as const }), fc.record({ op: fc.constant('set' as const), limit: fc.integer({ min: 1, max: 30 }) })), { minLength: 1, maxLength: 25 }),
        async (ops) => {
          const { customerId, keys } = await customer();
          let limit: number | undefined;
          let spent = 0;
          for (const op of ops) {
            if (op.op === 'set') {
              const state = await setBudget(tables.client, table(), { customerId }, op.limit, 'day', NOW);
              limit = op.limit;
              expect(state.used).toBe(Math.max(0, spent));
              continue;
            }
            const allowed = allows(await call(ASK, keys[0]!.key), ASK);
            const expected = limit === undefined || limit - spent >= 5;
            expect(allowed).toBe(expected);
            // Without a budget nothing is counted against one that comes later.
            if (allowed && limit !== undefined) spent += 5;
          }
          if (limit !== undefined) expect((await wallet(customerId)).budgetLeft).toBe(limit - spent);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('PUT and DELETE /tollgate/budget: the caller caps itself or its own key with that key', async () => {
    const { customerId, keys } = await customer();
    const route = makeBudgetHandler({ dynamodb: tables.client, customersTable: table(), now: () => NOW });
    const send = (httpMethod: string, body: unknown, keyId: string, query?: Record<string, string>) =>
      route({ httpMethod, resource: '/tollgate/budget', body: body === undefined ? null : JSON.stringify(body), isBase64Encoded: false, queryStringParameters: query ?? null, requestContext: { authorizer: { customerId, keyId } } } as unknown as APIGatewayProxyEvent);
    const put = await send('PUT', { limit: 5, per: 'day', scope: 'key' }, keys[0]!.keyId);
    expect(put.statusCode).toBe(200);
    expect(JSON.parse(put.body)).toEqual({ scope: 'key', limit: 5, per: 'day', used: 0, left: 5, resetsAt: new Date(DAY_END * 1000).toISOString() });
    expect(allows(await call(ASK, keys[0]!.key), ASK)).toBe(true);
    expect((await call(ASK, keys[0]!.key)).context).toMatchObject({ reason: 'budget_exceeded', budgetScope: 'key' });
    expect(allows(await call(ASK, keys[1]!.key), ASK)).toBe(true);
    expect(JSON.parse((await send('DELETE', undefined, keys[0]!.keyId, { scope: 'key' })).body)).toEqual({ removed: true });
    expect(allows(await call(ASK, keys[0]!.key), ASK)).toBe(true);
    const bad = await send('PUT', { limit: 0 }, keys[0]!.keyId);
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).detail).toBe('a budget is a whole number of units from 1 to 1000000000000');
    expect((await send('PUT', { limit: 5, per: 'week' }, keys[0]!.keyId)).statusCode).toBe(400);
  });
});
