import { LEGACY_GRANT_ID, type GrantView } from '../../shared/credit-grants';
import type { ApiKeySummary } from '../../shared/customers/keys';
import type { CustomerRecord } from '../../shared/customers/record';
import type { UsageView } from '../../shared/customers/usage-view';
import { PORTAL_PATHS } from '../../shared/portal-paths';
import type { Page } from '../context';
import { html, type Html } from '../html';

export interface AccountView {
  readonly base: string;
  readonly customerId: string;
  /** The plan's name in the catalog (else its lookup key); undefined: no plan. */
  readonly planName?: string;
  /** The plan of a subscription that ended (canceled, expired): the customer holds no plan now. */
  readonly endedPlanName?: string;
  /** The deciding subscription's Stripe status, or none. */
  readonly subscriptionStatus: string;
  /** Why access is granted while something is wrong (past due, ending). */
  readonly warning?: string;
  /** The 402 reason paid routes answer with now; undefined: every route answers. */
  readonly reason?: string;
  /** Where to fix it. */
  readonly paymentUrl?: string;
  /** As `GET /tollgate/usage` answers it. */
  readonly usage?: UsageView;
  readonly usageBlock?: CustomerRecord['usageBlock'];
  /** The credit grants in draw order, with what is left of each (0 once expired). */
  readonly grants?: readonly GrantView[];
  readonly keys: readonly Pick<ApiKeySummary, 'keyId' | 'name' | 'state' | 'createdAt'>[];
  /** The key this session signed in with. */
  readonly sessionKeyId: string;
  /** The Budget section (pages/budget.ts). */
  readonly budget?: Html;
  /** The Auto top-up section (pages/top-up.ts); empty when the API sells no credit packs. */
  readonly topUp?: Html | string;
}

/** The signed-in customer's standing, usage and keys, with rotation, billing and sign-out. */
export function accountPage(view: AccountView): Page {
  const { base, reason, paymentUrl } = view;
  const body = html`<dl>
<dt>Customer</dt><dd><code>${view.customerId}</code></dd>
<dt>Plan</dt><dd>${view.planName ?? (view.endedPlanName === undefined ? 'none' : `none (${view.endedPlanName} ended)`)}</dd>
<dt>Subscription</dt><dd>${view.subscriptionStatus}${view.warning === undefined ? '' : html` (${view.warning})`}</dd>
<dt>Access now</dt><dd>${reason === undefined
    ? 'Every route of the API answers.'
    : html`Paid routes answer 402 <a href="${base}/tollgate/problems/${reason}"><code>${reason}</code></a>${paymentUrl === undefined ? '' : html`: <a href="${paymentUrl}">fix it here</a>`}.`}</dd>
${usageRows(view.usage, view.usageBlock)}
</dl>
${view.budget ?? ''}
${grantsTable(view.grants ?? [])}
${view.topUp ?? ''}
<h2>Keys</h2>
<table><thead><tr><th scope="col">Key id</th><th scope="col">Name</th><th scope="col">State</th><th scope="col">Created</th></tr></thead>
<tbody>${view.keys.map((k) => html`<tr><td><code>${k.keyId}</code>${k.keyId === view.sessionKeyId ? ' (this session)' : ''}</td><td>${k.name ?? ''}</td><td>${k.state}</td><td>${k.createdAt}</td></tr>`)}</tbody></table>
<form method="post" action="${base}${PORTAL_PATHS.rotate}"><p><button type="submit">Rotate the key you signed in with</button> The old key stops working at once; the new one is shown once.</p></form>
<form method="post" action="${base}${PORTAL_PATHS.billing}"><p><button type="submit">Billing: card, invoices, plan, cancel</button></p></form>
<p><a href="${base}${PORTAL_PATHS.pricing}">Plans</a></p>
<form method="post" action="${base}${PORTAL_PATHS.signOut}"><p><button type="submit">Sign out</button></p></form>`;
  return { title: 'Your account', body };
}

const isoTime = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

/** The grants in the order calls draw on them; nothing when the wallet has none. */
function grantsTable(grants: readonly GrantView[]): Html | string {
  if (grants.length === 0) return '';
  return html`<h2 id="grants">Credit grants</h2>
<table aria-labelledby="grants" data-grants><caption>Calls draw on them in this order: promotional first, then by priority, then the soonest expiry.</caption>
<thead><tr><th scope="col">Grant</th><th scope="col">Kind</th><th scope="col">Priority</th><th scope="col">Left</th><th scope="col">Expires</th></tr></thead>
<tbody>${grants.map(
    (g) =>
      html`<tr><td><code>${g.id === LEGACY_GRANT_ID ? 'earlier credits' : g.id}</code></td><td>${g.category}</td><td>${g.priority}</td><td>${g.left} of ${g.units} units</td><td>${g.expiresAt === null ? 'never' : html`<time datetime="${g.expiresAt}">${g.expiresAt}</time>${g.expired ? ' (expired)' : ''}`}</td></tr>`,
  )}</tbody></table>`;
}

/** Units used against the quota; never "35 of 20": what went past the quota is said apart. */
function usedText(usage: UsageView): string {
  const { used, limit } = usage;
  if (limit === undefined) return `${used} units used no quota${usage.overage === 'bill' ? ' (units past the quota are billed)' : ''}`;
  if (used <= limit) return `${used} units used of ${limit}, ${usage.remaining ?? limit - used} left${usage.overage === 'bill' ? ' (units past the quota are billed)' : ''}`;
  const past = used - limit;
  return usage.overage === 'bill'
    ? `${limit} of ${limit} units used, then ${past} more billed per unit`
    : `${limit} of ${limit} units used: the quota is used up (${past} more were served before the limit applied)`;
}

/** Usage in the period and credits; nothing for a plan that counts nothing. */
function usageRows(usage: UsageView | undefined, block: CustomerRecord['usageBlock']): Html | string {
  const rows: Html[] = [];
  if (usage !== undefined && usage.counted) {
    rows.push(html`<dt>Usage this period</dt><dd data-usage>${usedText(usage)}</dd>`);
    if (usage.periodEnd !== undefined) rows.push(html`<dt>Period resets</dt><dd><time datetime="${isoTime(usage.periodEnd)}">${isoTime(usage.periodEnd)}</time></dd>`);
  }
  if (usage?.credits !== undefined) rows.push(html`<dt>Credits</dt><dd data-credits>${usage.credits} units prepaid</dd>`);
  if (block !== undefined) rows.push(html`<dt>Usage block</dt><dd><code>${block}</code></dd>`);
  return rows.length === 0 ? '' : html`${rows}`;
}
