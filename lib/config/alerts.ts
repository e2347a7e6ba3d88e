import { checkAlertRules, type AlertRules } from '../../lambda/shared/alerts/rules';
import { jsonValue } from './json-value';

/**
 * `tollgate:alerts` (docs/alerts.md): the thresholds that fire alerts, and where they go besides the
 * stack's EventBridge bus. Absent: no alerts (nothing detected, no bus, no function). Present: each
 * rule defaults to DEFAULT_ALERT_RULES (quota 80 and 100 %, budgets at 100 %, no credits rule,
 * payment_recovered on).
 *
 *   {"quota": [50, 80, 100], "creditsBelow": [100], "budget": [100], "paymentRecovered": true,
 *    "webhookUrl": "https://seller.example.com/tollgate-alerts",
 *    "email": {"from": "billing@example.com", "identityArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com"}}
 */

export interface AlertsConfig {
  readonly rules: AlertRules;
  /** The seller's webhook (https): every alert POSTed there, signed with the secret the stack keeps. @default - none */
  readonly webhookUrl?: string;
  /** E-mails to customers through SES, from this verified identity. @default - none (npm start still shows them in its outbox page) */
  readonly email?: { readonly from: string; readonly identityArn: string };
}

const KEYS = ['quota', 'creditsBelow', 'budget', 'paymentRecovered', 'webhookUrl', 'email'];
const EXAMPLE = '{"quota": [80, 100], "creditsBelow": [100], "budget": [100]}';
const ADDRESS = /^[^\s@"'<>,]+@[^\s@"'<>,]+\.[^\s@"'<>,]+$/;
const IDENTITY_ARN = /^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity\/[^\s*]+$/;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function readAlerts(value: unknown, problems: string[], context: { readonly stripeApiKeySecretName?: string }): AlertsConfig | undefined {
  const key = 'tollgate:alerts';
  if (value === undefined || value === null) return undefined;
  const spec = jsonValue(value);
  if (!isObject(spec)) {
    problems.push(`${key} must be an object such as ${EXAMPLE}`);
    return undefined;
  }
  const before = problems.length;
  for (const name of Object.keys(spec)) if (!KEYS.includes(name)) problems.push(`${key} has no setting "${name}": use ${KEYS.join(', ')}`);
  const { rules, problems: ruleProblems } = checkAlertRules(spec, key);
  problems.push(...ruleProblems);
  const { webhookUrl, email } = spec;
  if (webhookUrl !== undefined && (typeof webhookUrl !== 'string' || !/^https:\/\/[^\s"\\]+$/.test(webhookUrl) || !URL.canParse(webhookUrl))) {
    problems.push(`${key}.webhookUrl is ${JSON.stringify(webhookUrl)}: use an absolute https URL`);
  }
  let mail: AlertsConfig['email'];
  if (email !== undefined) {
    if (!isObject(email) || typeof email.from !== 'string' || !ADDRESS.test(email.from) || typeof email.identityArn !== 'string' || !IDENTITY_ARN.test(email.identityArn)) {
      problems.push(`${key}.email is ${JSON.stringify(email)}: use {"from": "billing@example.com", "identityArn": "arn:aws:ses:<region>:<account>:identity/<your verified domain or address>"}`);
    } else if (context.stripeApiKeySecretName === undefined) {
      problems.push(`${key}.email needs tollgate:stripeApiKeySecretName: a customer's address is its Stripe customer's e-mail, read with that key`);
    } else mail = { from: email.from, identityArn: email.identityArn };
  }
  if (problems.length > before) return undefined;
  return { rules, ...(typeof webhookUrl === 'string' ? { webhookUrl } : {}), ...(mail === undefined ? {} : { email: mail }) };
}
