import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PAYMENT_STATE_PROJECTION } from '../shared/customers/item';
import { readCustomer } from '../shared/customers/store';
import { ENV, loadUsageSettings } from '../shared/settings';
import { makeUsageHandler } from './handler';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadUsageSettings(process.env);
const client = new DynamoDBClient({});

export const handler = makeUsageHandler({
  // Payment state and usage only: the projection never includes a key hash.
  customers: { read: (customerId) => readCustomer(client, settings.customersTable, customerId, PAYMENT_STATE_PROJECTION) },
  settings,
  corsAllowOrigin: process.env[ENV.corsAllowOrigin] ?? '*',
});
