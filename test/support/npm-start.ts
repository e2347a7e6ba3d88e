import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { LocalCoordinates } from '../../lib/local/coordinates';
import { freePort } from '../../lib/local/dynamodb-local';
import { alive, run, waitFor, type Captured } from './processes';

/**
 * `npm start` as a user runs it, in its own process group (detached), so a test can signal npm alone
 * or the whole group, as a terminal does, and then check that no process of the run is left.
 */

export const ROOT = path.join(__dirname, '..', '..');

export interface NpmStart extends Captured {
  /** npm's pid, which is also the run's process group. */
  readonly pgid: number;
  readonly apiUrl: string;
  readonly env: Record<string, string | undefined>;
  coordinates(): LocalCoordinates;
  /** Every process of the group now (npm, sh, the server, the watchdog, java, esbuild). */
  members(): number[];
}

/** Pids whose process group is `pgid`, from /proc. */
export function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export function launch(options: { stateDir: string; args?: readonly string[]; env?: Record<string, string | undefined> }): Captured & { env: Record<string, string | undefined> } {
  const env = { ...process.env, TOLLGATE_STATE_DIR: options.stateDir, STRIPE_WEBHOOK_SECRET: '', ...options.env };
  const args = options.args === undefined || options.args.length === 0 ? ['start'] : ['start', '--', ...options.args];
  return { ...run('npm', args, { cwd: ROOT, env, detached: true }), env };
}

/** Starts `npm start` on a free port and waits until it prints its banner. */
export async function npmStart(options: { stateDir: string; args?: readonly string[]; env?: Record<string, string | undefined> }): Promise<NpmStart> {
  const port = await freePort();
  const started = launch({ ...options, env: { PORT: String(port), ...options.env } });
  const ready = await waitFor(() => started.output().includes('manage it:') || started.child.exitCode !== null, 90_000);
  if (!ready || !started.output().includes('manage it:')) {
    if (started.child.pid !== undefined && alive(started.child.pid)) process.kill(-started.child.pid, 'SIGKILL');
    throw new Error(`npm start did not become ready:\n${started.output()}`);
  }
  const pgid = started.child.pid!;
  return {
    ...started,
    pgid,
    apiUrl: /tollgate is running on (\S+)/.exec(started.output())![1]!,
    coordinates: () => JSON.parse(readFileSync(path.join(options.stateDir, 'local.json'), 'utf8')) as LocalCoordinates,
    members: () => groupMembers(pgid),
  };
}

/** Waits (bounded) until none of `pids` is alive; returns those still alive. */
export async function survivors(pids: readonly number[], ms = 15_000): Promise<number[]> {
  await waitFor(() => pids.every((pid) => !alive(pid)), ms);
  return pids.filter((pid) => alive(pid));
}

/** Test cleanup: whatever is left of the group, killed. */
export function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * `npm start --in-memory` in a fresh state folder for the test file that calls this: started in its
 * beforeAll, and in its afterAll stopped (SIGINT to the group, then whatever is left killed) and the
 * folder removed, even when the start failed half-way.
 */
export function npmStartForFile(prefix: string, extraArgs: readonly string[] = []): { readonly started: () => NpmStart; readonly stateDir: () => string } {
  let started: NpmStart | undefined;
  let stateDir: string | undefined;
  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), `tollgate-${prefix}-`));
    started = await npmStart({ stateDir, args: ['--in-memory', ...extraArgs] });
  }, 120_000);
  afterAll(async () => {
    try {
      if (started !== undefined && alive(started.pgid)) {
        process.kill(-started.pgid, 'SIGINT');
        await started.exited;
      }
    } finally {
      killGroup(started?.pgid);
      if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
    }
  });
  return {
    started: () => started ?? fail('npm start did not start'),
    stateDir: () => stateDir ?? fail('no state folder yet'),
  };
}

function fail(message: string): never {
  throw new Error(message);
}

/** Polls (bounded) until `check` returns a value. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('the condition did not hold in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
