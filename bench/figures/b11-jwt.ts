import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { composeAuthorizer } from '../../lambda/authorizer/compose';
import { createTokenAuthenticator } from '../../lambda/authorizer/token-auth';
import { tokenDecisionProjection } from '../../lambda/shared/customers/subjects';
import { issuersEnvironment, type TrustedIssuer } from '../../lambda/shared/issuers';
import { localClient } from '../../lib/local/dynamodb-local';
import { startLocalIssuer } from '../../lib/local/oidc-issuer';
import { authorizerEvent, benchAuthorizerClient, benchAuthorizerSettings, freshBenchTables, seedCustomers } from '../lib/authorizer';
import { bundle } from '../lib/bundles';
import { outcomeOf } from '../lib/decisions';
import { cycling, latenciesAgainst } from '../lib/interleave';
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
 * B11: an uncached decision on a bearer JWT against its one GetItem alone, as B1 does for keys, two ways:
 * the authorizer as deployed, cycling through tokens it has verified before (it remembers them,
 * verified-tokens.ts), and the same authorizer told to remember none, so that every decision checks the
 * signature against the issuer's cached JWKS (a token's first sight on an instance). And the cold import
 * of the authorizer bundle with the verifier against the same authorizer with its token modules stubbed out.
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
      const authenticator = (rememberedTokens?: number) =>
        createTokenAuthenticator({ issuers: [issuer.trusted], cacheTtlSeconds: 300, client: authorizerClient, customersTable: names.customers, ...(rememberedTokens === undefined ? {} : { rememberedTokens }) })!;
      const remembering = authenticator();
      const verifying = authenticator(0);
      const handlers = [remembering, verifying].map((tokens) => composeAuthorizer(settings, { dynamodb: authorizerClient, tokens }));
      // Keys fetched before the first token, as at a warm instance: a cold start's first token is checked again next time.
      await Promise.all([remembering, verifying].map((tokens) => tokens.verifier.hydrate()));
      // A day's lifetime: no token nears its end during the run.
      const credentials = allow.map((c) => ({ customerId: c.customerId, token: issuer.mint({ customerId: c.customerId, expiresInSeconds: 24 * 3600 }) }));
      for (const handler of handlers) {
        for (const { token, customerId } of credentials) {
          const event = authorizerEvent(token);
          const outcome = await outcomeOf(handler(event), event.methodArn);
          if (outcome !== 'allow') throw new Error(`benchmark set-up is wrong: the token of ${customerId} got ${outcome}, expected allow`);
        }
      }
      const authorizerCounter = countRequests(authorizerClient);
      const hitsBefore = remembering.verifier.remembered.hits;
      const projection = tokenDecisionProjection();
      const requests = credentials.map((c) => new GetItemCommand({ TableName: names.customers, Key: { customerId: { S: c.customerId } }, ConsistentRead: true, ...projection }));
      // Built before the timing, as in B1 (bench/lib/decisions.ts decisionProbe).
      const events = credentials.map((c) => authorizerEvent(c.token));
      const [seenBefore, firstSight] = handlers.map((handler) => cycling(events, (event) => handler(event)));
      const raw = cycling(requests, (request) => rawClient.send(request));

      const [remembered, verified] = await latenciesAgainst([seenBefore!, firstSight!], raw, sizes);
      const decisions = remembered!.callsPerSide;
      const requestsMade = authorizerCounter.total();
      const fromMemory = remembering.verifier.remembered.hits - hitsBefore;
      const jwksFetches = [remembering, verifying].map((tokens) => tokens.verifier.jwks.fetches.get(issuer.jwksUri) ?? 0);

      const env = { ...lambdaEnvironment(context.root), ...issuersEnvironment(SAMPLE_ISSUERS, 300) };
      const withVerifier = await bundle('authorizer', context.root, context.workDir);
      const withoutVerifier = await bundle('authorizerWithoutTokens', context.root, context.workDir);
      const cold = compare(withVerifier.file, withoutVerifier.file, env, sizes.coldSamples, sizes.repetitions, context.mode !== 'smoke');
      return {
        available: true,
        measures: [
          ratioMeasure('p50 JWT decision, token seen before / p50 GetItem', remembered!.p50, { unit: 'ms', target: { op: '<=', value: 1.15 } }),
          ratioMeasure('p50 JWT decision, token verified (first sight) / p50 GetItem', verified!.p50, { unit: 'ms' }),
          ratioMeasure('p99 JWT decision, token seen before / p99 GetItem', remembered!.p99, { unit: 'ms' }),
          ratioMeasure('p99 JWT decision, token verified (first sight) / p99 GetItem', verified!.p99, { unit: 'ms' }),
          exactMeasure('decisions answered from memory / decisions on tokens seen before', fromMemory / decisions, { a: fromMemory, b: decisions, target: { op: '==', value: 1 } }),
          exactMeasure('DynamoDB requests per JWT decision', requestsMade / (2 * decisions), { a: requestsMade, b: 2 * decisions, target: { op: '==', value: 1 } }),
          exactMeasure('JWKS fetches over the whole run, per verifier', Math.max(...jwksFetches), { target: { op: '==', value: 1 } }),
          ratioMeasure('authorizer import / authorizer without the verifier import', cold.reps, { unit: 'ms', target: { op: '<=', value: 1.1 } }),
          exactMeasure('authorizer bytes / without the verifier bytes', withVerifier.bytes / withoutVerifier.bytes, { a: withVerifier.bytes, b: withoutVerifier.bytes }),
        ],
        facts: {
          decisionsPerSide: decisions,
          decisionsAnsweredFromMemory: fromMemory,
          requestsByOperation: { ...authorizerCounter.counts.attempts },
          jwksFetches,
          samplesPerSidePerRepetition: sizes.latencySamples,
          repetitions: sizes.repetitions,
          customers: credentials.length,
          medianImportMs: { withVerifier: cold.all.a, withoutVerifier: cold.all.b },
          topContributors: withVerifier.top,
        },
        notes: [
          'A: the authorizer handler with the token authenticator as index.ts wires it (RS256 tokens of a loopback issuer, JWKS fetched once and cached), fed a realistic REQUEST event, cycling through tokens it verified in the set-up, so that it answers them from memory; A′: the same, remembering no token, so that every decision checks the signature; B: the same GetItem (key, ConsistentRead, projection) on the raw client. All three interleaved.',
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
