import { TABLES, type TableKey } from '../../lambda/shared/tables';
import { synthInBeforeAll } from '../support/synth';

const STRIPE_API_KEY = 'tollgate/stripe-api-key';
const WEBHOOK_SECRET = 'tollgate/stripe-webhook-secret';
// Every secret and the subject index in play: a Stripe API key and an issuer whose tokens map by subject.
const stack = synthInBeforeAll({
  'tollgate:stripeApiKeySecretName': STRIPE_API_KEY,
  'tollgate:stripeWebhookSecretName': WEBHOOK_SECRET,
  'tollgate:issuers': [{ issuer: 'https://example.eu.auth0.com/', audience: ['https://api.example.com'], customer: 'subject' }],
});
const { ofType, statementsOf } = stack;

interface Reach {
  readonly tables: string[];
  readonly secrets: string[];
}

/** Table keys by the logical id of their table. */
const tableKeys = (): Map<string, TableKey> =>
  new Map(ofType('AWS::DynamoDB::GlobalTable').map(([id]) => [id, (Object.keys(TABLES) as TableKey[]).find((key) => id.startsWith(`PaymentState${TABLES[key].id}`))!]));

/** The tables a CloudFormation value points at (a Ref, a GetAtt, an ARN built from one), by key. */
const tablesIn = (value: unknown): string[] => {
  const json = JSON.stringify(value);
  return [...tableKeys()].filter(([id]) => json.includes(`"${id}"`)).map(([, key]) => key);
};

/** The secrets a value points at: a secret of this stack by logical id, an imported one by name (as a name, or inside its ARN). */
const secretsIn = (value: unknown): string[] => {
  if (typeof value === 'string') return [value.replace(/^arn:.*:secret:(.+)-\?{6}$/, '$1')];
  const json = JSON.stringify(value);
  const owned = ofType('AWS::SecretsManager::Secret').map(([id]) => id).filter((id) => json.includes(`"${id}"`));
  const imported = [...json.matchAll(/:secret:([^"]+?)-\?{6}/g)].map((match) => match[1]!);
  return [...owned, ...imported];
};

const sorted = (values: string[]): string[] => [...new Set(values)].sort();

/** What a function's environment names: tables by their variables, secrets by their *_SECRET_ID variables. */
function named(variables: Record<string, unknown>): Reach {
  const tables: string[] = [];
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(variables)) {
    const table = (Object.keys(TABLES) as TableKey[]).find((key) => TABLES[key].envVar === name);
    if (table !== undefined) {
      expect({ [name]: tablesIn(value) }).toEqual({ [name]: [table] });
      tables.push(table);
    } else if (name.endsWith('_SECRET_ID')) {
      secrets.push(...secretsIn(value));
    } else {
      // No table or secret under any other name.
      const smuggled = typeof value === 'string' ? [STRIPE_API_KEY, WEBHOOK_SECRET].filter((secret) => value === secret) : [...tablesIn(value), ...secretsIn(value)];
      expect({ [name]: smuggled }).toEqual({ [name]: [] });
    }
  }
  return { tables: sorted(tables), secrets: sorted(secrets) };
}

/** What a function's role may touch: the tables of its DynamoDB statements, the secrets of its Secrets Manager ones. */
function granted(functionId: string): Reach {
  const statements = statementsOf(functionId);
  const on = (service: string): unknown[] =>
    statements.filter((s) => [s.Action].flat().some((action: string) => action.startsWith(`${service}:`))).map((s) => s.Resource);
  return { tables: sorted(on('dynamodb').flatMap(tablesIn)), secrets: sorted(on('secretsmanager').flatMap((resource) => [resource].flat().flatMap(secretsIn))) };
}

describe('functions bound to tables and secrets', () => {
  it('names in each function\'s environment exactly the tables and secrets its role may touch', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(8);
    const reach: Record<string, Reach> = {};
    for (const [id, fn] of functions) {
      const environment = named(fn.Properties.Environment?.Variables ?? {});
      expect({ [id]: environment }).toEqual({ [id]: granted(id) });
      reach[id.replace(/[0-9A-F]{8}$/, '')] = environment;
    }
    // The check above sees every binding: each function's reach, spelled out.
    const sessionSecret = ofType('AWS::SecretsManager::Secret').find(([id]) => id.startsWith('PortalSessionSecret'))![0];
    // Selling to agents (cdk.json): the challenges' HMAC key, for the authorizer (signs) and the purchase function (verifies).
    const agentSecret = ofType('AWS::SecretsManager::Secret').find(([id]) => id.startsWith('AgentPaymentsSecret'))![0];
    expect(reach).toEqual({
      Authorizer: { tables: ['customers'], secrets: [agentSecret] },
      Purchase: { tables: ['apiKeys', 'customers', 'events'], secrets: sorted([agentSecret, STRIPE_API_KEY]) },
      Usage: { tables: ['customers'], secrets: [] },
      // A tool call goes through the API with the caller's credential: the MCP function reads no table.
      Mcp: { tables: [], secrets: [] },
      StripeWebhook: { tables: ['customers', 'events'], secrets: sorted([STRIPE_API_KEY, WEBHOOK_SECRET]) },
      Portal: { tables: ['apiKeys', 'customers', 'events'], secrets: sorted([sessionSecret, STRIPE_API_KEY]) },
      SampleBackend: { tables: [], secrets: [] },
      // The flush outbox, and the wallets it sweeps for reservations nobody settled.
      Clock: { tables: ['customers', 'events'], secrets: [] },
      MeteringFunction: { tables: ['customers', 'events', 'usage'], secrets: [STRIPE_API_KEY] },
      MeteringDeadLetter: { tables: ['events'], secrets: [] },
      // The layout migration at deploy (lib/layout-migration.ts).
      LayoutFunction: { tables: ['customers'], secrets: [] },
      // Alerts (cdk.json sets tollgate:alerts): the sent_* marks on alert items; no e-mail configured, so no Stripe key.
      AlertsFunction: { tables: ['events'], secrets: [] },
    });
  });
});
