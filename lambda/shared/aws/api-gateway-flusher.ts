import { FlushStageAuthorizersCacheCommand, type APIGatewayClient } from '@aws-sdk/client-api-gateway';
import type { AuthorizerCacheFlusher, FlushTarget } from '../ports';

/** API Gateway's FlushStageAuthorizersCache: the only way to drop cached authorizer results (stage-wide). */
export class ApiGatewayCacheFlusher implements AuthorizerCacheFlusher {
  constructor(private readonly client: APIGatewayClient) {}

  async flush(target: FlushTarget): Promise<void> {
    await this.client.send(new FlushStageAuthorizersCacheCommand({ restApiId: target.restApiId, stageName: target.stage }));
  }
}
