import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readOutputs } from '../../lib/cli/target';
import { STACK_OUTPUTS } from '../../lib/contract';

/** `--outputs` of this repository's stack, and of a Tollgate construct in a user's own stack. */

const VALUES: Record<string, string> = {
  ApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/live/',
  StripeWebhookUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/live/webhooks/stripe',
  CustomersTableName: 'customers',
  ApiKeysTableName: 'keys',
  EventsTableName: 'events',
  UsageTableName: 'usage',
  RestApiId: 'abc',
  StageName: 'live',
};

describe('readOutputs', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'tollgate-outputs-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (content: unknown): string => {
    const f = path.join(dir, `${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify(content));
    return f;
  };

  it("reads this repository's stack", () => {
    expect(readOutputs(file({ Tollgate: VALUES }))).toEqual(VALUES);
  });

  it("finds a Tollgate construct's outputs in a user's stack by the construct's prefix and CDK's hash", () => {
    const hashed = (prefix: string) => Object.fromEntries(Object.entries(VALUES).map(([k, v], i) => [`${prefix}${k}${(0x1a2b3c40 + i).toString(16).toUpperCase()}`, prefix === 'Paywall' ? v : `other-${v}`]));
    const outputs = readOutputs(file({ UserApi: { SomethingElse: 'x', ...hashed('Paywall') } }));
    expect(outputs).toEqual(VALUES);
    expect(Object.keys(outputs).sort()).toEqual(Object.values(STACK_OUTPUTS).sort());
  });

  it('says what is missing when a construct has not every output', () => {
    expect(() => readOutputs(file({ UserApi: { PaywallApiUrl1A2B3C4D: VALUES.ApiUrl } }))).toThrow(/has no outputs of the Tollgate stack/);
  });
});
