import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CustomerUsage } from '../../lambda/metering/aggregate';
import { DEFAULT_WINDOW, encodeUsage } from '../../lambda/metering/window';
import { accessLogLineBytes, DEFAULT_ASSUMPTIONS, estimateCost, PRICES, TemplateError } from '../../lib/report/cost';
import { run } from '../cli/support';
import { synth } from '../support/synth';

/**
 * The cost estimate of the sample stack (cdk.json's context, the run's shared template) against the
 * same figures worked by hand from the list prices and the stated assumptions.
 */

const template = (): Record<string, unknown> => synth().template.toJSON();

describe('the cost estimate of the sample template', () => {
  // By hand, from the template: 3 secrets (the portal's session secret, the webhook's signing secret, the
  // agents' challenge secret: cdk.json sells the sample pack to agents),
  // 7 alarms of which 3 use metric math (over 3, 3 and 2 metrics: 4 + 8 = 12 metrics), 1 dashboard, and a
  // clock at rate(1 minute): 30 × 1440 = 43,200 ticks of a 128 MB function for 20 ms, with its
  // platform lines (670 B) and one strongly consistent read.
  const clockTick = 0.0000002 + 0.125 * 0.02 * 0.0000133334 + 670e-9 * 0.5 + 0.000000125;
  // Metering's window schedule, also rate(1 minute): 43,200 runs of the 256 MB function for 100 ms with
  // its platform lines and a read of the watermark; 43,200 one-minute windows (60 s, the
  // default), each closed (1 write unit), read from its 8 shards (a strongly consistent query each: 1
  // read unit) and marked summed (1 write unit).
  const windowRun = 0.0000002 + 0.25 * 0.1 * 0.0000133334 + 670e-9 * 0.5 + 0.000000125;
  const windowSum = 8 * 0.000000125 + 2 * 0.000000625;
  const idle = 3 * 0.4 + 12 * 0.1 + 3 + 43_200 * clockTick + 43_200 * (windowRun + windowSum); // $5.570

  // Every call: $3.50; a 495-byte access-log line (469 bytes of JSON at typical values + 26 of
  // metadata) ingested at $0.50/GB and kept 30 days at $0.03/GB-month; 5% traced at $5 per million;
  // metering: one 256 MB, 100 ms invocation (with platform lines) per 50 lines.
  const accessLog = 1e6 * (495 / 1e9) * (0.5 + 0.03);
  const metering = (1e6 / 50) * (0.0000002 + 0.25 * 0.1 * 0.0000133334 + 670e-9 * 0.5);
  const everyCall = 3.5 + accessLog + 0.05 * 5 + metering;
  // An uncached decision: a 512 MB, 10 ms invocation without platform lines, a 446-byte line, one
  // strongly consistent read, $0.02 per million of cold starts: $0.635 per million.
  const decision = 1e6 * (0.0000002 + 0.5 * 0.01 * 0.0000133334 + 446e-9 * 0.5 + 0.000000125 + 0.00000002);
  const subscription = everyCall + 0.16 * decision; // $4.131: 16% miss the 300-second cache
  // Counting a metered call. 5% come from customers near a limit, written per delivery: a read and a
  // two-item transaction (2 write units per item under 1 KB). The other 95%, summed per 60-s window:
  // a customer calling every 11 s makes 60 / 11 calls a window, whose sum costs one read and one 1-unit
  // UpdateItem; each delivery of 50 lines (50 customers at 66 bytes, plus 100 bytes of keys: 3,400
  // bytes, so 4 KB) is one buffer item written in a transaction (2 units per KB, 8) beside the window's
  // check (2): 10 write units per 50 calls; the window's run reads those 66 bytes back (4 KB a read unit).
  const nearLimit = 4 * 0.000000625 + 0.000000125;
  const windowed = (0.000000625 + 0.000000125) / (60 / 11) + (10 / 50) * 0.000000625 + (66 / 4096) * 0.000000125;
  const metered = everyCall + decision + 1e6 * (0.05 * nearLimit + 0.95 * windowed); // $5.047: every call decided and counted

  it('is what the hand computation gives: idle, and per million calls of each kind of route', () => {
    const estimate = estimateCost(template());
    expect(estimate.idle.total).toBeCloseTo(idle, 6);
    expect(estimate.perMillionSubscriptionCalls.total).toBeCloseTo(subscription, 6);
    expect(estimate.perMillionMeteredCalls.total).toBeCloseTo(metered, 6);
    expect([estimate.idle.total, estimate.perMillionSubscriptionCalls.total, estimate.perMillionMeteredCalls.total].map((n) => n.toFixed(2))).toEqual(['5.57', '4.13', '5.05']);
    expect(estimate.withTraffic.total).toBeCloseTo(((30 * 86_400 - 100_000) / 1e6) * 5, 6);
  });

  it('reads what it can from the template: the access-log format, the cache TTLs, the secrets', () => {
    const t = template();
    const stage = Object.values(t.Resources as Record<string, any>).find((r) => r.Type === 'AWS::ApiGateway::Stage');
    expect(accessLogLineBytes(stage.Properties.AccessLogSetting.Format)).toBe(495);
    // A stage without tracing drops X-Ray's lines; a longer metered TTL than the call interval caches.
    stage.Properties.TracingEnabled = false;
    const untraced = estimateCost(t);
    expect(untraced.perMillionSubscriptionCalls.total).toBeCloseTo(subscription - 0.25, 6);
    expect(untraced.withTraffic.lines).toEqual([]);
  });

  it("reads the usage window from metering's environment: windows off write every metered call per delivery, and nothing is summed", () => {
    const t = template();
    const meteringFn = Object.values(t.Resources as Record<string, any>).find((r) => r.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'tollgate-metering');
    expect(meteringFn.Properties.Environment.Variables.TOLLGATE_METERING_WINDOW_SECONDS).toBe('60');
    meteringFn.Properties.Environment.Variables.TOLLGATE_METERING_WINDOW_SECONDS = '0';
    const off = estimateCost(t);
    expect(off.perMillionMeteredCalls.total).toBeCloseTo(everyCall + decision + 1e6 * nearLimit, 6);
    expect(off.idle.total).toBeCloseTo(idle - 43_200 * (windowRun + windowSum), 6);
    // Five-minute windows: a customer calling every 11 s is written once per 300 / 11 calls.
    meteringFn.Properties.Environment.Variables.TOLLGATE_METERING_WINDOW_SECONDS = '300';
    const longer = estimateCost(t);
    const windowed300 = (0.000000625 + 0.000000125) / (300 / 11) + (10 / 50) * 0.000000625 + (66 / 4096) * 0.000000125;
    expect(longer.perMillionMeteredCalls.total).toBeCloseTo(everyCall + decision + 1e6 * (0.05 * nearLimit + 0.95 * windowed300), 6);
    expect(longer.idle.total).toBeCloseTo(idle - 43_200 * windowSum + 8_640 * windowSum, 6);
  });

  it("assumes what metering writes: a windowed customer's buffer entry is 66 bytes, read back from 8 shards", () => {
    const customer = (i: number): CustomerUsage => ({
      customerId: `cus_${String(i).padStart(14, '0')}`,
      periods: new Map([[1_767_225_600, new Map([['', 1]])]]),
      unperiodic: new Map(),
      prepaid: 0,
      refunds: new Map(),
      lastCallAt: 1_765_070_012_345,
    });
    const fifty = encodeUsage(Array.from({ length: 50 }, (_, i) => customer(i)));
    expect(Buffer.byteLength(fifty)).toBe(50 * DEFAULT_ASSUMPTIONS.bufferBytesPerCustomer + 1);
    expect(DEFAULT_WINDOW.shards).toBe(8);
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
      expect(printed.stdout).toMatch(/^idle: \$5\.57 a month$/m);
      expect(printed.stdout).toMatch(/^routes that need a subscription: \$4\.13 per million calls$/m);
      expect(printed.stdout).toMatch(/^routes sold by use: \$5\.05 per million calls$/m);
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
