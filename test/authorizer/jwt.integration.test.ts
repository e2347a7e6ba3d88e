import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { createHmac, createPrivateKey, createPublicKey } from 'node:crypto';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { authorizerDynamoClient } from '../../lambda/authorizer/dynamo-client';
import { AuthorizerFailure, makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { httpFetcher } from '../../lambda/authorizer/jwks';
import { createTokenAuthenticator } from '../../lambda/authorizer/token-auth';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { linkSubject, unlinkSubject } from '../../lambda/shared/customers/subjects';
import type { TrustedIssuer } from '../../lambda/shared/issuers';
import { LOCAL_AUDIENCE, mintToken, signJwt, startLocalIssuer, type LocalIssuer, type SigningKey } from '../../lib/local/oidc-issuer';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/dynamodb-local';
import { freshTables, setCustomerAttributes, type TestTables } from '../support/dynamodb';
import { openedResources } from '../support/opened';
import { quietObservability } from '../support/observability';
import { countRequests } from '../../bench/lib/request-counter';
import { authorizerEvent, bearer, itemOf, oneSubscription, settingsFor, type OneSubscription } from './support';

/**
 * Bearer JWTs through the real authorizer handler: tokens signed by a real loopback issuer (its JWKS
 * fetched over http), customers on DynamoDB Local, every DynamoDB request counted.
 */

const TTL = 300;
let tables: TestTables;
let documents: DynamoDBDocumentClient;
let issuer: LocalIssuer;
let subjectIssuer: LocalIssuer;
let attacker: LocalIssuer;
let seq = 0;

// Whatever the setup opened is closed, even when one of the four failed to open.
const opened = openedResources();
beforeAll(async () => {
  const issuerOpened = () => opened.open(startLocalIssuer(), (i) => i.close());
  [tables, issuer, subjectIssuer, attacker] = await Promise.all([opened.open(freshTables('jwt'), (t) => t.client.destroy()), issuerOpened(), issuerOpened(), issuerOpened()]);
  documents = DynamoDBDocumentClient.from(tables.client);
});
afterAll(() => opened.closeAll());

const subjectTrust = (): TrustedIssuer => ({ ...subjectIssuer.trusted, customer: { kind: 'subject' } });

/** A handler trusting the claim issuer and the subject issuer, on a fresh JWKS cache, counting reads. */
function setup(options: { issuers?: TrustedIssuer[]; now?: () => number; cooldownMs?: number } = {}) {
  const client = authorizerDynamoClient({ endpoint: tables.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const reads = countRequests(client);
  const tokens = createTokenAuthenticator({
    issuers: options.issuers ?? [issuer.trusted, subjectTrust()],
    cacheTtlSeconds: TTL,
    client,
    customersTable: tables.names.customers,
    fetcher: httpFetcher(900),
    ...(options.now === undefined ? {} : { now: options.now }),
  })!;
  const observability = quietObservability();
  // Every decision's count and record carries its reason: the refusal reasons a caller never sees.
  const lines = jest.spyOn(observability.lines, 'count');
  const reasons = (): unknown[] => lines.mock.calls.map(([, dimensions]) => dimensions.reason);
  const handler = makeAuthorizerHandler({
    customers: new DynamoCustomerReader(client, tables.names.customers),
    settings: settingsFor(tables.names.customers),
    tokens,
    observability,
  });
  const call = (credential: string, route: 'ping' | 'quotes' | 'reports' = 'quotes'): Promise<APIGatewayAuthorizerResult> =>
    handler(authorizerEvent(route, bearer(credential)));
  return { handler, call, reads, tokens, reasons, destroy: () => client.destroy() };
}

async function customer(state: OneSubscription): Promise<string> {
  const customerId = `cus_Jwt${++seq}x${Math.random().toString(36).slice(2, 8)}`;
  const { customerId: _id, ...item } = itemOf(oneSubscription(customerId, { entitlements: ['premium-reports'], ...state }, Date.now() / 1000));
  await setCustomerAttributes(documents, tables.names.customers, customerId, item);
  return customerId;
}

const effectOn = (result: APIGatewayAuthorizerResult, route: string): string | undefined =>
  result.policyDocument.Statement.find((s) => JSON.stringify((s as { Resource?: unknown }).Resource ?? '').includes(route))?.Effect;

/** The token's segments, for forging. */
const parts = (token: string): [string, string, string] => token.split('.') as [string, string, string];
const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const payloadOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(parts(token)[1], 'base64url').toString('utf8')) as Record<string, unknown>;
const headerOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(parts(token)[0], 'base64url').toString('utf8')) as Record<string, unknown>;

describe('authorizer with bearer JWTs', () => {
  it('allows a paying customer named by the claim, after one GetItem (and one JWKS fetch, then none)', async () => {
    const { call, reads, tokens, destroy } = setup();
    const customerId = await customer({ subscriptionStatus: 'active' });
    const before = issuer.served.get('/.well-known/jwks.json') ?? 0;
    const result = await call(issuer.mint({ customerId }));
    expect(effectOn(result, '/GET/v1/quotes')).toBe('Allow');
    expect(result.principalId).toBe(customerId);
    expect(reads.counts.commands).toEqual({ GetItem: 1 });
    await call(issuer.mint({ customerId }));
    await call(issuer.mint({ customerId }));
    expect(reads.counts.commands).toEqual({ GetItem: 3 });
    expect(tokens.verifier.jwks.fetches.get(issuer.jwksUri)).toBe(1);
    expect((issuer.served.get('/.well-known/jwks.json') ?? 0) - before).toBe(1);
    destroy();
  });

  it('answers a token exactly as a key of the same customer: the same 402 reason and context', async () => {
    const { call, destroy } = setup();
    for (const state of [{}, { subscriptionStatus: 'unpaid' as const, paymentUrl: 'https://invoice.stripe.com/i/x' }, { subscriptionStatus: 'paused' as const }]) {
      const customerId = await customer(state);
      const { key } = await createApiKey({ client: tables.client, tables: { customers: tables.names.customers, apiKeys: tables.names.apiKeys } }, { customerId });
      const byToken = await call(issuer.mint({ customerId }));
      const byKey = await call(key);
      expect(effectOn(byToken, '/GET/v1/quotes')).toBe('Deny');
      const { keyId: _k1, ...tokenContext } = byToken.context!;
      const { keyId: _k2, ...keyContext } = byKey.context!;
      expect(tokenContext).toEqual(keyContext);
      expect(tokenContext.reason).toEqual(expect.stringMatching(/^(no_subscription|payment_failed|trial_ended)$/));
    }
    destroy();
  });

  it('treats a vouched-for customer tollgate holds no state for as having no subscription (402, not 401)', async () => {
    const { call, reads, destroy } = setup();
    const result = await call(issuer.mint({ customerId: 'cus_JwtNeverSeen' }));
    expect(effectOn(result, '/GET/v1/quotes')).toBe('Deny');
    expect(effectOn(result, '/GET/v1/ping')).toBe('Allow');
    expect(result.context?.reason).toBe('no_subscription');
    expect(reads.commands()).toBe(1);
    destroy();
  });

  it('refuses a token of a customer deleted in Stripe (401 after its one read)', async () => {
    const { call, reads, destroy } = setup();
    const customerId = await customer({ subscriptionStatus: 'active', deleted: true });
    await expect(call(issuer.mint({ customerId }))).rejects.toThrow(/^Unauthorized$/);
    expect(reads.commands()).toBe(1);
    destroy();
  });

  describe('subject mapping', () => {
    it('finds the linked customer with one Query on the subject index, and refuses an unlinked subject', async () => {
      const { call, reads, destroy } = setup();
      const customerId = await customer({ subscriptionStatus: 'active' });
      await linkSubject({ client: tables.client, customersTable: tables.names.customers, eventsTable: tables.names.events }, customerId, subjectIssuer.url, `user-${customerId}`);
      const result = await call(subjectIssuer.mint({ subject: `user-${customerId}` }));
      expect(effectOn(result, '/GET/v1/quotes')).toBe('Allow');
      expect(result.principalId).toBe(customerId);
      expect(reads.counts.commands).toEqual({ Query: 1 });
      await expect(call(subjectIssuer.mint({ subject: 'user-nobody' }))).rejects.toThrow(/^Unauthorized$/);
      expect(reads.counts.commands).toEqual({ Query: 2 });
      destroy();
    });

    it('never maps the right subject from an untrusted issuer (401, zero reads)', async () => {
      const { call, reads, destroy } = setup();
      const customerId = await customer({ subscriptionStatus: 'active' });
      await linkSubject({ client: tables.client, customersTable: tables.names.customers, eventsTable: tables.names.events }, customerId, subjectIssuer.url, `owner-${customerId}`);
      await expect(call(attacker.mint({ subject: `owner-${customerId}`, audience: LOCAL_AUDIENCE }))).rejects.toThrow(/^Unauthorized$/);
      expect(reads.commands()).toBe(0);
      destroy();
    });

    it('refuses a subject once it is unlinked (401), after the one Query', async () => {
      const { call, reads, destroy } = setup();
      const store = { client: tables.client, customersTable: tables.names.customers, eventsTable: tables.names.events };
      const customerId = await customer({ subscriptionStatus: 'active' });
      await linkSubject(store, customerId, subjectIssuer.url, `leaver-${customerId}`);
      const token = subjectIssuer.mint({ subject: `leaver-${customerId}` });
      expect(effectOn(await call(token), '/GET/v1/quotes')).toBe('Allow');
      expect(await unlinkSubject(store, subjectIssuer.url, `leaver-${customerId}`)).toEqual({ subjectKey: `${subjectIssuer.url}#leaver-${customerId}`, customerIds: [customerId] });
      await expect(call(token)).rejects.toThrow(/^Unauthorized$/);
      expect(reads.counts.commands).toEqual({ Query: 2 });
      destroy();
    });

    it('refuses to link one subject to two customers', async () => {
      const store = { client: tables.client, customersTable: tables.names.customers, eventsTable: tables.names.events };
      const [a, b] = [await customer({}), await customer({})];
      await linkSubject(store, a, subjectIssuer.url, 'shared-user');
      await expect(linkSubject(store, b, subjectIssuer.url, 'shared-user')).rejects.toThrow(`already linked to ${a}`);
    });
  });

  describe('attacks: each a 401 with zero DynamoDB reads', () => {
    let paying: string;
    beforeAll(async () => {
      paying = await customer({ subscriptionStatus: 'active' });
    });

    const attacks: Array<[string, string, () => string]> = [
      ['alg none, no signature', 'invalid_token', () => {
        const [, payload] = parts(issuer.mint({ customerId: paying }));
        return `${segment({ alg: 'none', typ: 'JWT' })}.${payload}.`;
      }],
      ['alg none with a signature segment', 'invalid_token', () => {
        const [, payload, signature] = parts(issuer.mint({ customerId: paying }));
        return `${segment({ alg: 'none', typ: 'JWT', kid: issuer.key.kid })}.${payload}.${signature}`;
      }],
      ['HS256 signed with the issuer\'s public key', 'invalid_token', () => {
        const [, payload] = parts(issuer.mint({ customerId: paying }));
        const publicPem = createPublicKey({ key: issuer.key.privateJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
        const input = `${segment({ alg: 'HS256', typ: 'JWT', kid: issuer.key.kid })}.${payload}`;
        return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
      }],
      ['an unknown kid', 'invalid_token', () => mintToken({ ...issuer.key, kid: 'no-such-key' }, { customerId: paying })],
      ['a kid and jku that point to another issuer\'s keys', 'invalid_token', () => {
        const claims = payloadOf(issuer.mint({ customerId: paying }));
        const key = createPrivateKey({ key: attacker.key.privateJwk, format: 'jwk' });
        return signJwt(key, { alg: 'RS256', typ: 'JWT', kid: attacker.key.kid, jku: attacker.jwksUri }, claims);
      }],
      ['the trusted kid, signed with another key', 'invalid_token', () => {
        const claims = payloadOf(issuer.mint({ customerId: paying }));
        return signJwt(createPrivateKey({ key: attacker.key.privateJwk, format: 'jwk' }), { alg: 'RS256', typ: 'JWT', kid: issuer.key.kid }, claims);
      }],
      ['a token from another issuer with the right sub and customer claim', 'unknown_issuer', () => attacker.mint({ customerId: paying })],
      ['another issuer claiming the trusted iss', 'invalid_token', () => {
        const forged: SigningKey = { ...attacker.key, issuer: issuer.url };
        return mintToken(forged, { customerId: paying });
      }],
      ['an expired token', 'expired_token', () => issuer.mint({ customerId: paying, now: Date.now() - 2 * 3600_000, expiresInSeconds: 3600 })],
      ['a token not yet valid', 'invalid_token', () => issuer.mint({ customerId: paying, claims: { nbf: Math.floor(Date.now() / 1000) + 3600 } })],
      ['a token for another audience', 'invalid_token', () => issuer.mint({ customerId: paying, audience: 'https://another-api.example' })],
      ['a tampered customer claim (the signature breaks)', 'invalid_token', () => {
        const [header, , signature] = parts(issuer.mint({ customerId: paying }));
        return `${header}.${segment({ ...payloadOf(issuer.mint({ customerId: paying })), stripe_customer_id: 'cus_SomeoneElse' })}.${signature}`;
      }],
      ['an oversized JOSE header', 'invalid_token', () => {
        const [, payload, signature] = parts(issuer.mint({ customerId: paying }));
        return `${segment({ alg: 'RS256', kid: issuer.key.kid, pad: 'x'.repeat(2000) })}.${payload}.${signature}`;
      }],
      ['an Authorization header over 8 KB', 'malformed_key', () => `${issuer.mint({ customerId: paying })}${'A'.repeat(9000)}`],
      ['garbage base64', 'invalid_token', () => 'eyJ!!!.@@@.###'],
      ['base64 that is not JSON', 'invalid_token', () => `${Buffer.from('not json').toString('base64url')}.${Buffer.from('{{').toString('base64url')}.c2ln`],
      ['a token without exp', 'invalid_token', () => issuer.mint({ customerId: paying, claims: { exp: undefined } })],
      ['a token that expires before a decision cached now would', 'expiring_token', () => issuer.mint({ customerId: paying, expiresInSeconds: TTL - 10 })],
      ['a critical header extension', 'invalid_token', () => {
        const claims = payloadOf(issuer.mint({ customerId: paying }));
        return signJwt(createPrivateKey({ key: issuer.key.privateJwk, format: 'jwk' }), { alg: 'RS256', kid: issuer.key.kid, crit: ['exp'] }, claims);
      }],
    ];

    it.each(attacks)('refuses %s (%s)', async (_label, reason, forge) => {
      const { call, reads, reasons, destroy } = setup();
      const token = forge();
      for (const route of ['ping', 'quotes', 'reports'] as const) {
        await expect(call(token, route)).rejects.toThrow(/^Unauthorized$/);
      }
      expect(reasons()).toEqual([reason, reason, reason]);
      expect(reads.commands()).toBe(0);
      destroy();
    });

    it('refuses the forged twins of a token it remembers as verified', async () => {
      const { call, reads, reasons, tokens, destroy } = setup();
      const genuine = issuer.mint({ customerId: paying });
      // The first decision fetches the keys (a cold start); the second verifies and remembers; the third remembers.
      for (let i = 0; i < 3; i++) expect(effectOn(await call(genuine), '/GET/v1/quotes')).toBe('Allow');
      expect(tokens.verifier.remembered.hits).toBe(1);
      expect(reads.commands()).toBe(3);
      const [header, payload, signature] = parts(genuine);
      const twins = [
        `${header}.${payload}.${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`,
        `${header}.${segment({ ...payloadOf(genuine), stripe_customer_id: 'cus_SomeoneElse' })}.${signature}`,
        `${segment({ alg: 'none', typ: 'JWT', kid: issuer.key.kid })}.${payload}.${signature}`,
      ];
      for (const twin of twins) await expect(call(twin)).rejects.toThrow(/^Unauthorized$/);
      expect(reasons().slice(-3)).toEqual(['invalid_token', 'invalid_token', 'invalid_token']);
      expect(reads.commands()).toBe(3);
      expect(tokens.verifier.remembered.hits).toBe(1);
      destroy();
    });

    it('the forged tokens are one change away from a token it accepts (the controls pass)', async () => {
      const { call, destroy } = setup();
      const token = issuer.mint({ customerId: paying });
      expect(headerOf(token)).toEqual({ alg: 'RS256', typ: 'JWT', kid: issuer.key.kid });
      expect(effectOn(await call(token), '/GET/v1/quotes')).toBe('Allow');
      expect(effectOn(await call(issuer.mint({ customerId: paying, expiresInSeconds: TTL + 10 })), '/GET/v1/quotes')).toBe('Allow');
      destroy();
    });
  });

  describe('keys', () => {
    it('picks up a rotated key with one more fetch, and fetches at most once per cooldown for unknown kids', async () => {
      let clock = Date.now();
      const { call, tokens, destroy } = setup({ now: () => clock });
      const customerId = await customer({ subscriptionStatus: 'active' });
      expect(effectOn(await call(issuer.mint({ customerId })), '/GET/v1/quotes')).toBe('Allow');
      expect(tokens.verifier.jwks.fetches.get(issuer.jwksUri)).toBe(1);
      clock += 31_000;
      for (let i = 0; i < 5; i++) await expect(call(mintToken({ ...issuer.key, kid: `made-up-${i}` }, { customerId }))).rejects.toThrow(/^Unauthorized$/);
      expect(tokens.verifier.jwks.fetches.get(issuer.jwksUri)).toBe(2);
      clock += 31_000;
      issuer.rotate();
      expect(effectOn(await call(issuer.mint({ customerId })), '/GET/v1/quotes')).toBe('Allow');
      expect(tokens.verifier.jwks.fetches.get(issuer.jwksUri)).toBe(3);
      destroy();
    });
  });

  describe('faults: 503, never 401 or 402', () => {
    it('fails (503) when the issuer cannot be reached at a cold start, with zero reads', async () => {
      const closed = await startLocalIssuer();
      const token = closed.mint({ customerId: 'cus_JwtColdStart' });
      await closed.close();
      const { call, reads, destroy } = setup({ issuers: [closed.trusted] });
      await expect(call(token)).rejects.toBeInstanceOf(AuthorizerFailure);
      await expect(call(token)).rejects.toMatchObject({ reason: 'jwks_unavailable' });
      expect(reads.commands()).toBe(0);
      destroy();
    });

    it('fails (503) when the discovery document cannot be had', async () => {
      const closed = await startLocalIssuer();
      const token = closed.mint({ customerId: 'cus_JwtDiscovery' });
      await closed.close();
      const { jwksUri: _omit, ...discovered } = closed.trusted;
      const { call, destroy } = setup({ issuers: [discovered] });
      await expect(call(token)).rejects.toMatchObject({ name: 'AuthorizerFailure', reason: 'jwks_unavailable' });
      destroy();
    });

    it('fails (503) when the store is down after a valid token', async () => {
      const client = authorizerDynamoClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      const handler = makeAuthorizerHandler({
        customers: new DynamoCustomerReader(client, 'none'),
        settings: settingsFor('none'),
        tokens: createTokenAuthenticator({ issuers: [issuer.trusted], cacheTtlSeconds: TTL, client, customersTable: 'none', fetcher: httpFetcher(900) }),
        observability: quietObservability(),
      });
      await expect(handler(authorizerEvent('quotes', bearer(issuer.mint({ customerId: 'cus_JwtStoreDown' }))))).rejects.toMatchObject({ name: 'AuthorizerFailure' });
      client.destroy();
    });

    it('discovers the JWKS through the discovery document when no jwksUri is configured', async () => {
      const { jwksUri: _omit, ...discovered } = issuer.trusted;
      const { call, destroy } = setup({ issuers: [discovered] });
      const before = issuer.served.get('/.well-known/openid-configuration') ?? 0;
      const customerId = await customer({ subscriptionStatus: 'active' });
      expect(effectOn(await call(issuer.mint({ customerId })), '/GET/v1/quotes')).toBe('Allow');
      expect((issuer.served.get('/.well-known/openid-configuration') ?? 0) - before).toBe(1);
      destroy();
    });
  });
});
