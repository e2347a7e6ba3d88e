import { formatRequirement, type RouteRule } from '../requirements';
import { isPlanOffer, isSoldPlan, PURCHASE_PATH, purchaseUrl, soldOffers, type AgentOffer, type AgentPayments } from './offers';
import { packRequirement, soldOverX402, X402_VERSION, type PaymentRequirements } from './x402';

/**
 * Discovery from the same configuration as the live 402 (docs/agents.md): what an operation costs and
 * what buys it (`x-payment-info` in the public OpenAPI document), `llms.txt` for agents that read one
 * page first, and, with x402 on, x402's discovery manifest (`/.well-known/x402.json`, the x402
 * well-known discovery draft) listing the purchase route's resources with the requirements the live
 * 402 carries. Pure.
 */

export const LLMS_TXT_PATH = `${PURCHASE_PATH.replace(/\/purchase$/, '')}/llms.txt`;
/** x402's per-origin discovery manifest (RFC 8615 location), served at the stage's root. */
export const X402_DISCOVERY_PATH = '/.well-known/x402.json';

/** The protocols an offer is sold over. */
export const offerProtocols = (settings: Pick<AgentPayments, 'x402'>, offer: AgentOffer): string[] => (soldOverX402(settings.x402, offer) ? ['mpp', 'x402'] : ['mpp']);

export interface PaymentInfo {
  /** Units per successful call, on a route sold by use. */
  readonly costPerCall?: number;
  readonly packs: ReadonlyArray<{ id: string; name: string; credits: number; amount: string; currency: string; protocols: readonly string[] }>;
  /** The plans; a plan sold over the protocols with its price, the days a payment buys and its protocols. */
  readonly plans: ReadonlyArray<{ id: string; name: string; amount?: string; currency?: string; days?: number; protocols?: readonly string[] }>;
}

/** What pays for a route: credit packs when it is sold by use (its cost is drawn from credits; an entitlement still needs a plan), and the plans. */
export function paymentInfo(settings: AgentPayments, route: Pick<RouteRule, 'requires' | 'usage'>): PaymentInfo | undefined {
  if (route.requires.kind === 'public' || route.requires.kind === 'key') return undefined;
  const soldByUse = route.usage !== undefined;
  return {
    ...(route.usage === undefined ? {} : { costPerCall: route.usage.cost }),
    packs: soldByUse ? settings.packs.map((p) => ({ id: p.id, name: p.name, credits: p.credits, amount: String(p.amount), currency: p.currency, protocols: offerProtocols(settings, p) })) : [],
    plans: settings.plans.map((p) => ({
      id: p.id,
      name: p.name,
      // A plan bought over a protocol grants standing, not an entitlement (offers.ts): sold only where standing opens the route.
      ...(isSoldPlan(p) && route.requires.kind !== 'entitlement' ? { amount: String(p.amount), currency: p.currency, days: p.days, protocols: offerProtocols(settings, p) } : {}),
    })),
  };
}

/** One x402 requirement in words: what to sign. */
const requirementLine = (r: PaymentRequirements): string => `${r.amount} atomic units of ${r.asset} on ${r.network} to ${r.payTo} (exact scheme)`;

/** `llms.txt`: the API, what each paid route costs, and how an agent buys a key and credits or a plan. */
export function llmsTxt(input: { readonly title: string; readonly base: string; readonly routes: readonly RouteRule[]; readonly settings: AgentPayments }): string {
  const { base, settings } = input;
  const x402 = settings.x402;
  const x402Offers = soldOffers(settings).filter((o) => soldOverX402(x402, o));
  const plans = settings.plans.filter(isSoldPlan);
  const lines = [
    `# ${input.title}`,
    '',
    `> A paid API behind tollgate. Every call needs \`Authorization: Bearer <key>\`. A 402 says why (RFC 9457 \`reason\`) and what to buy (\`offers\`, MPP challenges in \`WWW-Authenticate\`${x402 === undefined ? '' : ', x402 requirements in `PAYMENT-REQUIRED`'}).`,
    '',
    '## Buy a key and credits (MPP, stripe/charge with a Shared Payment Token)',
    '',
    ...settings.packs.map((p) => `- ${p.id}: ${p.name}, ${p.credits} credits for ${p.amount} ${p.currency} (minor units): POST ${purchaseUrl(base, p)} , answer its 402 challenge; the 200 holds a new key (send Authorization: Bearer <key> to top up yours)`),
    ...(plans.length === 0
      ? []
      : [
          '',
          '## Buy a plan (MPP; one payment, a fixed period, no renewal)',
          '',
          ...plans.map((p) => `- ${p.id}: ${p.name}, ${p.days} days of the plan for ${p.amount} ${p.currency} (minor units): POST ${purchaseUrl(base, p)} , answer its 402 challenge; a second payment extends the period`),
        ]),
    ...(x402 === undefined || x402Offers.length === 0
      ? []
      : [
          '',
          `## Pay with x402 (v${X402_VERSION}, exact scheme; send PAYMENT-SIGNATURE, or X-PAYMENT for v1)`,
          '',
          ...x402Offers.map((o) => `- ${o.id}: POST ${purchaseUrl(base, o)} with a payment of ${requirementLine(packRequirement(x402, o))}`),
          `- Discovery manifest: ${base}${X402_DISCOVERY_PATH}`,
        ]),
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

/** One item of the x402 discovery manifest. */
export interface X402DiscoveryItem {
  readonly resource: { readonly url: string; readonly description: string; readonly mimeType: string; readonly serviceName: string };
  readonly type: 'http';
  readonly accepts: readonly PaymentRequirements[];
  readonly input: { readonly method: 'POST'; readonly routeTemplate: string; readonly queryParams: Readonly<Record<string, string>> };
  readonly output: { readonly mimeType: string };
}

export interface X402DiscoveryManifest {
  readonly x402Version: 2;
  /** Epoch seconds: when the manifest was resolved (the function's start: the configuration is fixed per deployment). */
  readonly lastUpdated: number;
  readonly items: readonly X402DiscoveryItem[];
}

/**
 * `/.well-known/x402.json`: every offer sold over x402 as the purchase route resource that sells it, with
 * the one requirement its 402 carries (`accepts` is advisory: the live 402 is authoritative). Undefined
 * when x402 is off.
 */
export function x402Manifest(input: { readonly title: string; readonly base: string; readonly settings: AgentPayments; readonly resolvedAt: Date }): X402DiscoveryManifest | undefined {
  const x402 = input.settings.x402;
  if (x402 === undefined) return undefined;
  return {
    x402Version: X402_VERSION,
    lastUpdated: Math.floor(input.resolvedAt.getTime() / 1000),
    items: soldOffers(input.settings)
      .filter((o) => soldOverX402(x402, o))
      .map((o) => ({
        resource: { url: purchaseUrl(input.base, o), description: isPlanOffer(o) ? `${o.name}: ${o.days} days of the plan, an API key` : `${o.name}: ${o.credits} credits, an API key`, mimeType: 'application/json', serviceName: input.title },
        type: 'http',
        accepts: [packRequirement(x402, o)],
        input: { method: 'POST', routeTemplate: PURCHASE_PATH, queryParams: { offer: o.id } },
        output: { mimeType: 'application/json' },
      })),
  };
}
