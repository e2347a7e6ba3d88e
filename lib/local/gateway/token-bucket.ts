/**
 * API Gateway's throttling algorithm: a token bucket that holds at most `burstLimit` tokens and
 * refills at `rateLimit` tokens per second; a request takes one token or is refused. The stage, each
 * method with its own settings, and the management API (10/s, burst 40 per account and Region) are
 * each one bucket. The bucket starts full, as a stage does after a deployment.
 */

export interface ThrottleSettings {
  /** Steady requests per second. */
  readonly rateLimit: number;
  /** Requests at once from a full bucket. */
  readonly burstLimit: number;
}

export interface TokenBucket {
  /** Takes one token; false when the bucket is empty (the request is throttled). */
  take(): boolean;
  /** Milliseconds until a token is available (0 when one is). */
  waitMs(): number;
}

export function createTokenBucket(settings: ThrottleSettings, now: () => number): TokenBucket {
  if (!(settings.rateLimit > 0) || !(settings.burstLimit >= 1)) {
    throw new RangeError(`throttle settings need a rate above 0 and a burst of at least 1, got ${settings.rateLimit}/s and ${settings.burstLimit}`);
  }
  let tokens = settings.burstLimit;
  let at = now();
  const refill = (): void => {
    const t = now();
    if (t > at) tokens = Math.min(settings.burstLimit, tokens + ((t - at) / 1000) * settings.rateLimit);
    at = Math.max(at, t);
  };
  return {
    take: () => {
      refill();
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    waitMs: () => {
      refill();
      return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / settings.rateLimit) * 1000);
    },
  };
}
