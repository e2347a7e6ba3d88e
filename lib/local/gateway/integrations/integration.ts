import type { ApiCoordinates } from '../events';
import type { ContextVariables, MethodRequest } from '../request';
import type { RouteMatch } from '../routes';
import type { Authorization, HttpAnswer } from '../types';

/** What every integration translator receives, and what it may answer. */

export interface IntegrationCall {
  readonly api: ApiCoordinates;
  readonly request: MethodRequest;
  readonly route: RouteMatch;
  /** `$context` variables of this request, `context.resourcePath` included. */
  readonly context: ContextVariables;
  /** Set when an authorizer allowed the call. */
  readonly authorization: Authorization | undefined;
}

/** API Gateway answers instead of the integration (through DEFAULT_5XX unless declared). */
export interface IntegrationFault {
  readonly fault: 'API_CONFIGURATION_ERROR' | 'INTEGRATION_FAILURE' | 'BAD_GATEWAY';
}

export type IntegrationResult = HttpAnswer | IntegrationFault;

export type IntegrationHandler = (call: IntegrationCall) => Promise<IntegrationResult>;

export const isFault = (result: IntegrationResult): result is IntegrationFault => 'fault' in result;
