import type { Operation } from '../document';
import type { Invoke } from '../invoke';
import { compileAwsProxy } from './aws-proxy';
import type { HttpClient } from './http-client';
import { compileHttpProxy } from './http-proxy';
import type { IntegrationHandler } from './integration';
import { compileMock } from './mock';

/** One translator per integration type; an operation without one API Gateway can run answers 500. */

export interface IntegrationDeps {
  readonly invoke: Invoke;
  readonly binaryMediaTypes: readonly string[];
  readonly http: HttpClient;
}

const unconfigured: IntegrationHandler = () => Promise.resolve({ fault: 'API_CONFIGURATION_ERROR' });

export function compileIntegration(operation: Operation, deps: IntegrationDeps): IntegrationHandler {
  const integration = operation.integration;
  switch (integration?.type) {
    case 'aws_proxy':
      return compileAwsProxy(integration, deps);
    case 'http_proxy':
      return compileHttpProxy(integration, `${operation.method} ${operation.template}`, deps.http);
    case 'mock':
      return compileMock(integration);
    default:
      return unconfigured;
  }
}

export { isFault, type IntegrationCall, type IntegrationHandler, type IntegrationResult } from './integration';
export { nodeHttpClient, type HttpClient, type InboundResponse, type OutboundRequest } from './http-client';
