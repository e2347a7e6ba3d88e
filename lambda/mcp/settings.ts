import { ENV, optional, SettingsError, type Env } from '../shared/settings';

/**
 * The MCP function's environment contract: the stack writes it (mcpEnvironment), the function reads it
 * once at init. The tools themselves come from the catalog file (catalog.ts): too large for 4 KB.
 */

export const MCP_ENV = {
  /** JSON array of the trusted token issuers' `iss`: the protected-resource metadata names them. */
  authorizationServers: 'TOLLGATE_MCP_AUTHORIZATION_SERVERS',
} as const;

export interface McpSettings {
  /** The issuers a client may get a token from (RFC 9728 `authorization_servers`); none: API keys only. */
  readonly authorizationServers: readonly string[];
  /** `Access-Control-Allow-Origin` of its answers. */
  readonly corsAllowOrigin: string;
}

export function mcpEnvironment(settings: { readonly authorizationServers: readonly string[]; readonly corsAllowOrigin: string }): Record<string, string> {
  return {
    ...(settings.authorizationServers.length === 0 ? {} : { [MCP_ENV.authorizationServers]: JSON.stringify(settings.authorizationServers) }),
    [ENV.corsAllowOrigin]: settings.corsAllowOrigin,
  };
}

export function loadMcpSettings(env: Env): McpSettings {
  const encoded = optional(env, MCP_ENV.authorizationServers);
  let authorizationServers: unknown = [];
  if (encoded !== undefined) {
    try {
      authorizationServers = JSON.parse(encoded);
    } catch {
      authorizationServers = undefined;
    }
  }
  if (!Array.isArray(authorizationServers) || !authorizationServers.every((s) => typeof s === 'string' && URL.canParse(s))) {
    throw new SettingsError(`${MCP_ENV.authorizationServers} must be a JSON array of issuer URLs: set it from the stack (mcpEnvironment)`);
  }
  return { authorizationServers: authorizationServers as string[], corsAllowOrigin: optional(env, ENV.corsAllowOrigin) ?? '*' };
}
