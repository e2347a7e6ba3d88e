import * as path from 'node:path';
import { loadMeteringSettings } from '../../lambda/metering/settings';
import { loadPortalSettings } from '../../lambda/portal/settings';
import { apiTitleOf, loadPurchaseSettings } from '../../lambda/purchase/settings';
import { ENV, loadAuthorizerSettings, loadClockSettings, loadUsageSettings, loadWebhookSettings } from '../../lambda/shared/settings';
import { TABLES, type TableNames } from '../../lambda/shared/tables';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import { buildLocalDocument, LOCAL_AGENT_SECRET_ID, LOCAL_REST_API_ID, LOCAL_SESSION_SECRET_ID, localSettings } from '../../lib/local/stack';
import { synthInBeforeAll } from '../support/synth';

const ROOT = path.join(__dirname, '..', '..');
const TABLE_NAMES: TableNames = { customers: 'local-customers', apiKeys: 'local-api-keys', events: 'local-events', usage: 'local-usage' };

/**
 * The local run builds each function from settings it derives through that function's environment
 * contract; the deployed function reads the environment the stack writes. Names aside (tables, the REST
 * API, the session secret: tokens in the template), the two must be the same settings.
 */
describe("the local run's settings", () => {
  const stack = synthInBeforeAll();
  const NAMES: Readonly<Record<string, string>> = {
    ...Object.fromEntries(Object.entries(TABLES).map(([key, table]) => [table.envVar, TABLE_NAMES[key as keyof TableNames]])),
    [ENV.restApiId]: LOCAL_REST_API_ID,
    TOLLGATE_SESSION_SECRET_ID: LOCAL_SESSION_SECRET_ID,
    [ENV.agentSecretId]: LOCAL_AGENT_SECRET_ID,
  };
  /** A function's environment in the template, each token replaced by the name the local run uses. */
  const environmentOf = (prefix: string): Record<string, string> => {
    const variables: Record<string, unknown> = stack.resources()[stack.logicalIdOf(prefix, 'AWS::Lambda::Function')]!.Properties.Environment.Variables;
    return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : NAMES[name] ?? `unnamed token ${name}`]));
  };

  it('are what each deployed function reads from the environment the stack gives it', () => {
    const config = loadProjectConfig(ROOT);
    const built = buildLocalDocument(config, ROOT);
    const local = localSettings(config, built.routes, TABLE_NAMES, apiTitleOf(built.publicDocument));
    expect(loadAuthorizerSettings(environmentOf('Authorizer'))).toEqual(local.authorizer);
    expect(loadWebhookSettings(environmentOf('StripeWebhook'))).toEqual(local.webhook);
    expect(loadClockSettings(environmentOf('Clock'))).toEqual(local.clock);
    expect(loadPortalSettings(environmentOf('Portal'))).toEqual(local.portal);
    expect(loadUsageSettings(environmentOf('Usage'))).toEqual(local.usage);
    expect(loadMeteringSettings(environmentOf('MeteringFunction'))).toEqual(local.metering);
    expect(loadPurchaseSettings(environmentOf('Purchase'))).toEqual(local.purchase);
    // Not vacuous: the sample project sells routes by use and declares plans.
    expect(local.metering.rules.routes.length).toBeGreaterThan(0);
    expect(Object.keys(local.usage.plans).length).toBeGreaterThan(0);
  });
});
