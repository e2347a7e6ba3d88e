import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadUsageSettings } from '../shared/settings';
import { composeUsage } from './compose';

// Validated once at init: a bad environment fails the cold start with its own message.
export const handler = composeUsage(loadUsageSettings(process.env), { dynamodb: new DynamoDBClient({}) });
