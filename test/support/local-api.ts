import * as path from 'node:path';
import { buildLocalDocument, createLocalApi, type LocalApi } from '../../lib/local/stack';
import { loadProjectConfig } from '../../lib/config/tollgate-config';
import type { TestTables } from './dynamodb';

const ROOT = path.join(__dirname, '..', '..');

/** The project's local API on test tables, in process, keeping the access-log and events-log lines it writes. */
export function recordingLocalApi(tables: TestTables, options: { webhookSecret: string; now?: () => number }): { api: LocalApi; accessLog: string[]; eventsLog: string[] } {
  const accessLog: string[] = [];
  const eventsLog: string[] = [];
  const config = loadProjectConfig(ROOT);
  const api = createLocalApi({
    config,
    built: buildLocalDocument(config, ROOT),
    dynamodbEndpoint: tables.endpoint,
    tables: tables.names,
    webhookSecret: options.webhookSecret,
    ...(options.now === undefined ? {} : { now: options.now }),
    accessLog: (line) => accessLog.push(line),
    eventsLog: (line) => eventsLog.push(line),
  });
  return { api, accessLog, eventsLog };
}
