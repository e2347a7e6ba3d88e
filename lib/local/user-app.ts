import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LOCAL_RUN_METADATA, type LocalRunMetadata } from '../config/construct-metadata';
import { readCdkJsonContext } from '../config/tollgate-config';
import { PROJECT_ROOT } from '../contract';

/**
 * `tollgate start` in a user's CDK app: the app is run as `cdk synth` runs it (cdk.json's `app`, its
 * context, an output folder of our own, no bundling), and the Tollgate construct's settings are read
 * from the metadata it leaves (lib/config/construct-metadata.ts). The local run then serves them as
 * `-c` overrides on top of the app's cdk.json.
 */

export class UserAppError extends Error {
  override readonly name = 'UserAppError';
}

/** Run from the npm package (node_modules/tollgate), tollgate serves the app it is installed in; from its repository, its own. */
export const RUNS_FROM_PACKAGE = PROJECT_ROOT.split(path.sep).includes('node_modules');

export interface UserTollgate {
  /** The construct's path in the app (`/Stack/Paywall`). */
  readonly path: string;
  readonly context: Record<string, string>;
}

function appCommand(dir: string): string {
  const file = path.join(dir, 'cdk.json');
  if (!existsSync(file)) throw new UserAppError(`no cdk.json in ${dir}: run tollgate start in the folder of your CDK app (where npx cdk synth runs)`);
  const app = (JSON.parse(readFileSync(file, 'utf8')) as { app?: unknown }).app;
  if (typeof app !== 'string' || app.trim() === '') throw new UserAppError(`cdk.json in ${dir} names no "app" command: add the one cdk synth runs, such as "node app.js"`);
  return app;
}

/** Every Tollgate of the app: its stacks' metadata files name each by its path. */
interface Found extends UserTollgate {
  readonly inlineDocument?: unknown;
}

function readConstructs(outdir: string): Found[] {
  const found: Found[] = [];
  for (const file of readdirSync(outdir).filter((f) => f.endsWith('.metadata.json'))) {
    const byPath = JSON.parse(readFileSync(path.join(outdir, file), 'utf8')) as Record<string, Array<{ type?: string; data?: unknown }>>;
    for (const [constructPath, entries] of Object.entries(byPath)) {
      for (const entry of entries) {
        if (entry.type !== LOCAL_RUN_METADATA) continue;
        const data = entry.data as LocalRunMetadata;
        found.push({ path: constructPath, context: { ...data.context }, ...(data.inlineDocument === undefined ? {} : { inlineDocument: data.inlineDocument }) });
      }
    }
  }
  return found;
}

/**
 * Synthesizes the app in `dir` and returns its Tollgate's settings; `choose` names one when the app has
 * several. A document given inline is written to `stateDir` (the run reads and watches a file).
 */
export function findUserTollgate(dir: string, stateDir: string, choose?: string): UserTollgate {
  const command = appCommand(dir);
  const outdir = mkdtempSync(path.join(tmpdir(), 'tollgate-start-'));
  try {
    const context = { ...readCdkJsonContext(dir), 'aws:cdk:bundling-stacks': [] };
    const result = spawnSync(command, {
      cwd: dir,
      shell: true,
      encoding: 'utf8',
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.status !== 0) {
      const output = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-20).join('\n');
      throw new UserAppError(`your CDK app (${command}) failed:\n${output}`);
    }
    const constructs = readConstructs(outdir);
    if (constructs.length === 0) throw new UserAppError(`your CDK app (${command}) has no Tollgate construct, or wrote its assembly elsewhere: leave App's outdir unset (cdk sets it)`);
    const chosen = choose === undefined ? constructs : constructs.filter((c) => c.path === choose || c.path === `/${choose}`);
    if (chosen.length !== 1) {
      throw new UserAppError(`${choose === undefined ? 'your app has several Tollgate constructs' : `no Tollgate at ${choose}`}: choose one with --construct <path> (${constructs.map((c) => c.path).join(', ')})`);
    }
    const tollgate = chosen[0]!;
    if (tollgate.inlineDocument !== undefined) {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const file = path.join(stateDir, 'openapi.json');
      writeFileSync(file, JSON.stringify(tollgate.inlineDocument, null, 2));
      tollgate.context['tollgate:openApiDocument'] = file;
    }
    return { path: tollgate.path, context: tollgate.context };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
