/**
 * The local API Gateway: an in-process REST API stage served from the deployed OpenAPI document.
 * pipeline.ts runs API Gateway's steps in order; each step and each integration type has its module.
 */
export { createLocalGateway, type LocalGateway, type LocalGatewayOptions, type StageThrottling } from './pipeline';
export { LocalGatewayError, type LocalFunction, type LocalRequest, type LocalResponse, type RequestDiagnostics } from './types';
export { functionNameFromUri, localInvocationUri } from './document';
export { parseAuthorizerResult } from './authorizer';
export type { ResponseType } from './responses';
export { nodeHttpClient, type HttpClient, type InboundResponse, type OutboundRequest } from './integrations';
