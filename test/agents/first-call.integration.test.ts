import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { makeFirstCallRecorder } from '../../lambda/metering/first-call';
import { firstCallAfter, markPaid, type AgentFirstCallRecord } from '../../lambda/shared/agents/first-call';
import { PURCHASE_CHALLENGE_SECONDS } from '../../lambda/shared/agents/offers';
import { X402_TIMEOUT_SECONDS } from '../../lambda/shared/agents/x402';
import { mppChallengedAt, x402ChallengedAt } from '../../lambda/purchase/challenged-at';
import { quietObservability } from '../support/observability';
import { freshTables, type TestTables } from '../support/dynamodb';
import { accessLine, delivery, logEvents, meteringHandler, PERIOD_1, seedCustomer } from '../metering/support';

/** logEvents' default time: the batches below are logged then. */
const LOGGED = 1_700_000_000_000;

describe("an agent's first call after its payment, as metering records it", () => {
  let tables: TestTables;
  beforeAll(async () => (tables = await freshTables('first-call')));
  afterAll(() => tables.client.destroy());

  const recorder = (records: AgentFirstCallRecord[]) =>
    makeFirstCallRecorder({ dynamodb: tables.client, customersTable: tables.names.customers, observability: quietObservability(), onFirstCall: (r) => records.push(r) });
  const marker = async (customerId: string): Promise<unknown> =>
    (await DynamoDBDocumentClient.from(tables.client).send(new GetCommand({ TableName: tables.names.customers, Key: { customerId }, ConsistentRead: true }))).Item?.agentPayment;

  it('records the first counted 2xx after the payment once, removing the marker; later batches and a redelivery record nothing', async () => {
    await seedCustomer(tables, 'cus_first1', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    await markPaid(tables.client, tables.names.customers, 'cus_first1', { protocol: 'mpp', paidAt: LOGGED - 4_000, challengedAt: LOGGED - 10_000 });
    const records: AgentFirstCallRecord[] = [];
    const { handler } = meteringHandler(tables, { firstCalls: recorder(records) });
    const batch = delivery(logEvents([accessLine({ customerId: 'cus_first1', periodEnd: PERIOD_1 })]));
    expect(await handler(batch)).toMatchObject({ applied: 1 });
    expect(records).toEqual([
      {
        message: 'agent first call',
        protocol: 'mpp',
        customerId: 'cus_first1',
        paidAt: new Date(LOGGED - 4_000).toISOString(),
        firstCallAt: new Date(LOGGED).toISOString(),
        secondsToFirstCall: 4,
        secondsToPay: 6,
      },
    ]);
    expect(await marker('cus_first1')).toBeUndefined();
    await handler(batch);
    await handler(delivery(logEvents([accessLine({ customerId: 'cus_first1', periodEnd: PERIOD_1 })], LOGGED + 60_000)));
    expect(records).toHaveLength(1);
  });

  it('keeps the marker while the counted calls precede the payment, and records the call that follows it', async () => {
    await seedCustomer(tables, 'cus_first2', { credits: 50 });
    await markPaid(tables.client, tables.names.customers, 'cus_first2', { protocol: 'x402', paidAt: LOGGED + 30_000 });
    const records: AgentFirstCallRecord[] = [];
    const { handler } = meteringHandler(tables, { firstCalls: recorder(records) });
    await handler(delivery(logEvents([accessLine({ customerId: 'cus_first2' })])));
    expect(records).toEqual([]);
    expect(await marker('cus_first2')).toEqual({ protocol: 'x402', paidAt: LOGGED + 30_000 });
    await handler(delivery(logEvents([accessLine({ customerId: 'cus_first2' })], LOGGED + 45_000)));
    expect(records).toMatchObject([{ protocol: 'x402', customerId: 'cus_first2', secondsToFirstCall: 15 }]);
    expect(records[0]).not.toHaveProperty('secondsToPay');
    expect(await marker('cus_first2')).toBeUndefined();
  });

  it('lets one of two concurrent recorders of the same marker record it', async () => {
    await seedCustomer(tables, 'cus_first3', { plan: 'sample_metered', periodEnd: PERIOD_1 });
    const paid = { protocol: 'mpp' as const, paidAt: LOGGED };
    await markPaid(tables.client, tables.names.customers, 'cus_first3', paid);
    const records: AgentFirstCallRecord[] = [];
    const record = recorder(records);
    await Promise.all(Array.from({ length: 4 }, () => record('cus_first3', paid, { firstCallAt: LOGGED + 1000, lastCallAt: LOGGED + 2000 })));
    expect(records).toHaveLength(1);
  });
});

describe('the times of 402 → paid → first 2xx', () => {
  const PAID = new Date('2026-12-07T08:00:00Z');

  it("times a batch's first call after the payment: its first, else its last when the batch straddles the payment, else none yet", () => {
    const paid = { protocol: 'mpp' as const, paidAt: 1000 };
    expect(firstCallAfter(paid, { firstCallAt: 1500, lastCallAt: 1900 })).toBe(1500);
    expect(firstCallAfter(paid, { firstCallAt: 500, lastCallAt: 1900 })).toBe(1900);
    expect(firstCallAfter(paid, { lastCallAt: 1900 })).toBe(1900);
    expect(firstCallAfter(paid, { firstCallAt: 500, lastCallAt: 900 })).toBeUndefined();
  });

  it("reads an MPP challenge's issue time from its expires, whichever route issued it, when paid within the lifetimes' difference", () => {
    const deny = 1200;
    const purchase = new Date(PAID.getTime() - 90_000 + PURCHASE_CHALLENGE_SECONDS * 1000).toISOString();
    const denied = new Date(PAID.getTime() - 90_000 + deny * 1000).toISOString();
    expect(mppChallengedAt(purchase, deny, PAID)).toBe(PAID.getTime() - 90_000);
    expect(mppChallengedAt(denied, deny, PAID)).toBe(PAID.getTime() - 90_000);
    // A Deny's lifetime longer than the purchase route's (an authorizer TTL near the hour): the same rule.
    expect(mppChallengedAt(new Date(PAID.getTime() - 90_000 + 4500 * 1000).toISOString(), 4500, PAID)).toBe(PAID.getTime() - 90_000);
    expect(mppChallengedAt(undefined, deny, PAID)).toBeUndefined();
    expect(mppChallengedAt('not a time', deny, PAID)).toBeUndefined();
  });

  it("reads an x402 payment's signing time from validBefore less maxTimeoutSeconds, and none from a clock ahead of the payment", () => {
    const validBefore = String(PAID.getTime() / 1000 - 20 + X402_TIMEOUT_SECONDS);
    expect(x402ChallengedAt(validBefore, X402_TIMEOUT_SECONDS, PAID)).toBe(PAID.getTime() - 20_000);
    expect(x402ChallengedAt(String(PAID.getTime() / 1000 + 5 + X402_TIMEOUT_SECONDS), X402_TIMEOUT_SECONDS, PAID)).toBeUndefined();
  });
});
