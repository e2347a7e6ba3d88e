import type { APIGatewayProxyResult } from 'aws-lambda';

/**
 * What tollgate answers itself when something is wrong, as RFC 9457 problem+json: the webhook's
 * refusals, the usage route's wiring error, the local server's own errors. (The authorizer's 401/402/403
 * are gateway responses: lib/openapi/gateway-responses.ts renders those.)
 */

export const PROBLEM_JSON = 'application/problem+json';

/** Members after the standard ones (the webhook's `problem`, AWS's `message`). */
export type ProblemExtensions = Readonly<Record<string, string>>;

/** The body: `type`, `title`, `status`, `detail`, then the extensions, in that order. */
export function problemBody(status: number, title: string, detail: string, extensions: ProblemExtensions = {}): string {
  return JSON.stringify({ type: 'about:blank', title, status, detail, ...extensions });
}

/** A Lambda proxy answer carrying a problem; never cached. `headers` adds to (or overrides) the two it sets. */
export function problem(
  status: number,
  title: string,
  detail: string,
  extensions: ProblemExtensions = {},
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'Content-Type': PROBLEM_JSON, 'Cache-Control': 'no-store', ...headers },
    body: problemBody(status, title, detail, extensions),
  };
}
