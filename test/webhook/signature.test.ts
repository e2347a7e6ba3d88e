import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { buildStripeEvent, serializeEvent, signPayload, stripeId } from '../../lib/stripe-events';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { freshTables, type TestTables } from '../support/dynamodb';
import { OTHER_SECRET, proxyEvent, SECRET, snapshotTables, webhookFor } from './support';
import { MAX_BODY_BYTES } from '../../lambda/webhook/handler';
import { meterErrorNotification } from './thin-events';

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('webhook-signature');
});
afterAll(() => tables.client.destroy());

const NOW = Math.floor(Date.now() / 1000);
const body = (): string => serializeEvent(buildStripeEvent('customer.subscription.created', { created: NOW, customer: stripeId('cus') }));
const scanAll = async (table: string): Promise<Record<string, AttributeValue>[]> =>
  (await tables.client.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [];
const hmac = (payload: string, secret: string, t: number): string => createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex');

describe('webhook signature verification', () => {
  const accepted: Array<[string, () => ReturnType<typeof proxyEvent>]> = [
    ['the signature is valid', () => { const b = body(); return proxyEvent(b, { 'Stripe-Signature': signPayload(b, SECRET) }); }],
    ['the header name is lower-case', () => { const b = body(); return proxyEvent(b, { 'stripe-signature': signPayload(b, SECRET) }); }],
    [
      // One header reader for both functions: a header sent twice yields its last value, as in API Gateway's `headers`.
      'the header is sent twice and the last one is valid',
      () => {
        const b = body();
        return { ...proxyEvent(b), headers: { 'Stripe-Signature': signPayload(b, SECRET) }, multiValueHeaders: { 'Stripe-Signature': [signPayload(b, OTHER_SECRET), signPayload(b, SECRET)] } };
      },
    ],
    [
      'one of two v1 signatures matches',
      () => {
        const b = body();
        return proxyEvent(b, { 'Stripe-Signature': `t=${NOW},v1=${hmac(b, OTHER_SECRET, NOW)},v1=${hmac(b, SECRET, NOW)}` });
      },
    ],
    [
      'the body arrives base64-encoded',
      () => {
        const b = body();
        return proxyEvent(Buffer.from(b, 'utf8').toString('base64'), { 'Stripe-Signature': signPayload(b, SECRET) }, true);
      },
    ],
  ];

  it.each(accepted)('applies the event when %s', async (_, request) => {
    const { handler } = webhookFor(tables);
    const response = await handler(request());
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).outcome).toBe('applied');
  });

  it('accepts an event signed with the second secret while the secret is rolled', async () => {
    const { handler } = webhookFor(tables, { signingSecrets: () => Promise.resolve([OTHER_SECRET, SECRET]) });
    const b = body();
    expect((await handler(proxyEvent(b, { 'Stripe-Signature': signPayload(b, SECRET) }))).statusCode).toBe(200);
  });

  const rejected: Array<[string, string, () => ReturnType<typeof proxyEvent>]> = [
    ['the body was tampered with', 'invalid_signature', () => { const b = body(); return proxyEvent(b.replace('"active"', '"trialing"'), { 'Stripe-Signature': signPayload(b, SECRET) }); }],
    [
      'the body was re-serialised',
      'invalid_signature',
      () => { const b = body(); return proxyEvent(JSON.stringify(JSON.parse(b)), { 'Stripe-Signature': signPayload(b, SECRET) }); },
    ],
    ['the secret is wrong', 'invalid_signature', () => { const b = body(); return proxyEvent(b, { 'Stripe-Signature': signPayload(b, OTHER_SECRET) }); }],
    ['the header is missing', 'missing_signature', () => proxyEvent(body(), {})],
    ['the timestamp is outside the tolerance', 'stale_timestamp', () => { const b = body(); return proxyEvent(b, { 'Stripe-Signature': signPayload(b, SECRET, NOW - 301) }); }],
    [
      'a base64 body is verified as if it were text',
      'invalid_signature',
      () => { const b = body(); return proxyEvent(Buffer.from(b).toString('base64'), { 'Stripe-Signature': signPayload(b, SECRET) }, false); },
    ],
    ['the body is missing', 'missing_body', () => proxyEvent(null, { 'Stripe-Signature': signPayload('', SECRET) })],
    [
      'the body is oversized',
      'body_too_large',
      () => { const b = `{"pad":"${'x'.repeat(MAX_BODY_BYTES)}"}`; return proxyEvent(b, { 'Stripe-Signature': signPayload(b, SECRET) }); },
    ],
    ['the signed body is not json', 'invalid_json', () => proxyEvent('not json', { 'Stripe-Signature': signPayload('not json', SECRET) })],
    ['the signed json is not an event', 'not_an_event', () => proxyEvent('{"object":"customer"}', { 'Stripe-Signature': signPayload('{"object":"customer"}', SECRET) })],
    // A signed event with a readable envelope whose object tollgate cannot apply is parked (test/webhook/parking.test.ts).
  ];

  it.each(rejected)('answers 400 and writes nothing when %s', async (_, problem, request) => {
    const { handler, flusher } = webhookFor(tables);
    const before = await snapshotTables(tables);
    const response = await handler(request());
    expect(response.statusCode).toBe(400);
    expect(response.headers?.['Content-Type']).toBe('application/problem+json');
    expect(JSON.parse(response.body)).toMatchObject({ status: 400, problem });
    expect(await snapshotTables(tables)).toBe(before);
    expect(flusher.flushes).toHaveLength(0);
  });

  it('never echoes the signature or the secret in its answer', async () => {
    const { handler } = webhookFor(tables);
    const b = body();
    const header = signPayload(b, OTHER_SECRET);
    const response = await handler(proxyEvent(b, { 'Stripe-Signature': header }));
    expect(response.body).not.toContain(header.split('v1=')[1]);
    expect(response.body).not.toContain(SECRET);
  });

  it('re-reads a rolled secret once when no cached secret verifies', async () => {
    let current = [OTHER_SECRET];
    let reads = 0;
    const source = Object.assign(() => Promise.resolve(current), {
      refresh: () => {
        reads++;
        current = [SECRET];
        return Promise.resolve(true);
      },
    });
    const { handler } = webhookFor(tables, { signingSecrets: source });
    const b = body();
    expect((await handler(proxyEvent(b, { 'Stripe-Signature': signPayload(b, SECRET) }))).statusCode).toBe(200);
    expect(reads).toBe(1);
  });

  it('answers 500 (so stripe retries) when the signing secret cannot be read', async () => {
    const { handler } = webhookFor(tables, { signingSecrets: () => Promise.reject(new Error('AccessDenied')) });
    const b = body();
    expect((await handler(proxyEvent(b, { 'Stripe-Signature': signPayload(b, SECRET) }))).statusCode).toBe(500);
  });
});

