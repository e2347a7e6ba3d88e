import type { MppProblem } from '../shared/agents/mpp';

/**
 * The purchase function's line per answered purchase attempt (its log group deployed, `.tollgate/events.log`
 * locally): what operations count payments by protocol and refusals by problem type from, and what joins a
 * payment to its customer's first 2xx in the access log (lib/report/queries.ts).
 */
export const AGENT_PURCHASE_MESSAGE = 'agent purchase';
/** The Powertools metric of each attempt, by `protocol` and `outcome` (the dashboard graphs it). */
export const AGENT_PURCHASES_METRIC = 'AgentPurchases';

export type AgentProtocol = 'mpp' | 'x402';
export const AGENT_PROTOCOLS: readonly AgentProtocol[] = ['mpp', 'x402'];

export interface AgentPurchaseRecord {
  readonly message: typeof AGENT_PURCHASE_MESSAGE;
  readonly protocol: AgentProtocol;
  /** `paid`, or the MPP problem type of the refusal (`payment-required`: a challenge served, nothing presented). */
  readonly outcome: 'paid' | MppProblem;
  readonly offer?: string;
  /** The customer paid into (paid only). */
  readonly customerId?: string;
  /** The PaymentIntent or the x402 transaction (paid only). */
  readonly reference?: string;
  /** A new key was issued (a keyless buyer). */
  readonly newKey?: boolean;
  readonly purchasedAt: string;
}
