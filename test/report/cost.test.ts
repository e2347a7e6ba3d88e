import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { accessLogLineBytes, estimateCost, PRICES, TemplateError } from '../../lib/report/cost';
import { run } from '../cli/support';
import { synth } from '../support/synth';

/**
 * The cost estimate of the sample stack (cdk.json's context, the run's shared template) against the
 * same figures worked by hand from the list prices and the stated assumptions.
 */

const template = (): Record<string, unknown> => synth().template.toJSON();

describe('the cost estimate of the sample template', () => {
  // By hand, from the template: 2 secrets (the portal's session secret, the webhook's signing secret),
  // 7 alarms of which 2 use metric math over 3 metrics each (5 + 6 = 11 metrics), 1 dashboard, and a
  // clock at rate(1 minute): 30 × 1440 = 43,200 ticks of a 128 MB function for 20 ms, with its
  // platform lines (670 B) and one strongly consistent read.
  const clockTick = 0.0000002 + 0.125 * 0.02 * 0.0000133334 + 670e-9 * 0.5 + 0.000000125;
  const idle = 2 * 0.4 + 11 * 0.1 + 3 + 43_200 * clockTick; // $4.930

  // Every call: $3.50; a 403-byte access-log line (377 bytes of JSON at typical values + 26 of
  // metadata) ingested at $0.50/GB and kept 30 days at $0.03/GB-month; 5% traced at $5 per million;
  // metering: one 256 MB, 100 ms invocation (with platform lines) per 50 lines.
  const accessLog = 1e6 * (403 / 1e9) * (0.5 + 0.03);
  const metering = (1e6 / 50) * (0.0000002 + 0.25 * 0.1 * 0.0000133334 + 670e-9 * 0.5);
  const everyCall = 3.5 + accessLog + 0.05 * 5 + metering;
  // An uncached decision: a 512 MB, 10 ms invocation without platform lines, a 446-byte line, one
  // strongly consistent read, $0.02 per million of cold starts: $0.635 per million.
  const decision = 1e6 * (0.0000002 + 0.5 * 0.01 * 0.0000133334 + 446e-9 * 0.5 + 0.000000125 + 0.00000002);
  const subscription = everyCall + 0.16 * decision; // $4.083: 16% miss the 300-second cache
  const metered = everyCall + decision + 1e6 * (4 * 0.000000625 + 0.000000125); // $7.241: every call decided and counted

  it('is what the hand computation gives: idle, and per million calls of each kind of route', () => {
    const estimate = estimateCost(template());
    expect(estimate.idle.total).toBeCloseTo(idle, 6);
    expect(estimate.perMillionSubscriptionCalls.total).toBeCloseTo(subscription, 6);
    expect(estimate.perMillionMeteredCalls.total).toBeCloseTo(metered, 6);
    expect([estimate.idle.total, estimate.perMillionSubscriptionCalls.total, estimate.perMillionMeteredCalls.total].map((n) => n.toFixed(2))).toEqual(['4.93', '4.08', '7.24']);
    expect(estimate.withTraffic.total).toBeCloseTo(((30 * 86_400 - 100_000) / 1e6) * 5, 6);
  });

  it('reads what it can from the template: the access-log format, the cache TTLs, the secrets', () => {
    const t = template();
    const stage = Object.values(t.Resources as Record<string, any>).find((r) => r.Type === 'AWS::ApiGateway::Stage');
    expect(accessLogLineBytes(stage.Properties.AccessLogSetting.Format)).toBe(403);
    // A stage without tracing drops X-Ray's lines; a longer metered TTL than the call interval caches.
    stage.Properties.TracingEnabled = false;
    const untraced = estimateCost(t);
    expect(untraced.perMillionSubscriptionCalls.total).toBeCloseTo(subscription - 0.25, 6);
    expect(untraced.withTraffic.lines).toEqual([]);
  });

  it('states the date and source of its prices, and its assumptions', () => {
    const estimate = estimateCost(template());
    expect(estimate.pricesReadOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(estimate.assumptions[0]).toContain(PRICES.sources[0]);
    expect(estimate.assumptions.join('\n')).toMatch(/every 11 s/);
  });

  it('refuses a template that is not a tollgate stack', () => {
    expect(() => estimateCost({ Resources: {} })).toThrow(TemplateError);
  });

  it('is what tollgate cost prints, from --template', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-cost-'));
    try {
      const file = path.join(dir, 'Tollgate.template.json');
      writeFileSync(file, JSON.stringify(template()));
      const printed = await run(['cost', '--template', file]);
      expect(printed).toMatchObject({ code: 0, stderr: '' });
      expect(printed.stdout).toMatch(/^idle: \$4\.93 a month$/m);
      expect(printed.stdout).toMatch(/^routes that need a subscription: \$4\.08 per million calls$/m);
      expect(printed.stdout).toMatch(/^routes sold by use: \$7\.24 per million calls$/m);
      expect(printed.stdout).toMatch(/^assumptions:$/m);
      const json = await run(['cost', '--template', file, '--json']);
      expect(JSON.parse(json.stdout).perMillionMeteredCalls.total).toBeCloseTo(metered, 6);
      const missing = await run(['cost', '--template', path.join(dir, 'none.json')]);
      expect(missing).toMatchObject({ code: 1 });
      expect(missing.stderr).toMatch(/cannot read the template .*npx cdk synth/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
