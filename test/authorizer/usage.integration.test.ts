import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { evaluatePolicy } from '../../lambda/authorizer/policy';
import { localClient } from '../../lib/local/dynamodb-local';
import { readCustomer } from '../../lambda/shared/customers/store';
import { WALLET_ATTRIBUTES, WALLET_LEADING_KEYS } from '../../lambda/shared/customers/wallet';
import { createApiKey, revokeApiKey } from '../../lambda/shared/customers/keys';
import type { RouteRule } from '../../lambda/shared/requirements';
import type { AuthorizerSettings } from '../../lambda/shared/settings';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { attributesOf, likeAny, namedAttributes, operationsOf, type Write } from '../support/expressions';
import { quietObservability } from '../support/observability';
import { countRequests } from '../../bench/lib/request-counter';
import { BASE, bearer, itemOf, oneSubscription, ROUTES, routeEvent, type OneSubscription } from './support';

const NOW = new Date('2026-08-01T12:00:00Z');
const T = NOW.getTime() / 1000;
const PERIOD_END = T + 10 * 86_400;

const SEARCH: RouteRule = { method: 'GET', path: '/v1/search', requires: { kind: 'subscription' }, usage: { cost: 1 } };
const ASK: RouteRule = { method: 'POST', path: '/v1/ask', requires: { kind: 'subscription' }, usage: { cost: 5, strict: true } };
const ROUTES_WITH_USAGE = [...ROUTES, SEARCH, ASK];

let tables: TestTables;
let documents: DynamoDBDocumentClient;
let seq = 0;

