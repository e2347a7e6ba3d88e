import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FIGURE_IDS, type FigureResult } from '../../bench/lib/types';
import { testEndpoint } from '../support/dynamodb';

/**
 * Runs the benchmark in its hidden smoke mode (minimal samples, the test run's DynamoDB Local) and
 * checks that it runs and emits every figure with numeric ratios. Not their values: timing on a
 * shared machine is the benchmark's business, not a test's.
 */

const ROOT = path.resolve(__dirname, '..', '..');

interface Report {
  readonly mode: string;
  readonly machine: { readonly nproc: number; readonly cpuModel: string; readonly node: string; readonly versions: Record<string, string> };
  readonly results: readonly FigureResult[];
}

function runBench(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'run.ts'), ...args], { cwd: ROOT, timeout: 300_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

describe('npm run bench', () => {
  let dir: string;
  let report: Report;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tollgate-bench-smoke-'));
    const json = path.join(dir, 'bench.json');
    run = await runBench(['--smoke', '--json', json, '--dynamodb-endpoint', testEndpoint()]);
    report = JSON.parse(readFileSync(json, 'utf8')) as Report;
  }, 310_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and prints the table when every figure runs', () => {
    expect(run.stderr).not.toMatch(/not available/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\| id \| ratio A \/ B \| median \| min–max \|/);
  });

  it('emits every figure B1…B7, each available with numeric ratios, when run in smoke mode', () => {
    expect(report.mode).toBe('smoke');
    expect(report.results.map((r) => r.id)).toEqual([...FIGURE_IDS]);
    for (const result of report.results) {
      expect({ id: result.id, available: result.available, reason: result.unavailableReason }).toEqual({ id: result.id, available: true, reason: undefined });
      expect(result.measures.length).toBeGreaterThan(0);
      for (const measure of result.measures) {
        for (const value of [measure.ratio.median, measure.ratio.min, measure.ratio.max]) {
          expect(Number.isFinite(value)).toBe(true);
        }
        expect(measure.ratio.min).toBeLessThanOrEqual(measure.ratio.median);
        expect(measure.ratio.median).toBeLessThanOrEqual(measure.ratio.max);
        if (measure.target !== undefined) expect(typeof measure.met).toBe('boolean');
      }
    }
  });

  it('records the machine and versions with the results', () => {
    expect(report.machine.nproc).toBeGreaterThan(0);
    expect(report.machine.cpuModel).not.toBe('');
    expect(report.machine.node).toMatch(/^v\d+/);
    expect(report.machine.versions['@aws-sdk/client-dynamodb']).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.machine.versions.stripe).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('names every figure in the table it prints', () => {
    for (const id of FIGURE_IDS) expect(run.stdout).toMatch(new RegExp(`^\\| ${id} \\|`, 'm'));
  });
});
