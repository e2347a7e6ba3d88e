import { TooManyRequestsException } from '@aws-sdk/client-api-gateway';
import { createTokenBucket, type ThrottleSettings } from './token-bucket';

/**
 * API Gateway's management API as the local run needs it: FlushStageAuthorizersCache under the
 * account's management budget. Every management call of an account and Region (flushes, deployments,
 * UpdateStage) shares one bucket of 10 requests/s with a burst of 40 that cannot be raised; a call
 * beyond it is refused with the SDK's own TooManyRequestsException (HTTP 429), as AWS refuses it.
 */

/** The account's management-API throttle (API Gateway quotas: "can't be increased"). */
export const MANAGEMENT_API_THROTTLE: ThrottleSettings = { rateLimit: 10, burstLimit: 40 };

export interface ManagementCalls {
  /** Calls answered. */
  readonly accepted: number;
  /** Calls refused with TooManyRequestsException. */
  readonly throttled: number;
  /** Epoch ms of each answered call, oldest first (the bench's calls per second). */
  readonly acceptedAt: readonly number[];
}

export interface ManagementApi {
  /** Spends one call of the budget, or throws TooManyRequestsException. */
  call(operation: string): void;
  readonly calls: ManagementCalls;
}

export function createManagementApi(now: () => number, throttle: ThrottleSettings = MANAGEMENT_API_THROTTLE): ManagementApi {
  const bucket = createTokenBucket(throttle, now);
  const acceptedAt: number[] = [];
  let throttled = 0;
  return {
    call: (operation) => {
      if (!bucket.take()) {
        throttled += 1;
        throw new TooManyRequestsException({
          message: `Too Many Requests: ${operation} exceeded the account's management API rate (${throttle.rateLimit}/s, burst ${throttle.burstLimit})`,
          $metadata: { httpStatusCode: 429 },
        });
      }
      acceptedAt.push(now());
    },
    calls: {
      get accepted() {
        return acceptedAt.length;
      },
      get throttled() {
        return throttled;
      },
      acceptedAt,
    },
  };
}
