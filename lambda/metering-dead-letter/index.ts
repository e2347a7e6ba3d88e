import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { makeDeadLetterHandler } from '../metering/dead-letter';
import { DynamoMeteringStore } from '../metering/store';
import { createObservability } from '../shared/observability';
import { SettingsError } from '../shared/settings';
import { TABLES } from '../shared/tables';

const eventsTable = process.env[TABLES.events.envVar];
if (eventsTable === undefined || eventsTable === '') throw new SettingsError(`missing ${TABLES.events.envVar}: set it in the stack`);

// Parking writes the events table only; the customers table is never touched here.
export const handler = makeDeadLetterHandler({
  store: new DynamoMeteringStore(new DynamoDBClient({}), { customers: '', events: eventsTable }),
  observability: createObservability('tollgate-metering-dead-letter'),
});
