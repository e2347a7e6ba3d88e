/**
 * Ports shared between the Lambda functions and the local gateway: what a function needs from the
 * outside world, implemented by AWS in the cloud and by the local gateway on a laptop.
 */

/** The REST API stage whose authorizer cache to flush (the invoking event's requestContext names it). */
export interface FlushTarget {
  readonly restApiId: string;
  readonly stage: string;
}

/** Drops every cached authorizer result of a stage (API Gateway's FlushStageAuthorizersCache). */
export interface AuthorizerCacheFlusher {
  flush(target: FlushTarget): Promise<void>;
}
