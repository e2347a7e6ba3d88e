import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiGatewayCacheFlusher } from '../shared/aws/api-gateway-flusher';
import { countedFlusher } from '../shared/metrics';
import { createObservability } from '../shared/observability';
import { loadClockSettings } from '../shared/settings';
import { composeClock } from './compose';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadClockSettings(process.env);
const observability = createObservability('tollgate-clock');

export const handler = composeClock(settings, {
  dynamodb: new DynamoDBClient({}),
  flusher: countedFlusher(new ApiGatewayCacheFlusher(new APIGatewayClient({})), observability),
  observability,
});
