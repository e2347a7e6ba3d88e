import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadDeadLetterSettings } from '../metering/settings';
import { createObservability } from '../shared/observability';
import { composeMeteringDeadLetter } from './compose';

// Validated once at init: a bad environment fails the cold start with its own message.
export const handler = composeMeteringDeadLetter(loadDeadLetterSettings(process.env), {
  dynamodb: new DynamoDBClient({}),
  observability: createObservability('tollgate-metering-dead-letter'),
});
