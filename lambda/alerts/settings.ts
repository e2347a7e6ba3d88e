import { ENV, optional, required, type Env } from '../shared/settings';
import { TABLES } from '../shared/tables';

/** The alerts function's environment (the stack writes it; docs/alerts.md). Names and public facts only: the webhook's signing secret is read from Secrets Manager. */
export const ALERTS_ENV = {
  busName: 'TOLLGATE_ALERT_BUS',
  webhookUrl: 'TOLLGATE_ALERT_WEBHOOK_URL',
  webhookSecretId: 'TOLLGATE_ALERT_WEBHOOK_SECRET_ID',
  emailFrom: 'TOLLGATE_ALERT_EMAIL_FROM',
  emailIdentityArn: 'TOLLGATE_ALERT_EMAIL_IDENTITY_ARN',
  accountUrl: 'TOLLGATE_ALERT_ACCOUNT_URL',
} as const;

export interface AlertsSettings {
  readonly eventsTable: string;
  readonly busName: string;
  readonly webhook?: { readonly url: string; readonly secretId: string };
  readonly email?: { readonly from: string; readonly identityArn: string; readonly stripeApiKeySecretId: string };
  /** The portal's account page, named in the e-mails. */
  readonly accountUrl?: string;
}

export function alertsEnvironment(settings: Omit<AlertsSettings, 'eventsTable'>): Record<string, string> {
  return {
    [ALERTS_ENV.busName]: settings.busName,
    ...(settings.webhook === undefined ? {} : { [ALERTS_ENV.webhookUrl]: settings.webhook.url, [ALERTS_ENV.webhookSecretId]: settings.webhook.secretId }),
    ...(settings.email === undefined
      ? {}
      : { [ALERTS_ENV.emailFrom]: settings.email.from, [ALERTS_ENV.emailIdentityArn]: settings.email.identityArn, [ENV.stripeApiKeySecretId]: settings.email.stripeApiKeySecretId }),
    ...(settings.accountUrl === undefined ? {} : { [ALERTS_ENV.accountUrl]: settings.accountUrl }),
  };
}

export function loadAlertsSettings(env: Env): AlertsSettings {
  const url = optional(env, ALERTS_ENV.webhookUrl);
  const from = optional(env, ALERTS_ENV.emailFrom);
  const accountUrl = optional(env, ALERTS_ENV.accountUrl);
  return {
    eventsTable: required(env, TABLES.events.envVar),
    busName: required(env, ALERTS_ENV.busName),
    ...(url === undefined ? {} : { webhook: { url, secretId: required(env, ALERTS_ENV.webhookSecretId) } }),
    ...(from === undefined ? {} : { email: { from, identityArn: required(env, ALERTS_ENV.emailIdentityArn), stripeApiKeySecretId: required(env, ENV.stripeApiKeySecretId) } }),
    ...(accountUrl === undefined ? {} : { accountUrl }),
  };
}
