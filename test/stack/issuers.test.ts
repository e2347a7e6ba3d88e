import { AUTHORIZER_ACTIONS } from '../../lib/tollgate-stack';
import { ConfigError, loadConfig } from '../../lib/config/tollgate-config';
import { decodeIssuers } from '../../lambda/shared/issuers';
import { resourceLookups, synth, type Resource } from '../support/synth';

const COGNITO = {
  issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz',
  clientIds: ['4example5clientid6'],
  tokenUse: 'access',
  customer: 'claim:custom:stripe_customer_id',
};
const AUTH0 = { issuer: 'https://example.eu.auth0.com/', audience: ['https://api.example.com'], algorithms: ['RS256', 'ES256'], customer: 'subject' };

function synthesized(context: Record<string, unknown> = {}) {
  const resources: Record<string, Resource> = synth(context).template.toJSON().Resources;
  const { ofType, statementsOf } = resourceLookups(() => resources);
  const [authorizerId, authorizer] = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('Authorizer'))!;
  const statements = statementsOf('Authorizer');
  const customers = ofType('AWS::DynamoDB::GlobalTable').find(([id]) => id.startsWith('PaymentStateCustomers'))!;
  return { resources, authorizerId, environment: authorizer.Properties.Environment.Variables as Record<string, string>, statements, customers };
}

