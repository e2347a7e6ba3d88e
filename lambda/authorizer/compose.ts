import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LineObservability } from '../shared/observability';
import type { AuthorizerSettings } from '../shared/settings';
import { DynamoCustomerReader } from './customer-store';
import { makeAuthorizerHandler } from './handler';
import { agentDenyContext } from './offers';
import type { TokenAuthenticator } from './token-auth';

/** What the authorizer talks to; the local run and the bench give their own. */
export interface AuthorizerClients {
  /** The customers table, on the authorizer's client settings (dynamo-client.ts). */
  readonly dynamodb: DynamoDBClient;
  /** Strict reservations' client: one that does not retry (customer-store.ts: a retried ADD could charge twice). @default dynamodb */
  readonly reservations?: DynamoDBClient;
  /** Bearer JWTs of the trusted issuers (token-auth.ts). @default - none: every JWT is refused */
  readonly tokens?: TokenAuthenticator;
  /** The limit on one store call, retries included. @default AUTHORIZER_READ_DEADLINE_MS */
  readonly readDeadlineMs?: number;
  readonly observability?: LineObservability;
  /** @default the system clock */
  readonly now?: () => Date;
  /** The HMAC secret of agents' challenges (settings.agents), read once. @default - none: the 402 lists offers without challenges */
  readonly agentSecret?: () => Promise<string>;
}

export type AuthorizerHandler = ReturnType<typeof makeAuthorizerHandler>;

/** The authorizer, wired once: index.ts, the local run and the bench all build it here. */
export function composeAuthorizer(settings: AuthorizerSettings, clients: AuthorizerClients): AuthorizerHandler {
  const customers = new DynamoCustomerReader(clients.dynamodb, settings.customersTable, {
    ...(clients.reservations === undefined ? {} : { reservationClient: clients.reservations }),
    ...(clients.readDeadlineMs === undefined ? {} : { deadlineMs: clients.readDeadlineMs }),
  });
  const { agents } = settings;
  const secret = clients.agentSecret ?? ((): Promise<string> => Promise.reject(new Error('no secret for agents\' challenges')));
  return makeAuthorizerHandler({
    customers,
    settings,
    tokens: clients.tokens,
    now: clients.now,
    observability: clients.observability,
    ...(agents === undefined
      ? {}
      : {
          denyContext: agentDenyContext(agents, secret, (err) =>
            clients.observability?.logger.error('agents: the challenge secret could not be read; 402s list offers without challenges', { error: err instanceof Error ? err.message : String(err) }),
          ),
        }),
  });
}
