import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLES } from '../shared/tables';
import { required } from '../shared/settings';
import { makeMigrateHandler } from './handler';

// Validated once at init: a bad environment fails the cold start with its own message.
export const handler = makeMigrateHandler({
  dynamodb: new DynamoDBClient({}),
  table: required(process.env, TABLES.customers.envVar),
  // A minute to record the page in flight and answer: the function's timeout is 15 minutes.
  stopMarginMs: 60_000,
  maxRuns: 3,
});
