import type { ApiCoordinates } from '../../lib/local/gateway/events';

/** The API the bench's events arrive on: a regional deployment, stage prod (lib/local/gateway/events.ts builds every event). */
export const BENCH_API: ApiCoordinates = {
  stage: 'prod',
  restApiId: 'a1b2c3d4e5',
  region: 'eu-west-1',
  accountId: '123456789012',
  domainName: 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
};
