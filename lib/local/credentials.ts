import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LOCAL_REGION, type LocalCredentials } from './dynamodb-local';
import { randomBase62 } from '../../lambda/shared/random';

/**
 * The local run's DynamoDB Local credentials. DynamoDB Local keeps one database per access key id and
 * region (it runs without `-sharedDb`), and it listens on every interface: the random access key id
 * generated here, once per state folder and readable by its owner only, is what keeps the local data
 * out of reach of anyone else on the network. `npm start` and `npx tollgate` read it.
 */

export const CREDENTIALS_FILE = 'dynamodb-credentials.json';
/** Where `-sharedDb` kept everything (tollgate before its data had an owner). */
const SHARED_DATABASE_FILE = 'shared-local-instance.db';

export class LocalCredentialsError extends Error {
  override readonly name = 'LocalCredentialsError';
}

export const credentialsPath = (stateDir: string): string => path.join(stateDir, CREDENTIALS_FILE);

/** The state folder, private to its owner: it holds the credentials and the data. */
export function ensurePrivateStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
}

/** The folder's credentials, or undefined when `npm start` never ran there. */
export function readLocalCredentials(stateDir: string): LocalCredentials | undefined {
  const file = credentialsPath(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LocalCredentialsError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}): check its owner and mode`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const { accessKeyId, secretAccessKey } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof accessKeyId !== 'string' || !/^[A-Za-z0-9]{16,128}$/.test(accessKeyId) || typeof secretAccessKey !== 'string') {
    throw new LocalCredentialsError(
      `${file} is not tollgate's local credentials file: restore it, or delete it to start with empty local data (the old data stays in its folder)`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

/** Reads the folder's credentials, generating them the first time (mode 0600, never overwritten). */
export function localCredentials(stateDir: string): LocalCredentials {
  ensurePrivateStateDir(stateDir);
  const existing = readLocalCredentials(stateDir);
  if (existing !== undefined) {
    chmodSync(credentialsPath(stateDir), 0o600);
    return existing;
  }
  const created = { accessKeyId: `TG${randomBase62(32)}`, secretAccessKey: randomBase62(40) };
  // Written whole under another name, then linked in: a reader never sees half a file, and a file
  // that appeared meanwhile is never overwritten (link fails with EEXIST).
  const draft = `${credentialsPath(stateDir)}.${process.pid}.tmp`;
  writeFileSync(draft, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600 });
  try {
    linkSync(draft, credentialsPath(stateDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readLocalCredentials(stateDir)!;
  } finally {
    rmSync(draft, { force: true });
  }
  return created;
}

/**
 * Hands the data of an older run (one shared database, readable with any credentials) to these
 * credentials, so an upgrade keeps the local customers and keys. True when it moved something.
 */
export function adoptSharedDatabase(dbPath: string, credentials: LocalCredentials): boolean {
  const shared = path.join(dbPath, SHARED_DATABASE_FILE);
  const own = path.join(dbPath, `${credentials.accessKeyId}_${LOCAL_REGION}.db`);
  if (!existsSync(shared) || existsSync(own)) return false;
  renameSync(shared, own);
  return true;
}
