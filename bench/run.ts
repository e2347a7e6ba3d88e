import './lib/quiet-sdk';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startDynamoDbLocal, type DynamoDbLocal } from '../lib/local/dynamodb-local';
import { machineInfo } from './lib/machine';
import { renderFacts, renderTable } from './lib/report';
import { FIGURE_IDS, type FigureId, type FigureResult, type Mode } from './lib/types';

/**
 * `npm run bench [-- --quick] [--only B1,B3] [--json <file>]`: every figure is a ratio of two things
 * measured in the same run, against one DynamoDB Local (in memory, fresh tables per figure) started
 * here. Each figure runs in a worker process of its own (bench/worker.ts).
 *
 * Hidden options for the smoke test: `--smoke` (minimal samples), `--dynamodb-endpoint <url>`
 * (reuse a running DynamoDB Local).
 */

const ROOT = path.resolve(__dirname, '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

interface Options {
  readonly mode: Mode;
  readonly only: readonly FigureId[];
  readonly json?: string;
  readonly dynamodbEndpoint?: string;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseOptions(argv: readonly string[]): Options {
  let mode: Mode = 'full';
  let only: FigureId[] = [...FIGURE_IDS];
  let json: string | undefined;
  let dynamodbEndpoint: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value: see bench/run.ts`);
      return next;
    };
    if (arg === '--quick') mode = 'quick';
    else if (arg === '--smoke') mode = 'smoke';
    else if (arg === '--json') json = value();
    else if (arg === '--dynamodb-endpoint') dynamodbEndpoint = value();
    else if (arg === '--only') {
      const ids = value()
        .split(',')
        .map((id) => id.trim().toUpperCase());
      const unknown = ids.filter((id) => !FIGURE_IDS.includes(id as FigureId));
      if (unknown.length > 0) throw new UsageError(`unknown figure ${unknown.join(', ')}: use ids from ${FIGURE_IDS.join(', ')}`);
      only = ids as FigureId[];
    } else throw new UsageError(`unknown option ${arg}: use --quick, --only B1,B3 or --json <file>`);
  }
  return { mode, only, ...(json === undefined ? {} : { json }), ...(dynamodbEndpoint === undefined ? {} : { dynamodbEndpoint }) };
}

const WORKER_TIMEOUT_MS: Record<Mode, number> = { full: 15 * 60_000, quick: 3 * 60_000, smoke: 2 * 60_000 };

/** The error line of a worker's stderr (not its stack frames). */
function firstError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('at '));
  return lines.find((l) => /error/i.test(l)) ?? lines[0] ?? 'no error output';
}

function runWorker(id: FigureId, mode: Mode, endpoint: string, workDir: string): Promise<FigureResult> {
  const resultFile = path.join(workDir, `${id}.result.json`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--expose-gc', path.join(ROOT, 'bench', 'worker.ts'), id, mode, endpoint, workDir, ROOT, resultFile],
      {
        cwd: ROOT,
        // stdout carries the functions' Powertools lines: discarded, as Lambda's log pipe takes them.
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_REGION: 'us-east-1' },
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_TIMEOUT_MS[mode]);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const failed = (reason: string): FigureResult => ({
        id,
        title: id,
        available: false,
        unavailableReason: reason,
        measures: [],
        facts: {},
        notes: [],
        seconds: (Date.now() - started) / 1000,
      });
      if (code !== 0) {
        const why = signal === 'SIGKILL' ? `timed out after ${WORKER_TIMEOUT_MS[mode] / 1000} s` : `the figure failed (exit ${code ?? signal})`;
        resolve(failed(`${why}: ${firstError(stderr)}`));
        return;
      }
      try {
        resolve(JSON.parse(readFileSync(resultFile, 'utf8')) as FigureResult);
      } catch (err) {
        resolve(failed(`the figure wrote no readable result: ${(err as Error).message}`));
      }
    });
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv);
  const machine = machineInfo(ROOT);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  // Smoke runs leave nothing behind; real runs keep bundles and metafiles beside the results.
  const workDir = options.mode === 'smoke' ? mkdtempSync(path.join(tmpdir(), 'tollgate-bench-')) : path.join(RESULTS_DIR, stamp);
  mkdirSync(workDir, { recursive: true });
  let dynamodb: DynamoDbLocal | undefined;
  const results: FigureResult[] = [];
  const startedAt = new Date();
  try {
    let endpoint = options.dynamodbEndpoint;
    if (endpoint === undefined) {
      process.stderr.write('starting DynamoDB Local (in memory)…\n');
      dynamodb = await startDynamoDbLocal();
      endpoint = dynamodb.endpoint;
    }
    for (const id of options.only) {
      process.stderr.write(`${id}…`);
      const result = await runWorker(id, options.mode, endpoint, workDir);
      process.stderr.write(` ${result.available ? `${result.seconds.toFixed(1)} s` : `not available (${result.unavailableReason ?? ''})`}\n`);
      results.push(result);
    }
  } finally {
    await dynamodb?.stop();
  }
  const report = {
    mode: options.mode,
    startedAt: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    machine,
    loadAverageAtEnd: (await import('node:os')).loadavg().map((v) => Math.round(v * 100) / 100),
    results,
  };
  const jsonFile = options.json ?? path.join(RESULTS_DIR, `bench-${stamp}.json`);
  mkdirSync(path.dirname(path.resolve(jsonFile)), { recursive: true });
  writeFileSync(jsonFile, JSON.stringify(report, null, 2));
  if (options.mode === 'smoke') rmSync(workDir, { recursive: true, force: true });
  process.stdout.write(`${renderTable(results, machine, options.mode)}\n\n${renderFacts(results)}\n\nresults: ${path.relative(process.cwd(), jsonFile) || jsonFile}\n`);
  if (results.some((r) => !r.available)) process.exitCode = 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
