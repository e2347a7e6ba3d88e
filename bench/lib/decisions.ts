import { BatchGetItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { localClient } from '../../lib/local/dynamodb-local';
import { evaluatePolicy } from '../../lambda/authorizer/policy';
import { parseApiKey } from '../../lambda/shared/customers/api-key';
import { decisionBatchRequest } from '../../lambda/shared/customers/decision-reads';
import { decisionProjection } from '../../lambda/shared/customers/item';
import { authorizerEvent, benchAuthorizer, benchAuthorizerClient, benchAuthorizerSettings, freshBenchTables, seedCustomers, type Credential, type SeededCustomers } from './authorizer';
import { cycling, type Probe } from './interleave';
import { countRequests } from './request-counter';
import type { FigureContext } from './types';

export type Expected = 'allow' | 'deny' | 'unauthorized';

/** What a decision ended with, read the way API Gateway reads it. */
export async function outcomeOf(decision: Promise<APIGatewayAuthorizerResult>, methodArn: string): Promise<Expected | 'error'> {
  try {
    const result = await decision;
    return evaluatePolicy(result.policyDocument, methodArn) === 'Allow' ? 'allow' : 'deny';
  } catch (err) {
    return err instanceof Error && err.message === 'Unauthorized' ? 'unauthorized' : 'error';
  }
}

/**
 * The authorizer (its handler, reader and client settings) and, beside it, a second client with the
 * same settings for the raw GetItem baseline, on fresh seeded tables. Each side has its own client
 * and request counter so that the counts cannot mix.
 */
export async function decisionBench(context: FigureContext, customersPerKind: number) {
  const names = await freshBenchTables(context.dynamodbEndpoint, 'authorizer');
  const authorizerClient = benchAuthorizerClient(context.dynamodbEndpoint);
  const rawClient = benchAuthorizerClient(context.dynamodbEndpoint);
  // Seeding is set-up, not measured: the default local client, without the authorizer's 250 ms timeout.
  const seeder = localClient(context.dynamodbEndpoint);
  let customers: SeededCustomers;
  try {
    customers = await seedCustomers(seeder, names, customersPerKind);
  } finally {
    seeder.destroy();
  }
  const settings = benchAuthorizerSettings(context.root, names.customers);
  const handler = benchAuthorizer(authorizerClient, settings);
  const authorizerCounter = countRequests(authorizerClient);
  const rawCounter = countRequests(rawClient);

  /**
   * A probe cycling through credentials, one event object for each. The events are built before the
   * timing starts: the Lambda runtime hands the handler a parsed event, and building one (a request id,
   * the header maps) is not the authorizer's work.
   */
  const decisionProbe = (credentials: readonly Credential[]): Probe => {
    return cycling(
      credentials.map((c) => authorizerEvent(c.key)),
      (event) => handler(event),
    );
  };

  /** The physical floor: the same GetItem the reader sends (key, consistency, projection), nothing around it. */
  const rawGetItemProbe = (credentials: readonly Credential[]): Probe => {
    const requests = credentials.map((c) => {
      const projection = decisionProjection(parseApiKey(c.key)!.keyId);
      return new GetItemCommand({ TableName: names.customers, Key: { customerId: { S: c.customerId } }, ConsistentRead: true, ...projection });
    });
    return cycling(requests, (request) => rawClient.send(request));
  };

  /** The decision's one read on a route sold by use (the customer item and its wallet), as the reader sends it, on the raw client. */
  const rawDecisionReadProbe = (credentials: readonly Credential[]): Probe => {
    const requests = credentials.map((c) => new BatchGetItemCommand({ RequestItems: decisionBatchRequest(names.customers, c.customerId, parseApiKey(c.key)!.keyId) }));
    return cycling(requests, (request) => rawClient.send(request));
  };

  /** Fails loudly when a kind of credential does not get the decision the figure is about. */
  const expectOutcomes = async (credentials: readonly Credential[], expected: Expected): Promise<void> => {
    for (const credential of credentials) {
      const event = authorizerEvent(credential.key);
      const outcome = await outcomeOf(handler(event), event.methodArn);
      if (outcome !== expected) throw new Error(`benchmark set-up is wrong: ${credential.customerId} got ${outcome}, expected ${expected}`);
    }
  };

  return {
    names,
    customers,
    handler,
    /** The handler's settings and client, for a figure that composes a variant of it (B13). */
    settings,
    authorizerClient,
    decisionProbe,
    rawGetItemProbe,
    rawDecisionReadProbe,
    expectOutcomes,
    authorizerCounter,
    rawCounter,
    destroy: (): void => {
      authorizerClient.destroy();
      rawClient.destroy();
    },
  };
}

