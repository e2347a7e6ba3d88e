import { CHALLENGE_GRACE_SECONDS, type AgentPayments } from '../../lambda/shared/agents/offers';
import type { TollgateConfig } from './tollgate-config';

/** The name of the generated secret that keys agents' challenges (the stack creates it; the local run uses its own). */
export const AGENT_SECRET_NAME = 'tollgate/agent-payments-hmac';

/**
 * What the functions and the gateway responses offer agents, from configuration only: the packs with an
 * amount and a currency, the plans by name. Undefined when `tollgate:agentPayments` is not set.
 */
export function agentPaymentsOf(config: Pick<TollgateConfig, 'agentPayments' | 'creditPacks' | 'plans' | 'authorizerCacheTtlSeconds'>): AgentPayments | undefined {
  const mpp = config.agentPayments;
  if (mpp === undefined) return undefined;
  return {
    realm: mpp.realm,
    networkId: mpp.networkId,
    paymentMethodTypes: mpp.paymentMethodTypes,
    packs: config.creditPacks.flatMap(({ id, name, credits, amount, currency, expiresIn }) =>
      amount === undefined || currency === undefined ? [] : [{ id, name, credits, amount, currency, ...(expiresIn === undefined ? {} : { expiresIn }) }],
    ),
    plans: Object.entries(config.plans).map(([id, plan]) => ({ id, name: plan.name, ...mpp.plans?.[id] })),
    // The longest TTL a 402 (and its challenges) is re-served from the authorizer cache, then the grace.
    denyChallengeSeconds: config.authorizerCacheTtlSeconds + CHALLENGE_GRACE_SECONDS,
    ...(mpp.x402 === undefined ? {} : { x402: mpp.x402 }),
  };
}

/** The authorizer's and the purchase function's agent settings (lambda/shared/settings.ts agentEnvironment), under the secret's name. */
export function agentSettingsOf(config: Parameters<typeof agentPaymentsOf>[0], secretName: string): { agents?: AgentPayments; agentSecretId?: string } {
  const agents = agentPaymentsOf(config);
  return agents === undefined ? {} : { agents, agentSecretId: secretName };
}
