import type { PolicyDocument } from 'aws-lambda';
import { decidePolicy, evaluatePolicy, parsePolicyDocument } from '../../lambda/shared/iam-policy';
import { evaluatePolicy as authorizerEvaluatePolicy } from '../../lambda/authorizer/policy';

const ARN_PREFIX = 'arn:aws:execute-api:us-east-1:000000000000:api123/prod';
const arn = `${ARN_PREFIX}/GET/v1/quotes`;
const statement = (effect: 'Allow' | 'Deny', resource: string, action = 'execute-api:Invoke') => ({ Effect: effect, Action: [action], Resource: [resource] });
const policy = (...statements: ReturnType<typeof statement>[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });

describe('decidePolicy', () => {
  it.each([
    ['allows when a statement allows the arn', policy(statement('Allow', arn)), 'Allow'],
    ['denies explicitly when a deny and an allow both match', policy(statement('Allow', `${ARN_PREFIX}/*`), statement('Deny', arn)), 'ExplicitDeny'],
    ['denies implicitly when nothing matches', policy(statement('Allow', `${ARN_PREFIX}/GET/v1/ping`)), 'ImplicitDeny'],
    ['denies implicitly when the action is another service', policy(statement('Allow', arn, 's3:GetObject')), 'ImplicitDeny'],
    ['allows when the action is a wildcard', policy(statement('Allow', arn, 'execute-api:*')), 'Allow'],
    ['allows when the action differs only in case', policy(statement('Allow', arn, 'Execute-API:invoke')), 'Allow'],
    ['denies implicitly when there is no statement', policy(), 'ImplicitDeny'],
  ] as const)('%s', (_label, document, expected) => {
    expect(decidePolicy(document, arn)).toBe(expected);
  });
});

describe('evaluatePolicy', () => {
  it.each([
    [policy(statement('Allow', arn)), 'Allow'],
    [policy(statement('Allow', `${ARN_PREFIX}/*`), statement('Deny', arn)), 'Deny'],
    [policy(statement('Allow', `${ARN_PREFIX}/GET/v1/ping`)), 'Deny'],
  ] as const)('gives the authorizer Allow or Deny: case %#', (document, expected) => {
    expect(evaluatePolicy(document, arn)).toBe(expected);
  });

  it('is the evaluator the authorizer uses', () => {
    expect(authorizerEvaluatePolicy).toBe(evaluatePolicy);
  });
});

describe('parsePolicyDocument', () => {
  it.each([
    ['a single statement object', { Version: '2012-10-17', Statement: { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' } }, true],
    ['a list of statements', { Statement: [statement('Deny', arn)] }, true],
    ['a statement without resource', { Statement: [{ Action: '*', Effect: 'Allow' }] }, false],
    ['an unknown effect', { Statement: [{ Action: '*', Effect: 'Maybe', Resource: '*' }] }, false],
    ['statements that are not objects', { Statement: 'nope' }, false],
    ['no document', undefined, false],
  ])('accepts the document only when API Gateway would: %s', (_label, document, valid) => {
    expect(parsePolicyDocument(document) !== undefined).toBe(valid);
  });

  it('reads a single statement object as a list of one', () => {
    const parsed = parsePolicyDocument({ Statement: { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: arn } });
    expect(parsed?.Statement).toEqual([{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: arn }]);
    expect(decidePolicy(parsed!, arn)).toBe('Allow');
  });
});