beforeAll(async () => {
  tables = await freshTables('usage-authorizer');
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => tables.client.destroy());

const settings = (): AuthorizerSettings => ({
  customersTable: tables.names.customers,
  routes: ROUTES_WITH_USAGE,
  gracePeriodSeconds: 72 * 3600,
  portalUrl: 'https://billing.example/portal',
  checkoutUrl: 'https://pay.example/checkout',
  plans: { sample_metered: { name: 'Metered', quota: 20, overage: 'block' } },
});

const reader = (): DynamoCustomerReader => new DynamoCustomerReader(tables.client, tables.names.customers);
const handler = (customers = reader()) => makeAuthorizerHandler({ customers, settings: settings(), now: () => NOW, observability: quietObservability() });

const keyStore = () => ({ client: tables.client, tables: { customers: tables.names.customers, apiKeys: tables.names.apiKeys }, now: () => NOW });

async function customerWithKey(state: OneSubscription, usage: Record<string, number> = {}): Promise<{ customerId: string; key: string; keyId: string }> {
  const customerId = `cus_Use${++seq}x${Math.random().toString(36).slice(2, 8)}`;
  const { key, keyId } = await createApiKey(keyStore(), { customerId, name: 'usage' });
  const { customerId: _id, ...item } = itemOf(oneSubscription(customerId, state, T));
  await setCustomerAttributes(documents, tables.names.customers, customerId, { ...item, ...usage });
  return { customerId, key, keyId };
}

const event = (route: RouteRule, key: string) => routeEvent(route, bearer(key));
const allows = (result: APIGatewayAuthorizerResult, route: RouteRule): boolean =>
  evaluatePolicy(result.policyDocument, `${BASE}/${route.method}${route.path}`) === 'Allow';
/** The balance as every reader sees it: the wallet's. */
const creditsOf = async (customerId: string): Promise<unknown> => (await readCustomer(tables.client, tables.names.customers, customerId))?.credits;
const customerItemOf = async (customerId: string): Promise<Record<string, unknown> | undefined> =>
  (await documents.send(new GetCommand({ TableName: tables.names.customers, Key: { customerId }, ConsistentRead: true }))).Item;

describe('the authorizer on cost routes (DynamoDB Local)', () => {
  const metered = { subscriptionStatus: 'active', plan: 'sample_metered', currentPeriodEnd: PERIOD_END } as const;

  it('opens a metered route while the plan has units, with the period end for metering and a policy of that group only', async () => {
    const { key, customerId } = await customerWithKey(metered, { periodUsed: 19, usagePeriodEnd: PERIOD_END });
    const result = await handler()(event(SEARCH, key));
    expect(allows(result, SEARCH)).toBe(true);
    expect(result.context).toMatchObject({ customerId, periodEnd: PERIOD_END, limit: 20, used: 19 });
    // The metered authorizer's policy names its own routes only: the standing routes have their own cache.
    expect(JSON.stringify(result.policyDocument)).not.toContain('/v1/quotes');
  });

  it('answers quota_exceeded with limit, used and resetsAt once the period counter reaches the quota, standing routes still open', async () => {
    const { key } = await customerWithKey(metered, { periodUsed: 20, usagePeriodEnd: PERIOD_END });
    const denied = await handler()(event(SEARCH, key));
    expect(allows(denied, SEARCH)).toBe(false);
    expect(denied.context).toMatchObject({ reason: 'quota_exceeded', limit: 20, used: 20, resetsAt: `"${new Date(PERIOD_END * 1000).toISOString()}"`, balance: 'null' });
    const quotes = await handler()(event(ROUTES[1]!, key));
    expect(allows(quotes, ROUTES[1]!)).toBe(true);
  });

  it('counts nothing from another period: a counter of the last period leaves the quota whole', async () => {
    const { key } = await customerWithKey(metered, { periodUsed: 20, usagePeriodEnd: T - 86_400 });
    expect(allows(await handler()(event(SEARCH, key)), SEARCH)).toBe(true);
  });

  it('opens a metered route to credits without a subscription (pay-as-you-go) and answers credits_exhausted at 0', async () => {
    const payg = await customerWithKey({}, { credits: 3 });
    const open = await handler()(event(SEARCH, payg.key));
    expect(allows(open, SEARCH)).toBe(true);
    expect(open.context!.periodEnd).toBeUndefined();
    const empty = await customerWithKey({}, { credits: 0 });
    const denied = await handler()(event(SEARCH, empty.key));
    expect(denied.context).toMatchObject({ reason: 'credits_exhausted', balance: 0, paymentUrl: 'https://billing.example/portal' });
  });

  it('reserves a strict route\'s cost on the wallet: the customer item and its wallet read in one request (the grants to draw from), then one UpdateItem, with the reservation in the context', async () => {
    const { key, customerId } = await customerWithKey({}, { credits: 12 });
    const customers = reader();
    const counter = countRequests(tables.client);
    const result = await handler(customers)(event(ASK, key));
    expect(allows(result, ASK)).toBe(true);
    expect(result.context).toMatchObject({ customerId, reserved: 5, balance: 7 });
    expect(result.context!.reservation).toMatch(/^w_[0-9A-Za-z]{22}$/);
    expect(counter.counts.attempts).toEqual({ BatchGetItem: 1, UpdateItem: 1 });
    expect(await creditsOf(customerId)).toBe(7);
    // The balance is the wallet's alone: the customer item holds none and is not written.
    expect(await customerItemOf(customerId)).not.toHaveProperty('credits');
  });

  it('answers credits_exhausted when the balance does not cover the cost, and leaves the balance alone', async () => {
    const { key, customerId } = await customerWithKey({ subscriptionStatus: 'active' }, { credits: 4 });
    const result = await handler()(event(ASK, key));
    expect(allows(result, ASK)).toBe(false);
    expect(result.context).toMatchObject({ reason: 'credits_exhausted', balance: 4 });
    expect(await creditsOf(customerId)).toBe(4);
  });

  it('answers 401, not 402, for a revoked or wrong key on a strict route, and reserves nothing', async () => {
    const { key, keyId, customerId } = await customerWithKey({}, { credits: 50 });
    await expect(handler()(event(ASK, `${key.slice(0, -8)}AAAAAAAA`))).rejects.toThrow(/^Unauthorized$/);
    await revokeApiKey(keyStore(), keyId);
    await expect(handler()(event(ASK, key))).rejects.toThrow(/^Unauthorized$/);
    expect(await creditsOf(customerId)).toBe(50);
  });

  it('never overdraws: 40 concurrent strict calls against a balance of 23 allow exactly floor(23 / 5) = 4', async () => {
    const { key, customerId } = await customerWithKey({}, { credits: 23 });
    // No deadline in play: this is about the write's atomicity, not about how fast a loaded machine answers.
    const handle = handler(new DynamoCustomerReader(tables.client, tables.names.customers, { deadlineMs: 120_000 }));
    const results = await Promise.all(Array.from({ length: 40 }, () => handle(event(ASK, key))));
    const allowed = results.filter((r) => allows(r, ASK));
    expect(allowed).toHaveLength(4);
    expect(results.filter((r) => !allows(r, ASK)).every((r) => r.context!.reason === 'credits_exhausted')).toBe(true);
    expect(new Set(allowed.map((r) => r.context!.reservation)).size).toBe(4);
    expect(await creditsOf(customerId)).toBe(3);
  });
});

describe('what a strict reservation may write (IAM dynamodb:Attributes on the authorizer role)', () => {
  const ENTITLED: RouteRule = { method: 'POST', path: '/v1/ask-premium', requires: { kind: 'entitlement', lookupKey: 'premium-reports' }, usage: { cost: 2, strict: true } };

  it('writes only wallet items, naming only WALLET_ATTRIBUTES and writing the balance, its pending entry, the left counters of the customer’s and the key’s budgets and the sweep’s mark, whether it reserves or refuses', async () => {
    const sent: Write[] = [];
    const client = localClient(tables.endpoint);
    client.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(...operationsOf(String(context.commandName), args.input as Record<string, unknown>));
        return next(args);
      },
      { step: 'initialize', name: 'recordReservations' },
    );
    const handle = makeAuthorizerHandler({
      // No deadline in play: this is about what is sent, not how fast a loaded machine answers.
      customers: new DynamoCustomerReader(client, tables.names.customers, { deadlineMs: 120_000 }),
      settings: { ...settings(), routes: [...ROUTES_WITH_USAGE, ENTITLED] },
      now: () => NOW,
      observability: quietObservability(),
    });
    try {
      const paid = await customerWithKey({ subscriptionStatus: 'active', entitlements: ['premium-reports'] }, { credits: 8 });
      expect(allows(await handle(event(ASK, paid.key)), ASK)).toBe(true);
      expect(allows(await handle(event(ENTITLED, paid.key)), ENTITLED)).toBe(true);
      expect((await handle(event(ASK, paid.key))).context).toMatchObject({ reason: 'credits_exhausted' });
      const unentitled = await customerWithKey({ subscriptionStatus: 'active' }, { credits: 6 });
      expect(allows(await handle(event(ENTITLED, unentitled.key)), ENTITLED)).toBe(false);
      await revokeApiKey(keyStore(), unentitled.keyId);
      await expect(handle(event(ASK, unentitled.key))).rejects.toThrow(/^Unauthorized$/);
      expect(await creditsOf(paid.customerId)).toBe(1);
    } finally {
      client.destroy();
    }
    const updates = sent.filter((w) => w.TableName === tables.names.customers && w.action !== 'GetItem' && w.action !== 'BatchGetItem');
    // Two reservations; one refused for its balance (the wallet read short of it), an entitlement or a key refused before any write.
    expect(updates.map((w) => w.action)).toEqual(Array(2).fill('UpdateItem'));
    for (const update of updates) {
      expect(likeAny(String((update.Key as { customerId: { S: string } }).customerId.S), WALLET_LEADING_KEYS)).toBe(true);
      expect([...new Set(attributesOf(update.UpdateExpression, update.ExpressionAttributeNames))].sort()).toEqual(['balance', 'budgetLeft', expect.stringMatching(/^budgetLeft_[A-Za-z0-9]{8}$/), expect.stringMatching(/^p_w_/), 'reservations', 'sweepAt', 'sweepShard']);
      for (const attribute of namedAttributes(update)) expect({ attribute, allowed: likeAny(attribute, WALLET_ATTRIBUTES) }).toEqual({ attribute, allowed: true });
    }
  });
});
