import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Readable } from 'node:stream';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/dynamodb-local';
import { parseApiKey } from '../../lambda/shared/customers/api-key';
import { decisionBatchRequest } from '../../lambda/shared/customers/decision-reads';
import type { Credential } from './authorizer';

/**
 * The decision's BatchGetItem without DynamoDB Local or a socket: a client whose request handler answers
 * each request with the answer recorded for its customer, so that the SDK's whole pipeline (serializing,
 * signing, the answer's parsing into attribute values) and whatever reads its output run in process. What
 * budgets add here is what the SDK and tollgate's code add; the rest of what they add to a live read is
 * DynamoDB Local's and the socket's.
 */

const FIRST_CUSTOMER = /"customerId":\{"S":"([^"]+)"\}/;

/** Records the decision's BatchGetItem answer of each credential on a live client, as the wire carried it (JSON). */
export async function recordDecisionReads(client: DynamoDBClient, table: string, credentials: readonly Credential[]): Promise<Map<string, Buffer>> {
  const answers = new Map<string, Buffer>();
  for (const c of credentials) {
    const out = await client.send(new BatchGetItemCommand({ RequestItems: decisionBatchRequest(table, c.customerId, parseApiKey(c.key)!.keyId) }));
    if (out.UnprocessedKeys !== undefined && Object.keys(out.UnprocessedKeys).length > 0) throw new Error(`benchmark set-up is wrong: the read of ${c.customerId} left keys unprocessed`);
    answers.set(c.customerId, Buffer.from(JSON.stringify({ Responses: out.Responses, UnprocessedKeys: {} })));
  }
  return answers;
}

/** A client that answers from `answers` (by the first customer id of the request), with the authorizer's retry settings. */
export function replayClient(answers: ReadonlyMap<string, Buffer>): DynamoDBClient {
  // Typed by what it reads and answers: the SDK's own request and response types are another package's.
  const handle = (request: { readonly body?: unknown }): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Readable } }> => {
    const customerId = FIRST_CUSTOMER.exec(String(request.body))?.[1];
    const body = customerId === undefined ? undefined : answers.get(customerId);
    if (body === undefined) return Promise.reject(new Error(`no recorded answer for ${customerId ?? 'a request without a customer id'}`));
    return Promise.resolve({ response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(body.length) }, body: Readable.from([body]) } });
  };
  return new DynamoDBClient({ region: LOCAL_REGION, endpoint: 'http://127.0.0.1:9', credentials: LOCAL_CREDENTIALS, maxAttempts: 1, requestHandler: { handle } });
}
