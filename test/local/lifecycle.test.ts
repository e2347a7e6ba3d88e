import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/cli/index';
import { DEMO_CUSTOMERS } from '../../lib/local/demo';
import { freePort } from '../../lib/local/dynamodb-local';
import { killGroup, launch, npmStart, ROOT, survivors, type NpmStart } from '../support/npm-start';

/**
 * The local run is one tidy process per folder: whatever way it ends, nothing of it is left running;
 * a second start in the same folder refuses and says where the first one is; a stale lock (the first
 * was SIGKILLed) does not block; restarts do not add demo keys. Real `npm start`, real signals.
 */

describe('npm start ends with its launcher', () => {
  const stateDirs: string[] = [];
  let current: NpmStart | undefined;
  const fresh = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-lifecycle-'));
    stateDirs.push(dir);
    return dir;
  };
  afterEach(() => killGroup(current?.pgid));
  afterAll(() => stateDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** Every process of the run, and its state files: all must be gone after `end`. */
  const endsCleanly = async (run: NpmStart, stateDir: string, end: () => void): Promise<void> => {
    const { pid: server, dynamodbPid: java } = run.coordinates();
    const members = run.members();
    expect(members).toEqual(expect.arrayContaining([run.pgid, server, java!]));
    expect(members.length).toBeGreaterThanOrEqual(5); // npm, sh, the server, the watchdog, java
    end();
    await run.exited;
    expect(await survivors(members)).toEqual([]);
    expect(existsSync(path.join(stateDir, 'local.json'))).toBe(false);
    expect(existsSync(path.join(stateDir, 'run.lock'))).toBe(false);
  };

  it.each([
    ['Ctrl-C (SIGINT to the process group)', (run: NpmStart) => process.kill(-run.pgid, 'SIGINT')],
    ['SIGKILL to npm alone', (run: NpmStart) => process.kill(run.pgid, 'SIGKILL')],
    ['a closed terminal (SIGHUP to the process group)', (run: NpmStart) => process.kill(-run.pgid, 'SIGHUP')],
  ])('leaves no process behind after %s', async (_how, end) => {
    const stateDir = fresh();
    current = await npmStart({ stateDir, args: ['--in-memory'] });
    await endsCleanly(current, stateDir, () => end(current!));
  }, 120_000);
});

describe('npm start in a folder', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'tollgate-folder-'));
  const runs: NpmStart[] = [];
  afterAll(() => {
    runs.forEach((run) => killGroup(run.pgid));
    rmSync(stateDir, { recursive: true, force: true });
  });

  const demoKeys = (run: NpmStart): string[] => [/paying {2}(tg_test_\S+)/.exec(run.output())![1]!, /free {4}(tg_test_\S+)/.exec(run.output())![1]!];
  const keyCount = async (env: Record<string, string | undefined>, customer: string): Promise<number> => {
    let stdout = '';
    const code = await runCli(['keys', 'list', '--customer', customer, '--json'], { stdout: (t) => (stdout += t), stderr: () => undefined, env, root: ROOT });
    expect(code).toBe(0);
    return (JSON.parse(stdout) as unknown[]).length;
  };

  it('refuses a second start with one line naming the first, takes over a stale lock, and keeps its demo keys', async () => {
    const first = await npmStart({ stateDir });
    runs.push(first);
    const firstKeys = demoKeys(first);

    const second = launch({ stateDir, env: { PORT: String(await freePort()) } });
    const refused = await second.exited;
    expect(refused.code).toBe(1);
    const errors = second.output().split('\n').filter((line) => line.startsWith('tollgate:'));
    expect(errors).toEqual([`tollgate: already running in ${stateDir} (pid ${first.coordinates().pid}, ${first.apiUrl}): use it, stop it (kill ${first.coordinates().pid}), or run another one with its own state folder (TOLLGATE_STATE_DIR=.tollgate-2 PORT=3001 npm start)`]);
    // The first run is untouched: its coordinates, its keys.
    expect(first.coordinates().pid).toBe(JSON.parse(readFileSync(path.join(stateDir, 'run.lock'), 'utf8')).pid);
    expect((await fetch(`${first.apiUrl}v1/quotes`, { headers: { Authorization: `Bearer ${firstKeys[0]}` } })).status).toBe(200);

    // The server SIGKILLed: no handler runs, so the lock and local.json stay; java must still go.
    const { pid: server, dynamodbPid: java } = first.coordinates();
    process.kill(server, 'SIGKILL');
    expect(await survivors([server, java!])).toEqual([]);
    await first.exited;
    expect(existsSync(path.join(stateDir, 'run.lock'))).toBe(true);

    const third = await npmStart({ stateDir });
    runs.push(third);
    expect(third.output()).not.toContain('already running');
    expect(demoKeys(third)).toEqual(firstKeys);
    expect(third.output()).toContain('kept from the last start');
    expect((await fetch(`${third.apiUrl}v1/quotes`, { headers: { Authorization: `Bearer ${firstKeys[0]}` } })).status).toBe(200);
    for (const customer of Object.values(DEMO_CUSTOMERS)) expect(await keyCount(third.env, customer)).toBe(1);

    const members = third.members();
    process.kill(third.pgid, 'SIGTERM');
    await third.exited;
    expect(await survivors(members)).toEqual([]);
  }, 240_000);
});
