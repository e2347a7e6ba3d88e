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
  readonly keys: readonly Pick<ApiKeySummary, 'keyId' | 'name' | 'state' | 'createdAt'>[];
  /** The key this session signed in with. */
  readonly sessionKeyId: string;
}

/** The signed-in customer's standing, usage and keys, with rotation, billing and sign-out. */
export function accountPage(view: AccountView): Page {
  const { base, reason, paymentUrl } = view;
  const body = html`<dl>
<dt>Customer</dt><dd><code>${view.customerId}</code></dd>
<dt>Plan</dt><dd>${view.planName ?? 'none'}</dd>
<dt>Subscription</dt><dd>${view.subscriptionStatus}${view.warning === undefined ? '' : html` (${view.warning})`}</dd>
<dt>Access now</dt><dd>${reason === undefined
    ? 'Every route of the API answers.'
    : html`Paid routes answer 402 <a href="${base}/tollgate/problems/${reason}"><code>${reason}</code></a>${paymentUrl === undefined ? '' : html`: <a href="${paymentUrl}">fix it here</a>`}.`}</dd>
${usageRows(view.usage, view.usageBlock)}
</dl>
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

/** Usage in the period and credits; nothing for a plan that counts nothing. */
function usageRows(usage: UsageView | undefined, block: CustomerRecord['usageBlock']): Html | string {
  const rows: Html[] = [];
  if (usage !== undefined && usage.counted) {
    const of = usage.limit === undefined ? 'no quota' : `of ${usage.limit}`;
    const left = usage.remaining === undefined ? '' : `, ${usage.remaining} left`;
    rows.push(html`<dt>Usage this period</dt><dd data-usage>${usage.used} units used ${of}${left}${usage.overage === 'bill' ? ' (units past the quota are billed)' : ''}</dd>`);
    if (usage.periodEnd !== undefined) rows.push(html`<dt>Period resets</dt><dd><time datetime="${isoTime(usage.periodEnd)}">${isoTime(usage.periodEnd)}</time></dd>`);
  }
  if (usage?.credits !== undefined) rows.push(html`<dt>Credits</dt><dd data-credits>${usage.credits} units prepaid</dd>`);
  if (block !== undefined) rows.push(html`<dt>Usage block</dt><dd><code>${block}</code></dd>`);
  return rows.length === 0 ? '' : html`${rows}`;
}
