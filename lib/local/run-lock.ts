import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { processInfo } from './lifeline';

/**
 * One `npm start` per state folder: two would share DynamoDB Local's files, each other's demo keys
 * and `local.json`. The lock is a file naming the running process; a lock whose process is gone (it
 * was SIGKILLed) is stale and taken over.
 */

export const LOCK_FILE = 'run.lock';

export class AlreadyRunningError extends Error {
  override readonly name = 'AlreadyRunningError';
}

interface Holder {
  readonly pid: number;
  /** Tells the holder from a later process that got the same pid. */
  readonly startTime?: string;
  readonly apiUrl?: string;
}

export interface RunLock {
  /** Records where the run serves, for the message a second start prints. */
  update(apiUrl: string): void;
  release(): void;
}

const lockPath = (stateDir: string): string => path.join(stateDir, LOCK_FILE);

function readHolder(file: string): { holder: Holder | undefined; text: string } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Holder>;
    return { holder: typeof parsed.pid === 'number' ? (parsed as Holder) : undefined, text };
  } catch {
    return { holder: undefined, text };
  }
}

function holderAlive(holder: Holder): boolean {
  const info = processInfo(holder.pid);
  if (info === undefined) return false;
  return holder.startTime === undefined || info.startTime === undefined || info.startTime === holder.startTime;
}

/** Writes the whole file under another name first: a reader never sees half a lock. */
function draft(file: string, holder: Holder): string {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  return temp;
}

export function acquireRunLock(stateDir: string, stateDirLabel: string): RunLock {
  const file = lockPath(stateDir);
  const startTime = processInfo(process.pid)?.startTime;
  const mine: Holder = { pid: process.pid, ...(startTime === undefined ? {} : { startTime }) };
  for (let attempt = 0; attempt < 3; attempt++) {
    const temp = draft(file, mine);
    try {
      linkSync(temp, file);
      return {
        update: (apiUrl) => renameSync(draft(file, { ...mine, apiUrl }), file),
        release: () => {
          if (readHolder(file)?.holder?.pid === process.pid) rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      rmSync(temp, { force: true });
    }
    const current = readHolder(file);
    if (current?.holder !== undefined && holderAlive(current.holder)) {
      const { pid, apiUrl } = current.holder;
      throw new AlreadyRunningError(
        `already running in ${stateDirLabel} (pid ${pid}, ${apiUrl ?? 'still starting'}): use it, stop it (kill ${pid}), ` +
          `or run another one with its own state folder (TOLLGATE_STATE_DIR=.tollgate-2 PORT=3001 npm start)`,
      );
    }
    // Stale (its process is gone) or unreadable: remove it, unless another start replaced it meanwhile.
    if (current !== undefined && readHolder(file)?.text === current.text) rmSync(file, { force: true });
  }
  throw new AlreadyRunningError(`could not lock ${file}: another npm start is taking it over; retry in a moment`);
}
