import { formatRequirement, type RouteRule } from '../requirements';
import { PURCHASE_PATH, purchaseUrl, type AgentPayments } from './offers';

/**
 * Discovery from the same configuration as the live 402 (docs/agents.md): what an operation costs and
 * what buys it (`x-payment-info` in the public OpenAPI document), and `llms.txt` for agents that read
 * one page first. Pure.
 */

export const LLMS_TXT_PATH = `${PURCHASE_PATH.replace(/\/purchase$/, '')}/llms.txt`;

export interface PaymentInfo {
  /** Units per successful call, on a route sold by use. */
  readonly costPerCall?: number;
  readonly packs: ReadonlyArray<{ id: string; name: string; credits: number; amount: string; currency: string; protocols: readonly string[] }>;
  readonly plans: ReadonlyArray<{ id: string; name: string }>;
}

/** What pays for a route: credit packs when it is sold by use (its cost is drawn from credits; an entitlement still needs a plan), and the plans. */
export function paymentInfo(settings: AgentPayments, route: Pick<RouteRule, 'requires' | 'usage'>): PaymentInfo | undefined {
  if (route.requires.kind === 'public' || route.requires.kind === 'key') return undefined;
  const soldByUse = route.usage !== undefined;
  return {
    ...(route.usage === undefined ? {} : { costPerCall: route.usage.cost }),
    packs: soldByUse ? settings.packs.map((p) => ({ id: p.id, name: p.name, credits: p.credits, amount: String(p.amount), currency: p.currency, protocols: ['mpp'] })) : [],
    plans: settings.plans.map((p) => ({ id: p.id, name: p.name })),
  };
}

/** `llms.txt`: the API, what each paid route costs, and how an agent buys a key and credits. */
export function llmsTxt(input: { readonly title: string; readonly base: string; readonly routes: readonly RouteRule[]; readonly settings: AgentPayments }): string {
  const { base, settings } = input;
  const lines = [
    `# ${input.title}`,
    '',
    '> A paid API behind tollgate. Every call needs `Authorization: Bearer <key>`. A 402 says why (RFC 9457 `reason`) and what to buy (`offers`, and MPP challenges in `WWW-Authenticate`).',
    '',
    '## Buy a key and credits (MPP, stripe/charge with a Shared Payment Token)',
    '',
    ...settings.packs.map((p) => `- ${p.id}: ${p.name}, ${p.credits} credits for ${p.amount} ${p.currency} (minor units): POST ${purchaseUrl(base, p)} , answer its 402 challenge; the 200 holds a new key (send Authorization: Bearer <key> to top up yours)`),
    '',
    '## Routes',
    '',
    ...input.routes
      .filter((r) => r.requires.kind !== 'public')
      .map((r) => `- ${r.method} ${r.path}: ${r.usage === undefined ? formatRequirement(r.requires) : `${r.usage.cost} credit${r.usage.cost === 1 ? '' : 's'} per successful call (${formatRequirement(r.requires)} or credits)`}`),
    '',
    '## More',
    '',
    `- OpenAPI (with x-payment-info per operation): ${base}/tollgate/openapi.json`,
    `- Plans (${settings.plans.map((p) => p.name).join(', ')}) and the portal, for people: ${base}/tollgate/portal`,
    `- Problem types: ${base}/tollgate/problems/credits_exhausted`,
    '',
  ];
  return lines.join('\n');
}
