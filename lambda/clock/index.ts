import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { countedFlusher } from '../shared/metrics';
import { createObservability } from '../shared/observability';
import { loadClockSettings } from '../shared/settings';
import { ApiGatewayCacheFlusher } from '../webhook/api-gateway-flusher';
import { makeClockHandler } from './handler';
import { DynamoBoundaryReader } from './store';

// Validated once at init: a bad environment fails the cold start with its own message.
const settings = loadClockSettings(process.env);

const observability = createObservability('tollgate-clock');

export const handler = makeClockHandler({
  boundaries: new DynamoBoundaryReader(new DynamoDBClient({}), settings.boundariesTable),
  flusher: countedFlusher(new ApiGatewayCacheFlusher(new APIGatewayClient({})), observability),
  target: { restApiId: settings.restApiId, stage: settings.stageName },
  gracePeriodSeconds: settings.gracePeriodSeconds,
  observability,
});
