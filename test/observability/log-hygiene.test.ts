import { createHash } from 'node:crypto';
import { hashApiKey, issueApiKey } from '../../lambda/shared/customers/api-key';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { buildStripeEvent, serializeEvent, signPayload } from '../../lib/stripe-events';
import { capturedOutput, jsonLines } from '../support/captured-output';
import { freshTables, type TestTables } from '../support/dynamodb';
import { recordingLocalApi } from '../support/local-api';
import { tamperLastCharacter } from '../support/keys';

/**
 * Every log line the stack writes (the functions' Powertools logs and EMF metrics at DEBUG, the stage's
 * access log, the recovery lines) from requests and webhook deliveries that carry keys, signatures,
 * secrets and personal data: none of it may appear. Only the Stripe customer id identifies anyone.
 */

const SECRET = 'whsec_hygieneSecretDoNotLog0123456789';
const OTHER_SECRET = 'whsec_anotherSecretDoNotLog987654321';
const CUSTOMER = 'cus_Hygiene1';
const EMAIL = 'jane.doe.hygiene@example.com';
const NAME = 'Jane Hygiene Doe';
const IP = '198.51.100.23';

let tables: TestTables;
beforeAll(async () => {
  tables = await freshTables('hygiene');
});

describe('log hygiene', () => {
  it('writes no key, hash, signature, secret, e-mail, name or IP in any log line', async () => {
    const env = { level: process.env.POWERTOOLS_LOG_LEVEL, metrics: process.env.POWERTOOLS_METRICS_DISABLED };
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    let accessLog: string[] = [];
    let eventsLog: string[] = [];
    const sent: string[] = [];
    let key = '';
    const { lines } = await capturedOutput(async () => {
      const recording = recordingLocalApi(tables, { webhookSecret: SECRET });
      const { api } = recording;
      ({ accessLog, eventsLog } = recording);
      try {
        ({ key } = await createApiKey({ client: tables.client, tables: { customers: tables.names.customers, apiKeys: tables.names.apiKeys } }, { customerId: CUSTOMER, name: 'hygiene' }));
        const get = (authorization?: string) =>
          api.gateway.handle({ method: 'GET', path: '/prod/v1/quotes', sourceIp: IP, headers: { ...(authorization === undefined ? {} : { Authorization: authorization }), 'User-Agent': `agent of ${EMAIL}` } });
        const deliver = async (event: Record<string, unknown>, secret = SECRET, tamper = false) => {
          const body = serializeEvent(event);
          const signature = signPayload(body, secret);
          // The header and its v1 HMACs (its t= is only a timestamp).
          sent.push(signature, ...signature.split(',').filter((part) => part.startsWith('v1=')).map((part) => part.slice(3)));
          return api.gateway.handle({
            method: 'POST',
            path: '/prod/webhooks/stripe',
            sourceIp: IP,
            headers: { 'Stripe-Signature': signature, 'Content-Type': 'application/json' },
            body: tamper ? body.replace(CUSTOMER, 'cus_Tampered1') : body,
          });
        };
        const withPerson = (event: Record<string, any>): Record<string, unknown> => {
          event.data.object.email = EMAIL;
          event.data.object.name = NAME;
          event.data.object.customer_details = { email: EMAIL, name: NAME };
          return event;
        };
        const created = () => withPerson(buildStripeEvent('customer.subscription.created', { customer: CUSTOMER }));

        expect((await get(`Bearer ${key}`)).statusCode).toBe(402);
        expect((await get(`Bearer ${tamperLastCharacter(key)}`)).statusCode).toBe(401);
        expect((await get(`Bearer ${issueApiKey(CUSTOMER).key}`)).statusCode).toBe(401);
        expect((await get()).statusCode).toBe(401);
        expect((await deliver(created(), OTHER_SECRET)).statusCode).toBe(400);
        expect((await deliver(created(), SECRET, true)).statusCode).toBe(400);
        expect((await deliver(created())).statusCode).toBe(200);
        expect((await get(`Bearer ${key}`)).statusCode).toBe(200);
        expect((await deliver(withPerson(buildStripeEvent('checkout.session.completed', { customer: CUSTOMER })))).statusCode).toBe(200);
        expect((await deliver(withPerson(buildStripeEvent('customer.deleted', { customer: CUSTOMER })))).statusCode).toBe(200);
        expect((await get(`Bearer ${key}`)).statusCode).toBe(401);
      } finally {
        api.destroy();
        if (env.level === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
        else process.env.POWERTOOLS_LOG_LEVEL = env.level;
        if (env.metrics === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
        else process.env.POWERTOOLS_METRICS_DISABLED = env.metrics;
      }
    });

    // What was captured: the decisions, the webhook's lines, the metrics, the restoration, the access log.
    const logged = jsonLines(lines);
    expect(logged.filter((l) => l.message === 'authorizer decision').length).toBeGreaterThanOrEqual(5);
    expect(logged.filter((l) => l.message === 'stripe webhook').map((l) => l.outcome)).toEqual(expect.arrayContaining(['rejected', 'applied']));
    expect(logged.filter((l) => typeof l._aws === 'object').length).toBeGreaterThanOrEqual(8);
    expect(logged.some((l) => l.message === 'access restored' && l.customerId === CUSTOMER)).toBe(true);
    expect(eventsLog).toHaveLength(1);
    expect(accessLog).toHaveLength(11);

    const forbidden: Record<string, string> = {
      key,
      keySecret: key.slice(key.lastIndexOf('_') + 1),
      keyHash: hashApiKey(key),
      keySha256: createHash('sha256').update(key).digest('hex'),
      webhookSecret: SECRET,
      otherSecret: OTHER_SECRET,
      email: EMAIL,
      name: NAME,
      ip: IP,
      ...Object.fromEntries(sent.map((value, i) => [`signature${i}`, value])),
    };
    const everything = [...lines, ...accessLog, ...eventsLog];
    const leaks = everything.flatMap((line) =>
      Object.entries(forbidden)
        .filter(([, value]) => value.length >= 8 && line.includes(value))
        .map(([what]) => `${what} in ${line.slice(0, 160)}`),
    );
    expect(leaks).toEqual([]);
    // The access log has no field for the IP at all.
    for (const line of accessLog) expect(Object.keys(JSON.parse(line) as object)).not.toContain('ip');
  }, 60_000);
});
