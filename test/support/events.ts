import type { ApiCoordinates } from '../../lib/local/gateway/events';

/** The API the tests' calls arrive on (lib/local/gateway/events.ts builds their events, as for the local gateway). */
export const TEST_API: ApiCoordinates = {
  stage: 'prod',
  restApiId: 'a1b2c3d4e5',
  region: 'us-east-1',
  accountId: '123456789012',
  domainName: 'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com',
};

/** Every method ARN of TEST_API starts with this. */
export const TEST_API_ARN = `arn:aws:execute-api:${TEST_API.region}:${TEST_API.accountId}:${TEST_API.restApiId}/${TEST_API.stage}`;