describe('trusted issuers in the template', () => {
  it('declares the subject index on the customers table (sparse, keyed by identitySubject, all attributes) beside the sweep\'s (keys only)', () => {
    const { customers } = synthesized();
    const [, table] = customers;
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      { IndexName: 'bySubject', KeySchema: [{ AttributeName: 'identitySubject', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
      {
        IndexName: 'pendingSweep',
        KeySchema: [
          { AttributeName: 'sweepShard', KeyType: 'HASH' },
          { AttributeName: 'sweepAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
    expect(table.Properties.AttributeDefinitions).toEqual([
      { AttributeName: 'customerId', AttributeType: 'S' },
      { AttributeName: 'identitySubject', AttributeType: 'S' },
      { AttributeName: 'sweepShard', AttributeType: 'S' },
      { AttributeName: 'sweepAt', AttributeType: 'N' },
    ]);
  });

  it('trusts no issuer by default: no issuer environment, no Query grant, no index in any grant', () => {
    const { environment, statements } = synthesized();
    expect(environment.TOLLGATE_ISSUERS).toBeUndefined();
    expect(environment.TOLLGATE_AUTHORIZER_CACHE_TTL_SECONDS).toBeUndefined();
    const dynamo = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap((s) => [s.Action].flat())).toEqual(AUTHORIZER_ACTIONS.customers!.flatMap((grant) => (typeof grant === 'string' ? [grant] : grant.actions)));
    expect(JSON.stringify(dynamo)).not.toContain('/index/');
  });

  it('passes the configured issuers and the cache TTL to the authorizer, and nothing secret', () => {
    const { environment } = synthesized({ 'tollgate:issuers': [COGNITO, AUTH0], 'tollgate:authorizerCacheTtlSeconds': 120 });
    expect(decodeIssuers(environment.TOLLGATE_ISSUERS)).toEqual([
      {
        issuer: COGNITO.issuer,
        kind: 'cognito',
        clientIds: COGNITO.clientIds,
        tokenUse: 'access',
        algorithms: ['RS256'],
        customer: { kind: 'claim', claim: 'custom:stripe_customer_id' },
        clockSkewSeconds: 30,
      },
      { issuer: AUTH0.issuer, kind: 'oidc', audience: AUTH0.audience, algorithms: ['RS256', 'ES256'], customer: { kind: 'subject' }, clockSkewSeconds: 30 },
    ]);
    expect(environment.TOLLGATE_AUTHORIZER_CACHE_TTL_SECONDS).toBe('120');
    // Public facts only: no private JWK member, no PEM, no client secret.
    expect(environment.TOLLGATE_ISSUERS).not.toMatch(/"d"|PRIVATE|secret/i);
  });

  it('grants Query on the subject index only, and only when an issuer maps tokens by subject', () => {
    const withSubject = synthesized({ 'tollgate:issuers': [AUTH0] });
    const query = withSubject.statements.filter((s) => [s.Action].flat().includes('dynamodb:Query'));
    expect(query).toHaveLength(1);
    expect([query[0].Action].flat()).toEqual(['dynamodb:Query']);
    const resources = [query[0].Resource].flat();
    expect(resources).toHaveLength(1);
    expect(JSON.stringify(resources[0])).toMatch(/PaymentStateCustomers\w+.*\/index\/bySubject/);
    const claimOnly = synthesized({ 'tollgate:issuers': [COGNITO] });
    expect(claimOnly.statements.flatMap((s) => [s.Action].flat())).not.toContain('dynamodb:Query');
  });
});

describe('tollgate:issuers validation', () => {
  const problemsOf = (issuers: unknown): string => {
    try {
      loadConfig((key) => (key === 'tollgate:issuers' ? issuers : undefined));
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it.each<[string, unknown, RegExp]>([
    ['not a list', { issuer: 'https://id.example.com' }, /must be a JSON array/],
    ['not JSON on the command line', '[{issuer:', /is not JSON/],
    ['an http issuer', [{ ...AUTH0, issuer: 'http://id.example.com' }], /use https \(http only on 127\.0\.0\.1 or localhost\)/],
    ['no audience', [{ issuer: AUTH0.issuer, customer: 'subject' }], /"audience" is required/],
    ['HS256', [{ ...AUTH0, algorithms: ['HS256'] }], /HS\* and none cannot be verified/],
    ['none', [{ ...AUTH0, algorithms: ['none'] }], /HS\* and none cannot be verified/],
    ['no customer mapping', [{ ...AUTH0, customer: undefined }], /"customer" is undefined: use "claim:<name>".*or "subject"/],
    ['a Cognito pool without tokenUse', [{ ...COGNITO, tokenUse: undefined }], /needs "tokenUse": "access" or "id"/],
    ['a Cognito pool without client ids', [{ ...COGNITO, clientIds: undefined }], /needs "clientIds"/],
    ['a Cognito pool with an audience', [{ ...COGNITO, audience: ['x'] }], /checks "clientIds", not "audience"/],
    ['tokenUse outside Cognito', [{ ...AUTH0, tokenUse: 'access' }], /"tokenUse" applies to Cognito issuers only/],
    ['an issuer listed twice', [AUTH0, AUTH0], /listed twice/],
    ['an unknown field', [{ ...AUTH0, scopes: ['x'] }], /unknown field "scopes"/],
    ['a clock skew over 5 minutes', [{ ...AUTH0, clockSkewSeconds: 3600 }], /from 0 to 300/],
    ['a jwksUri with a query', [{ ...AUTH0, jwksUri: 'https://id.example.com/jwks?x=1' }], /without a query/],
  ])('refuses %s, saying what to write', (_label, issuers, message) => {
    const text = problemsOf(issuers);
    expect(text).toMatch(/^invalid tollgate configuration/);
    expect(text).toMatch(message);
    expect(text).toContain('tollgate:issuers');
  });

  it('accepts the documented Cognito and OIDC entries, from cdk.json or -c as JSON', () => {
    expect(loadConfig((key) => (key === 'tollgate:issuers' ? [COGNITO, AUTH0] : undefined)).issuers).toHaveLength(2);
    expect(loadConfig((key) => (key === 'tollgate:issuers' ? JSON.stringify([AUTH0]) : undefined)).issuers).toHaveLength(1);
  });

  it('fails cdk synth with the message, not a stack trace', () => {
    expect(() => synth({ 'tollgate:issuers': [{ ...AUTH0, algorithms: ['HS256'] }] })).toThrow(/tollgate:issuers\[0\]: "algorithms"/);
  });
});
