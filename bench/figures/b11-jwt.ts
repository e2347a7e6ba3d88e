import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoCustomerReader } from '../../lambda/authorizer/customer-store';
import { makeAuthorizerHandler } from '../../lambda/authorizer/handler';
import { createTokenAuthenticator } from '../../lambda/authorizer/token-auth';
import { tokenDecisionProjection } from '../../lambda/shared/customers/subjects';
import { issuersEnvironment, type TrustedIssuer } from '../../lambda/shared/issuers';
import { localClient } from '../../lib/local/dynamodb-local';
import { startLocalIssuer } from '../../lib/local/oidc-issuer';
import { authorizerEvent, benchAuthorizerClient, benchAuthorizerSettings, freshBenchTables, seedCustomers } from '../lib/authorizer';
import { bundle } from '../lib/bundles';
import { outcomeOf } from '../lib/decisions';
import { pairedLatencies } from '../lib/interleave';
import { countRequests } from '../lib/request-counter';
import { SIZES } from '../lib/sizes';
import { exactMeasure, ratioMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';
import { compare, lambdaEnvironment } from './b2-cold-import';

/** What a deployment trusting Cognito and one other OIDC issuer puts in the authorizer's environment. */
const SAMPLE_ISSUERS: TrustedIssuer[] = [
  {
    issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz',
    kind: 'cognito',
    clientIds: ['4example5clientid6'],
    tokenUse: 'access',
    algorithms: ['RS256'],
    customer: { kind: 'claim', claim: 'custom:stripe_customer_id' },
    clockSkewSeconds: 30,
  },
  { issuer: 'https://example.eu.auth0.com/', kind: 'oidc', audience: ['https://api.example.com'], algorithms: ['RS256'], customer: { kind: 'subject' }, clockSkewSeconds: 30 },
];

/**
 * B11: an uncached decision on a bearer JWT (signature verified against the issuer's cached JWKS, then
 * the one GetItem) against that GetItem alone, as B1 does for keys; and the cold import of the authorizer
 * bundle with the verifier against the same authorizer with its token modules stubbed out.
 */
export const figure: Figure = {
  id: 'B11',
  title: 'JWT decision / raw GetItem; authorizer import with / without the verifier',
  async run(context) {
    const sizes = SIZES[context.mode];
    const issuer = await startLocalIssuer();
    const names = await freshBenchTables(context.dynamodbEndpoint, 'jwt');
    const seeder = localClient(context.dynamodbEndpoint);
    const authorizerClient = benchAuthorizerClient(context.dynamodbEndpoint);
    const rawClient = benchAuthorizerClient(context.dynamodbEndpoint);
    try {
      const { allow } = await seedCustomers(seeder, names, sizes.customers);
      const settings = benchAuthorizerSettings(context.root, names.customers);
      const tokens = createTokenAuthenticator({ issuers: [issuer.trusted], cacheTtlSeconds: 300, client: authorizerClient, customersTable: names.customers })!;
      const handler = makeAuthorizerHandler({ customers: new DynamoCustomerReader(authorizerClient, names.customers), settings, tokens });
      // A day's lifetime: no token nears its end during the run.
      const credentials = allow.map((c) => ({ customerId: c.customerId, token: issuer.mint({ customerId: c.customerId, expiresInSeconds: 24 * 3600 }) }));
      for (const { token, customerId } of credentials) {
        const event = authorizerEvent(token);
        const outcome = await outcomeOf(handler(event), event.methodArn);
        if (outcome !== 'allow') throw new Error(`benchmark set-up is wrong: the token of ${customerId} got ${outcome}, expected allow`);
      }
      const authorizerCounter = countRequests(authorizerClient);
      const projection = tokenDecisionProjection();
      const requests = credentials.map((c) => new GetItemCommand({ TableName: names.customers, Key: { customerId: { S: c.customerId } }, ConsistentRead: true, ...projection }));
      let d = 0;
      let r = 0;
      // Built before the timing, as in B1 (bench/lib/decisions.ts decisionProbe).
      const events = credentials.map((c) => authorizerEvent(c.token));
      const decide = (): Promise<unknown> => handler(events[d++ % events.length]!);
      const raw = (): Promise<unknown> => rawClient.send(requests[r++ % requests.length]!);

      const { p50, p99, callsPerSide: decisions } = await pairedLatencies([decide, raw], sizes);
      const requestsMade = authorizerCounter.total();
      const jwksFetches = tokens.verifier.jwks.fetches.get(issuer.jwksUri) ?? 0;

      const env = { ...lambdaEnvironment(context.root), ...issuersEnvironment(SAMPLE_ISSUERS, 300) };
      const withVerifier = await bundle('authorizer', context.root, context.workDir);
      const withoutVerifier = await bundle('authorizerWithoutTokens', context.root, context.workDir);
      const cold = compare(withVerifier.file, withoutVerifier.file, env, sizes.coldSamples, sizes.repetitions, context.mode !== 'smoke');
      return {
        available: true,
        measures: [
          ratioMeasure('p50 JWT decision / p50 GetItem', p50, { unit: 'ms', target: { op: '<=', value: 1.15 } }),
          ratioMeasure('p99 JWT decision / p99 GetItem', p99, { unit: 'ms' }),
          exactMeasure('DynamoDB requests per JWT decision', requestsMade / decisions, { a: requestsMade, b: decisions, target: { op: '==', value: 1 } }),
          exactMeasure('JWKS fetches over the whole run', jwksFetches, { target: { op: '==', value: 1 } }),
          ratioMeasure('authorizer import / authorizer without the verifier import', cold.reps, { unit: 'ms', target: { op: '<=', value: 1.1 } }),
          exactMeasure('authorizer bytes / without the verifier bytes', withVerifier.bytes / withoutVerifier.bytes, { a: withVerifier.bytes, b: withoutVerifier.bytes }),
        ],
        facts: {
          decisions,
          requestsByOperation: { ...authorizerCounter.counts.attempts },
          jwksFetches,
          samplesPerSidePerRepetition: sizes.latencySamples,
          repetitions: sizes.repetitions,
          customers: credentials.length,
          medianImportMs: { withVerifier: cold.all.a, withoutVerifier: cold.all.b },
          topContributors: withVerifier.top,
        },
        notes: [
          'A: the authorizer handler with the token authenticator as index.ts wires it (RS256 tokens of a loopback issuer, JWKS fetched once and cached), fed a realistic REQUEST event; B: the same GetItem (key, ConsistentRead, projection) on the raw client.',
          'Cold import: fresh node processes requiring each bundle with the environment of a stack trusting a Cognito pool and an OIDC issuer; the baseline resolves token-auth.ts, jwt.ts and jwks.ts to bench/entries/no-tokens.ts.',
        ],
      };
    } finally {
      seeder.destroy();
      authorizerClient.destroy();
      rawClient.destroy();
      await issuer.close();
    }
  },
};
