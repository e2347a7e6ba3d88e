import { ConfigError, loadConfig } from '../../lib/config/tollgate-config';
import { decodeAlertRules, encodeAlertRules } from '../../lambda/shared/alerts/rules';

const load = (context: Record<string, unknown>) => loadConfig((key) => context[key]);
const IDENTITY = 'arn:aws:ses:us-east-1:123456789012:identity/example.com';

describe('tollgate:alerts', () => {
  it('is off unless set; set, it defaults to 80 and 100 % of the quota, budgets reached, payment_recovered, no credits rule', () => {
    expect(load({}).alerts).toBeUndefined();
    expect(load({ 'tollgate:alerts': {} }).alerts).toEqual({ rules: { quota: [80, 100], creditsBelow: [], budget: [100], paymentRecovered: true } });
    expect(load({ 'tollgate:alerts': { paymentRecovered: false } }).alerts?.rules.paymentRecovered).toBe(false);
  });

  it('reads cdk.json values and -c JSON strings alike, thresholds sorted without repeats', () => {
    const alerts = {
      quota: [100, 50, 80, 80],
      creditsBelow: [100],
      budget: [80, 100],
      webhookUrl: 'https://seller.example.com/hooks',
      email: { from: 'billing@example.com', identityArn: IDENTITY },
    };
    const expected = { rules: { quota: [50, 80, 100], creditsBelow: [100], budget: [80, 100], paymentRecovered: true }, webhookUrl: alerts.webhookUrl, email: alerts.email };
    const key = { 'tollgate:stripeApiKeySecretName': 'tollgate/stripe-api-key' };
    expect(load({ ...key, 'tollgate:alerts': alerts }).alerts).toEqual(expected);
    expect(load({ ...key, 'tollgate:alerts': JSON.stringify(alerts) }).alerts).toEqual(expected);
  });

  it.each([
    [{ 'tollgate:alerts': [80] }, 'tollgate:alerts must be an object such as {"quota": [80, 100]'],
    [{ 'tollgate:alerts': { quota: [0, 80] } }, 'tollgate:alerts.quota is [0,80]: use a list of at most 10 whole percentages from 1 to 100'],
    [{ 'tollgate:alerts': { quota: [120] } }, 'tollgate:alerts.quota is [120]: use a list of at most 10 whole percentages from 1 to 100'],
    [{ 'tollgate:alerts': { creditsBelow: [2.5] } }, 'tollgate:alerts.creditsBelow is [2.5]: use a list of at most 10 whole numbers of units ≥ 1'],
    [{ 'tollgate:alerts': { budget: '100' } }, 'tollgate:alerts.budget is "100": use a list'],
    [{ 'tollgate:alerts': { paymentRecovered: 'yes' } }, 'tollgate:alerts.paymentRecovered is "yes": use true or false'],
    [{ 'tollgate:alerts': { quotas: [80] } }, 'tollgate:alerts has no setting "quotas": use quota, creditsBelow, budget, paymentRecovered, webhookUrl, email'],
    [{ 'tollgate:alerts': { webhookUrl: 'http://seller.example.com' } }, 'tollgate:alerts.webhookUrl is "http://seller.example.com": use an absolute https URL'],
    [{ 'tollgate:alerts': { email: { from: 'billing@example.com', identityArn: 'example.com' } } }, 'tollgate:alerts.email is {"from":"billing@example.com","identityArn":"example.com"}: use {"from"'],
    [{ 'tollgate:alerts': { email: { from: 'billing@example.com', identityArn: IDENTITY } } }, 'tollgate:alerts.email needs tollgate:stripeApiKeySecretName'],
  ])('refuses %j with a message that says what to use', (context, message) => {
    expect(() => load(context)).toThrow(ConfigError);
    expect(() => load(context)).toThrow(message);
  });

  it("travels to metering's environment and back unchanged", () => {
    const rules = { quota: [50, 80, 100], creditsBelow: [10, 100], budget: [100], paymentRecovered: true };
    expect(decodeAlertRules(encodeAlertRules(rules))).toEqual(rules);
    expect(decodeAlertRules(encodeAlertRules({ ...rules, paymentRecovered: false }))).toEqual({ ...rules, paymentRecovered: false });
    expect(decodeAlertRules(undefined)).toBeUndefined();
    expect(() => decodeAlertRules('{"q":[500]}')).toThrow(/TOLLGATE_ALERT_RULES.quota is \[500\]/);
  });
});
