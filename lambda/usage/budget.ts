import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { CUSTOMER_SCOPE, isBudgetWindow, type BudgetState } from '../shared/budgets';
import { removeBudget, setBudget } from '../shared/customers/budgets-store';
import { problem } from '../shared/http';

/**
 * PUT and DELETE /tollgate/budget: a caller caps its own spend with its key, for the whole customer or
 * (`"scope": "key"`) for the key it calls with, so an agent's key can cap itself. Behind the standing
 * authorizer (any valid key), which names the customer and the key in its context. Body of PUT:
 * `{"limit": <units>, "per": "day"|"period", "scope": "customer"|"key"}`; DELETE takes `?scope=`.
 */

export interface BudgetRouteDeps {
  readonly dynamodb: DynamoDBClient;
  readonly customersTable: string;
  readonly now?: () => Date;
  readonly corsAllowOrigin?: string;
}

export const budgetAnswer = (b: BudgetState) => ({
  scope: b.scope === CUSTOMER_SCOPE ? 'customer' : 'key',
  limit: b.limit,
  per: b.window,
  used: b.used,
  left: Math.max(0, b.left),
  resetsAt: new Date(b.resetsAt * 1000).toISOString(),
});

const SCOPES = ['customer', 'key'] as const;

function parseBody(event: APIGatewayProxyEvent): { limit: unknown; per: unknown; scope: unknown } | undefined {
  if (event.body === null || event.body === undefined) return undefined;
  try {
    const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { limit: unknown; per: unknown; scope: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

export function makeBudgetHandler(deps: BudgetRouteDeps): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const now = deps.now ?? ((): Date => new Date());
  const headers = { 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': deps.corsAllowOrigin ?? '*' };
  const bad = (detail: string): APIGatewayProxyResult => problem(400, 'Bad budget', detail, {}, headers);
  return async (event) => {
    const customerId: unknown = event.requestContext?.authorizer?.customerId;
    const keyId: unknown = event.requestContext?.authorizer?.keyId;
    if (typeof customerId !== 'string' || customerId === '') {
      return problem(500, 'Budget unavailable', 'the budget route received no customer from the authorizer: deploy it behind the tollgate authorizer', {}, headers);
    }
    const body = event.httpMethod === 'PUT' ? parseBody(event) : undefined;
    const scope = (event.httpMethod === 'PUT' ? body?.scope : event.queryStringParameters?.scope) ?? 'customer';
    if (!(SCOPES as readonly unknown[]).includes(scope)) return bad('scope must be "customer" or "key"');
    if (scope === 'key' && typeof keyId !== 'string') return bad('a key budget needs an API key: call with the key to cap, not a token');
    const target = { customerId, ...(scope === 'key' ? { keyId: keyId as string } : {}) };
    if (event.httpMethod === 'DELETE') {
      const removed = await removeBudget(deps.dynamodb, deps.customersTable, target);
      return { statusCode: 200, headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ removed }) };
    }
    if (event.httpMethod !== 'PUT') return problem(405, 'Method not allowed', 'use PUT to set a budget or DELETE to remove it', {}, { ...headers, Allow: 'PUT, DELETE' });
    if (body === undefined) return bad('send a JSON object such as {"limit": 500, "per": "day"}');
    const per = body.per ?? 'day';
    if (!isBudgetWindow(per)) return bad('per must be "day" or "period"');
    if (typeof body.limit !== 'number') return bad('limit must be a whole number of units such as 500');
    try {
      const state = await setBudget(deps.dynamodb, deps.customersTable, target, body.limit, per, now());
      return { statusCode: 200, headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(budgetAnswer(state)) };
    } catch (err) {
      if (err instanceof RangeError) return bad(err.message);
      throw err;
    }
  };
}
