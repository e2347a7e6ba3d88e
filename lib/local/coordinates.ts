import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TableNames } from '../../lambda/shared/tables';

/**
 * Where the running local stack can be reached, written by `npm start` for the CLI and removed on
 * exit. No secret in it: only where the webhook signing secret comes from.
 */

export const STATE_DIR = '.tollgate';
export const COORDINATES_FILE = 'local.json';
/** Overrides `<project>/.tollgate` (tests run their own stack without touching a developer's). */
export const STATE_DIR_ENV = 'TOLLGATE_STATE_DIR';

export function stateDirectory(root: string, env: Readonly<Record<string, string | undefined>>): string {
  const override = env[STATE_DIR_ENV];
  return override === undefined || override === '' ? path.join(root, STATE_DIR) : path.resolve(override);
}

export interface LocalCoordinates {
  /** Base URL of the stage, as the deployed `ApiUrl` output (ends with `/<stage>/`). */
  readonly apiUrl: string;
  readonly webhookUrl: string;
  /** Serves FlushStageAuthorizersCache as API Gateway's control plane does. */
  readonly adminUrl: string;
  readonly dynamodbEndpoint: string;
  readonly region: string;
  readonly tables: TableNames;
  readonly stage: string;
  readonly restApiId: string;
  /** `env`: STRIPE_WEBHOOK_SECRET when `npm start` ran; `default`: the documented local secret. */
  readonly webhookSecretSource: 'env' | 'default';
  readonly pid: number;
  /** DynamoDB Local's java process. */
  readonly dynamodbPid?: number;
  /** The local OIDC issuer the stack trusts (`tokens mint` signs as it; the key is in the state folder, 0600). */
  readonly oidcIssuerUrl?: string;
  /** The `-c key=value` overrides `npm start` runs with, on top of cdk.json: the CLI reads the same configuration. */
  readonly context?: Readonly<Record<string, string>>;
}

export const coordinatesPath = (stateDir: string): string => path.join(stateDir, COORDINATES_FILE);

/** The local stage's access log: one JSON line per request, the deployed format (lambda/shared/access-log.ts). */
export const ACCESS_LOG_FILE = 'access.log';
export const accessLogPath = (stateDir: string): string => path.join(stateDir, ACCESS_LOG_FILE);

/** What the local webhook's log would hold for operations: one `access restored` JSON line per recovery (lambda/webhook/recovery.ts). */
export const EVENTS_LOG_FILE = 'events.log';
export const eventsLogPath = (stateDir: string): string => path.join(stateDir, EVENTS_LOG_FILE);

export function writeCoordinates(stateDir: string, coordinates: LocalCoordinates): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(coordinatesPath(stateDir), `${JSON.stringify(coordinates, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the file only if it still names this process (a newer `npm start` may own it). */
export function removeCoordinates(stateDir: string, pid: number): void {
  const file = coordinatesPath(stateDir);
  const current = readCoordinates(stateDir);
  if (current === undefined || current.pid === pid) rmSync(file, { force: true });
}

export function readCoordinates(stateDir: string): LocalCoordinates | undefined {
  const file = coordinatesPath(stateDir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalCoordinates;
  } catch {
    return undefined;
  }
}
