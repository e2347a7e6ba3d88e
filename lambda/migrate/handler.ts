import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import * as http from 'node:http';
import * as https from 'node:https';
import { countRun, LAYOUT_VERSION, migrateLayout, readLayout, type MigrationOptions } from '../shared/customers/layout';

/**
 * The customers table's layout migration (lambda/shared/customers/layout.ts) as a CloudFormation custom
 * resource, run at deploy before the functions that read the table are updated. CloudFormation invokes
 * it asynchronously, so Lambda's retries of a failed invocation are its continuation: a run stops
 * `stopMarginMs` before its timeout with the progress recorded and fails, and the retry resumes where
 * it stopped. It answers CloudFormation once: when the table is at the layout version, or when the
 * last run allowed (`maxRuns`: the first and Lambda's 2 retries) stops unfinished.
 */
export interface MigrateDeps {
  readonly dynamodb: DynamoDBClient;
  readonly table: string;
  /** Time left in a run below which it stops and records its progress. */
  readonly stopMarginMs: number;
  /** The invocation and Lambda's retries of it. */
  readonly maxRuns: number;
  readonly options?: Omit<MigrationOptions, 'shouldStop'>;
  /** Sends the answer to CloudFormation. @default an HTTPS PUT to the event's ResponseURL */
  readonly respond?: (url: string, body: CustomResourceResponse) => Promise<void>;
  /** One JSON line per run. @default stdout, which Lambda sends to the function's log group */
  readonly log?: (fields: Record<string, unknown>) => void;
}

export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Thrown to have Lambda retry the invocation: the migration resumes from its recorded progress. */
export class MigrationUnfinishedError extends Error {
  override readonly name = 'MigrationUnfinishedError';
}

const PHYSICAL_ID = 'tollgate-customers-layout';

export function makeMigrateHandler(deps: MigrateDeps) {
  const respond = deps.respond ?? putResponse;
  const log = deps.log ?? logLine;
  return async (event: CloudFormationCustomResourceEvent, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<void> => {
    const answer = (status: 'SUCCESS' | 'FAILED', extra: { Reason?: string; Data?: Record<string, string> }): Promise<void> =>
      respond(event.ResponseURL, { Status: status, PhysicalResourceId: PHYSICAL_ID, StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId, ...extra });
    // A removed stack keeps its retained tables as they are.
    if (event.RequestType === 'Delete') return answer('SUCCESS', {});
    let run = 1;
    try {
      if ((await readLayout(deps.dynamodb, deps.table)).version < LAYOUT_VERSION) run = await countRun(deps.dynamodb, deps.table, event.RequestId);
      const result = await migrateLayout(deps.dynamodb, deps.table, { ...deps.options, shouldStop: () => context.getRemainingTimeInMillis() < deps.stopMarginMs });
      log({ run, ...result });
      if (result.done) return await answer('SUCCESS', { Data: { LayoutVersion: String(LAYOUT_VERSION) } });
      if (run < deps.maxRuns) throw new MigrationUnfinishedError(`the layout migration stopped at its time budget after ${result.migrated} customers in run ${run}: the retry resumes it`);
      return await answer('FAILED', { Reason: `the customers table's layout migration did not finish in ${run} runs: deploy again to resume it from its recorded progress` });
    } catch (err) {
      if (err instanceof MigrationUnfinishedError) throw err;
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      log({ run, failed: message });
      // A store error: retried like an unfinished run while runs remain.
      if (run < deps.maxRuns) throw err;
      return answer('FAILED', { Reason: `the customers table's layout migration failed: ${message}` });
    }
  };
}

function logLine(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ level: 'INFO', message: 'layout migration', layoutVersion: LAYOUT_VERSION, ...fields })}\n`);
}

/** CloudFormation's pre-signed URL takes a PUT of the JSON answer with no content type. */
export function putResponse(url: string, body: CustomResourceResponse): Promise<void> {
  const data = JSON.stringify(body);
  const request = url.startsWith('https:') ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(data) } }, (res) => {
      res.resume();
      res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve() : reject(new Error(`cloudformation answered ${res.statusCode} to the custom resource's response`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}
