import type { PolicyDocument } from 'aws-lambda';

/**
 * The local gateway's public shapes: what goes in (a request as a socket delivered it), what comes
 * out (status, headers, bytes, and diagnostics for the request log).
 */

/**
 * A Lambda handler as the gateway invokes it. Parameters are `never` so that any handler type
 * (authorizer, proxy) can be registered; the gateway builds the events AWS would send.
 */
export type LocalFunction = (event: never, context: never) => unknown;

export interface LocalRequest {
  readonly method: string;
  /** Path as sent, stage first, query string allowed: `/prod/v1/quotes?limit=2`. */
  readonly path: string;
  /** Header names keep the case the client sent. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: Buffer | string;
  readonly sourceIp?: string;
}

export interface LocalResponse {
  readonly statusCode: number;
  /** Lower-case names; a header sent several times holds its last value here. */
  readonly headers: Record<string, string>;
  /** Lower-case names, every value. */
  readonly multiValueHeaders: Record<string, string[]>;
  readonly body: Buffer;
  /** For the request log only. */
  readonly diagnostics: RequestDiagnostics;
}

export interface RequestDiagnostics {
  readonly requestId: string;
  /** `GET /v1/reports/{reportId}`, when a route matched. */
  readonly route?: string;
  /** The gateway response type, when API Gateway answered instead of the integration. */
  readonly responseType?: string;
  readonly authorizer?: 'cache' | 'invoked' | 'skipped';
  /** `$context.authorizer.reason`, when the authorizer gave one. */
  readonly reason?: string;
}

/** An authorizer's context: flat values only (API Gateway refuses nested ones). */
export type AuthorizerContext = Readonly<Record<string, string | number | boolean>>;

/** What an allowing (or denying) authorizer established about the caller. */
export interface Authorization {
  readonly principalId: string;
  /** The authorizer's context with `principalId` added, as `$context.authorizer.*` sees it. */
  readonly context: AuthorizerContext;
}

/** An authorizer's output once API Gateway has accepted it. */
export interface AuthorizerResult {
  readonly principalId: string;
  readonly policy: PolicyDocument;
  readonly context: AuthorizerContext;
}

/** An HTTP answer before the gateway adds its own headers: lower-case names, every value. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly multiValueHeaders: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
}

export class LocalGatewayError extends Error {
  override readonly name = 'LocalGatewayError';
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