describe('webhook fuzz', () => {
  it('never crashes, writes or answers 5xx for random headers and bodies', async () => {
    const { handler } = webhookFor(tables);
    const before = await snapshotTables(tables);
    const signatureHeader = fc.oneof(
      fc.string(),
      fc.tuple(fc.integer(), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 70 })).map(([t, s]) => `t=${t},v1=${s}`),
      fc.constant(`t=${NOW},v1=${'0'.repeat(64)}`),
    );
    const headers = fc.dictionary(fc.oneof(fc.constantFrom('Stripe-Signature', 'stripe-signature', 'STRIPE-SIGNATURE', 'content-type'), fc.string()), signatureHeader, { maxKeys: 4 });
    const bodies = fc.oneof(fc.string(), fc.json(), fc.constant(body()), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64')));
    await fc.assert(
      fc.asyncProperty(fc.option(bodies, { nil: null }), headers, fc.boolean(), async (b, h, base64) => {
        const response = await handler(proxyEvent(b, h, base64));
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
      }),
      { numRuns: 400 },
    );
    expect(await snapshotTables(tables)).toBe(before);
  });

  it('never answers 5xx, and writes nothing but parked ledger entries, when signed bodies are not readable events', async () => {
    const { handler } = webhookFor(tables);
    const customersBefore = await scanAll(tables.names.customers);
    const eventsBefore = await scanAll(tables.names.events);
    const handled = fc.constantFrom(
      'customer.subscription.updated',
      'invoice.paid',
      'invoice.payment_failed',
      'checkout.session.completed',
      'entitlements.active_entitlement_summary.updated',
      'customer.deleted',
    );
    const eventLike = fc.record({
      id: fc.oneof(fc.string(), fc.constant('evt_fuzz')),
      object: fc.constantFrom('event', 'customer', 1),
      type: fc.oneof(handled, fc.string()),
      created: fc.oneof(fc.integer(), fc.double(), fc.string()),
      data: fc.oneof(fc.record({ object: fc.dictionary(fc.constantFrom('object', 'id', 'customer', 'status', 'items', 'parent', 'mode', 'subscription'), fc.jsonValue()) }), fc.jsonValue()),
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(eventLike.map((e) => JSON.stringify(e)), fc.json()), async (b) => {
        const response = await handler(proxyEvent(b, { 'Stripe-Signature': signPayload(b, SECRET) }));
        // A well-formed envelope of a type tollgate does not handle is acknowledged; one it handles but
        // cannot apply is parked for replay; nothing else passes.
        if (response.statusCode === 200) expect(['ignored', 'parked']).toContain(JSON.parse(response.body).outcome);
        else expect(response.statusCode).toBe(400);
      }),
      { numRuns: 300 },
    );
    expect(await scanAll(tables.names.customers)).toEqual(customersBefore);
    const added = (await scanAll(tables.names.events)).filter((item) => !eventsBefore.some((old) => old.eventId?.S === item.eventId?.S));
    for (const item of added) expect(item.outcome?.S).toBe('parked');
  });

  it("keeps one ledger entry for Stripe's meter error report, however often it is delivered, and writes no customer", async () => {
    const { handler } = webhookFor(tables);
    const body = meterErrorNotification('mtr_SigMeter1', 'evt_SigThin1');
    const before = (await scanAll(tables.names.customers)).length;
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(JSON.parse((await handler(proxyEvent(body, { 'Stripe-Signature': signPayload(body, SECRET) }))).body).outcome);
    expect(outcomes).toEqual(['recorded', 'duplicate', 'duplicate']);
    const entries = (await scanAll(tables.names.events)).filter((item) => item.eventId?.S === 'evt_SigThin1');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ type: { S: 'v1.billing.meter.error_report_triggered' }, outcome: { S: 'noticed' }, subject: { S: 'mtr_SigMeter1' } });
    expect(entries[0]!.customerId).toBeUndefined();
    expect(entries[0]!.expiresAt?.N).toBeDefined();
    expect((await scanAll(tables.names.customers)).length).toBe(before);
  });
});
