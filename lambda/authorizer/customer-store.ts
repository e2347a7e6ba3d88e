import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DecisionReader, TokenDecisionReader } from '../shared/customers/decision-reads';
import { AUTHORIZER_READ_DEADLINE_MS } from './dynamo-client';

/**
 * The authorizer's readers: the customers-table commands of a decision (lambda/shared/customers/
 * decision-reads.ts), held to the decision's deadline (dynamo-client.ts).
 */

export interface DynamoCustomerReaderOptions {
  /** Hard limit on the whole read, retries and backoff included. @default AUTHORIZER_READ_DEADLINE_MS */
  readonly deadlineMs?: number;
  /**
   * The client strict reservations are sent with: one with `maxAttempts: 1` (index.ts), since a retried
   * `ADD` could take the cost twice. @default the reader's client
   */
  readonly reservationClient?: DynamoDBClient;
}

export class DynamoCustomerReader extends DecisionReader {
  constructor(client: DynamoDBClient, tableName: string, options: DynamoCustomerReaderOptions = {}) {
    super(client, tableName, { deadlineMs: options.deadlineMs ?? AUTHORIZER_READ_DEADLINE_MS, reservationClient: options.reservationClient ?? client });
  }
}

export class DynamoTokenCustomerReader extends TokenDecisionReader {
  constructor(client: DynamoDBClient, tableName: string, deadlineMs = AUTHORIZER_READ_DEADLINE_MS) {
    super(client, tableName, deadlineMs);
  }
}
