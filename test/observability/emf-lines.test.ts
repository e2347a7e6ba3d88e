import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EmfLines, metricsDisabled } from '../../lambda/shared/observability';

/** What a Powertools Metrics writes for one count with a record as metadata: the line EmfLines stands in for. */
function powertoolsLine(namespace: string, service: string, name: string, dimensions: Record<string, string>, record: Record<string, string | undefined>): string {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  const previous = { disabled: process.env.POWERTOOLS_METRICS_DISABLED, dev: process.env.POWERTOOLS_DEV };
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  delete process.env.POWERTOOLS_DEV;
  try {
    const metrics = new Metrics({ namespace, serviceName: service });
    for (const [key, value] of Object.entries(record)) if (value !== undefined) metrics.addMetadata(key, value);
    for (const [dimension, value] of Object.entries(dimensions)) metrics.addDimension(dimension, value);
    metrics.addMetric(name, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  } finally {
    spy.mockRestore();
    restore('POWERTOOLS_METRICS_DISABLED', previous.disabled);
    restore('POWERTOOLS_DEV', previous.dev);
  }
  return written.join('');
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function withEnv<T>(values: Record<string, string | undefined>, run: () => T): T {
  const previous = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  for (const [name, value] of Object.entries(values)) restore(name, value);
  try {
    return run();
  } finally {
    for (const [name, value] of Object.entries(previous)) restore(name, value);
  }
}

describe('EmfLines', () => {
  const record = { message: 'authorizer decision', method: 'GET', resource: '/v1/quotes', customerId: 'cus_Abc123', keyId: undefined, policyReason: 'none' };

  it('writes the line Powertools Metrics writes for one count with metadata: the same keys in the same order, one line', () => {
    const written: string[] = [];
    const lines = new EmfLines({ namespace: 'TollgateTest', service: 'tollgate-authorizer', write: (line) => written.push(line) });
    lines.count('Decisions', { outcome: 'allow', reason: 'none' }, record);
    lines.count('Decisions', { outcome: 'deny', reason: 'payment_failed' }, { ...record, keyId: 'k1k2k3k4' });

    expect(written).toHaveLength(2);
    for (const line of written) expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1).toBe(true);
    const ours = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    const theirs = [
      JSON.parse(powertoolsLine('TollgateTest', 'tollgate-authorizer', 'Decisions', { outcome: 'allow', reason: 'none' }, record)) as Record<string, unknown>,
      JSON.parse(powertoolsLine('TollgateTest', 'tollgate-authorizer', 'Decisions', { outcome: 'deny', reason: 'payment_failed' }, { ...record, keyId: 'k1k2k3k4' })) as Record<string, unknown>,
    ];
    // Timestamps differ by the moments of writing; everything else is the same, key order included.
    const withoutTime = (line: Record<string, unknown>) => ({ ...line, _aws: { ...(line._aws as object), Timestamp: 0 } });
    expect(ours.map(withoutTime)).toEqual(theirs.map(withoutTime));
    expect(ours.map((line) => Object.keys(line))).toEqual(theirs.map((line) => Object.keys(line)));
    expect(ours[0]).not.toHaveProperty('keyId');
    expect(ours[1]).toMatchObject({ keyId: 'k1k2k3k4', outcome: 'deny', reason: 'payment_failed', Decisions: 1, service: 'tollgate-authorizer' });
    const timestamp = (ours[0]!._aws as { Timestamp: number }).Timestamp;
    expect(Math.abs(timestamp - Date.now())).toBeLessThan(60_000);
  });

  it('keeps what JSON must escape intact in a record value', () => {
    const written: string[] = [];
    const lines = new EmfLines({ namespace: 'T', service: 's', write: (line) => written.push(line) });
    lines.count('Decisions', { outcome: 'error', reason: 'store_error' }, { error: 'a "quoted"\nline\\ and \u2028' });
    expect(JSON.parse(written[0]!)).toMatchObject({ error: 'a "quoted"\nline\\ and \u2028' });
  });

  it('writes nothing when disabled', () => {
    const written: string[] = [];
    new EmfLines({ namespace: 'T', service: 's', disabled: true, write: (line) => written.push(line) }).count('Decisions', { outcome: 'allow' }, {});
    expect(written).toEqual([]);
  });

  it('is off exactly when Powertools Metrics is: POWERTOOLS_METRICS_DISABLED first, else POWERTOOLS_DEV', () => {
    const cases: Array<[string | undefined, string | undefined, boolean]> = [
      [undefined, undefined, false],
      ['true', undefined, true],
      ['1', undefined, true],
      ['false', 'true', false],
      [undefined, 'true', true],
      [undefined, 'yes', true],
      [undefined, 'false', false],
    ];
    for (const [disabled, dev, expected] of cases) {
      withEnv({ POWERTOOLS_METRICS_DISABLED: disabled, POWERTOOLS_DEV: dev }, () => {
        const metrics = new Metrics({ namespace: 'T', serviceName: 's' });
        // Powertools' own answer, read through its (TypeScript-protected) accessor.
        const powertools = (metrics as unknown as { isDisabled(): boolean }).isDisabled();
        expect({ disabled, dev, ours: metricsDisabled() }).toEqual({ disabled, dev, ours: powertools });
        expect(powertools).toBe(expected);
      });
    }
  });
});
