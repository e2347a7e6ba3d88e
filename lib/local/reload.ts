import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { OperationInfo } from '../openapi/build';

/**
 * Reloading the local API in place when its sources change, as `sam local` reloads code. Sources are
 * polled (modification time and size): that sees editors that save by renaming a new file over the
 * old one, and file systems without change notification, alike. A change is acted on once the files
 * have stopped changing for one interval, so a half-saved file is not read.
 */

/** Every file under `dir`, skipping dot-folders and node_modules. */
export function filesUnder(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') return [];
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

type Snapshot = ReadonlyMap<string, string>;

function snapshot(files: readonly string[]): Snapshot {
  return new Map(
    files.map((file) => {
      try {
        const stat = statSync(file);
        return [file, `${stat.mtimeMs}:${stat.size}`];
      } catch {
        return [file, 'missing'];
      }
    }),
  );
}

function differences(before: Snapshot, after: Snapshot): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((file) => before.get(file) !== after.get(file)).sort();
}

/**
 * Calls `onChange` with the files that changed, once they are stable. `files` is asked again on every
 * poll (the document's path can change with cdk.json). Returns a function that stops watching.
 */
export function watchSources(files: () => readonly string[], onChange: (changed: string[]) => void, intervalMs = 500): () => void {
  let applied = snapshot(files());
  let previous = applied;
  const timer = setInterval(() => {
    const now = snapshot(files());
    const settled = differences(previous, now).length === 0;
    previous = now;
    if (!settled) return;
    const changed = differences(applied, now);
    if (changed.length === 0) return;
    applied = now;
    onChange(changed);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Requires `id` again with fresh copies of every module under `roots` except those `keep` names (the
 * run's own state: servers, DynamoDB Local, the lock): CommonJS caches modules, so this is how new
 * handler code gets in without a restart.
 */
export function requireFresh<T>(id: string, roots: readonly string[], keep: (file: string) => boolean): T {
  for (const file of Object.keys(require.cache)) {
    if (roots.some((root) => file.startsWith(`${root}${path.sep}`)) && !keep(file)) delete require.cache[file];
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module instance needs require itself
  return require(id) as T;
}

const label = (op: OperationInfo): string => `${op.method.toUpperCase()} ${op.path}`;
const requirementOf = (op: OperationInfo): string => JSON.stringify(op.requires);

/** `+GET /v1/new, -GET /v1/old, ~GET /v1/quotes (requirement)`, or undefined when the routes are the same. */
export function describeRouteChanges(before: readonly OperationInfo[], after: readonly OperationInfo[]): string | undefined {
  const old = new Map(before.map((op) => [label(op), requirementOf(op)]));
  const now = new Map(after.map((op) => [label(op), requirementOf(op)]));
  const parts = [
    ...[...now.keys()].filter((route) => !old.has(route)).map((route) => `+${route}`),
    ...[...old.keys()].filter((route) => !now.has(route)).map((route) => `-${route}`),
    ...[...now.entries()].filter(([route, req]) => old.has(route) && old.get(route) !== req).map(([route]) => `~${route} (requirement)`),
  ];
  return parts.length === 0 ? undefined : parts.join(', ');
}
