import { PURCHASE_PATH } from '../../lambda/shared/agents/offers';
import { synthInBeforeAll } from '../support/synth';

/** Selling to agents in the synthesized template (cdk.json sets tollgate:agentPayments): docs/agents.md. */
const stack = synthInBeforeAll();
const { logicalIdOf, statementsOf, ofType } = stack;
const body = (): any => Object.values(stack.resources()).find((r) => r.Type === 'AWS::ApiGateway::RestApi')!.Properties.Body;
const secretReaders = (secretId: string): string[] =>
  ['Authorizer', 'Purchase', 'Portal', 'StripeWebhook', 'Usage', 'Clock'].filter((fn) =>
    statementsOf(fn).some((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue') && JSON.stringify(s.Resource).includes(secretId)),
  );

describe('selling to agents: the template', () => {
  it('adds the purchase route, without an authorizer, integrated with the purchase function', () => {
    const operation = body().paths[PURCHASE_PATH].post;
    expect(operation.security).toBeUndefined();
    expect(operation['x-amazon-apigateway-integration']).toMatchObject({ type: 'aws_proxy', httpMethod: 'POST' });
    expect(JSON.stringify(operation['x-amazon-apigateway-integration'].uri)).toContain(logicalIdOf('Purchase', 'AWS::Lambda::Function'));
  });

  it("generates the challenges' HMAC secret and lets only the authorizer (which signs) and the purchase function (which verifies) read it", () => {
    const secret = logicalIdOf('AgentPaymentsSecret', 'AWS::SecretsManager::Secret');
    expect(stack.resources()[secret]!.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64 });
    expect(secretReaders(secret)).toEqual(['Authorizer', 'Purchase']);
    const purchase = stack.resources()[logicalIdOf('Purchase', 'AWS::Lambda::Function')]!.Properties;
    // Names and offers only: the secret's value is read at run time.
    expect(purchase.Environment.Variables.TOLLGATE_AGENT_SECRET_ID).toEqual({ 'Fn::Join': expect.anything() });
    expect(JSON.parse(purchase.Environment.Variables.TOLLGATE_AGENT_PAYMENTS).packs).toEqual([{ id: 'credits_100', name: '100 credits', credits: 100, amount: 1000, currency: 'usd' }]);
  });

  it("maps the Deny's challenges into the 402's WWW-Authenticate and PAYMENT-REQUIRED and its offers into the body; the 401 lists the packs", () => {
    const responses = body()['x-amazon-apigateway-gateway-responses'];
    expect(responses.ACCESS_DENIED.responseParameters['gatewayresponse.header.WWW-Authenticate']).toBe('context.authorizer.wwwAuthenticate');
    // With x402 (cdk.json): the Deny's accepts in PAYMENT-REQUIRED, readable by browsers.
    expect(responses.ACCESS_DENIED.responseParameters['gatewayresponse.header.PAYMENT-REQUIRED']).toBe('context.authorizer.paymentRequired');
    expect(responses.ACCESS_DENIED.responseParameters['gatewayresponse.header.Access-Control-Expose-Headers']).toBe("'Retry-After,WWW-Authenticate,PAYMENT-REQUIRED'");
    expect(responses.ACCESS_DENIED.responseTemplates['application/json']).toContain('"offers":$context.authorizer.offers,');
    const unauthorized = JSON.parse(responses.UNAUTHORIZED.responseTemplates['application/json']);
    expect(unauthorized.offers).toEqual([expect.objectContaining({ id: 'credits_100', protocols: ['mpp', 'x402'], purchaseUrl: 'https://$context.domainName/$context.stage/tollgate/purchase?offer=credits_100' })]);
  });

  it('lets API Gateway invoke the purchase function', () => {
    const purchase = logicalIdOf('Purchase', 'AWS::Lambda::Function');
    expect(ofType('AWS::Lambda::Permission').some(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(purchase) && p.Properties.Principal === 'apigateway.amazonaws.com')).toBe(true);
  });
});
