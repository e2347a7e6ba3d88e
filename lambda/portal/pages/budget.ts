import { CUSTOMER_SCOPE, type BudgetState } from '../../shared/budgets';
import { PORTAL_PATHS } from '../../shared/portal-paths';
import { html, type Html } from '../html';
import { noticeFrom } from './notice';

/**
 * The account page's Budget section: the caps the customer set (its own and its keys'), what each has
 * spent and left in its window and when that window ends, in words; a form to set, raise or lower a cap
 * for the whole account or one key, and a button to remove each. The form posts to the budget route
 * (lambda/portal/budget.ts), which answers with this section again, with the error, when it refuses.
 */

export interface BudgetFormState {
  /** `customer` or a key id, as sent. */
  readonly scope: string;
  readonly limit: string;
  readonly per: string;
  /** Why nothing was changed, in a sentence. */
  readonly error: string;
  /** The field the error is about, marked invalid. */
  readonly field: 'limit' | 'per' | 'scope';
}

export type BudgetNotice = 'set' | 'removed' | 'none';

export interface BudgetSectionView {
  readonly base: string;
  readonly budgets: readonly BudgetState[];
  /** The keys a cap can be set on (the customer's active ones). */
  readonly keys: readonly { readonly keyId: string; readonly name?: string }[];
  readonly sessionKeyId: string;
  /** The form as sent, when it was refused. */
  readonly form?: BudgetFormState;
  /** What the last change did (after its redirect). */
  readonly notice?: BudgetNotice;
}

/** What the account page adds to the section: the form refused, or the last change's notice. */
export type BudgetFormOutcome = Pick<BudgetSectionView, 'form' | 'notice'>;

/** The query parameter the budget route redirects with (`?budget=set`). */
export const BUDGET_NOTICE_PARAMETER = 'budget';

const NOTICES: Readonly<Record<BudgetNotice, string>> = {
  set: 'Budget saved. It applies to the next call: a raised cap lets calls through at once.',
  removed: 'Budget removed: nothing caps those calls now.',
  none: 'There was no cap to remove.',
};

/** The notice a redirect named; anything else names none. */
export const budgetNotice = (query: Readonly<Record<string, string | undefined>> | null): BudgetFormOutcome => noticeFrom(query, BUDGET_NOTICE_PARAMETER, NOTICES);

const RESETS = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });
const plural = (n: number): string => `${n.toLocaleString('en-GB')} unit${n === 1 ? '' : 's'}`;

/** "8 December 2026 at 00:00 UTC" */
export const resetTime = (epochSeconds: number): string => `${RESETS.format(new Date(epochSeconds * 1000))} UTC`;

function scopeName(scope: string, keys: BudgetSectionView['keys'], sessionKeyId: string): string {
  if (scope === CUSTOMER_SCOPE || scope === 'customer') return 'Whole account (every key)';
  const name = keys.find((k) => k.keyId === scope)?.name;
  return `Key ${scope}${name === undefined ? '' : ` (${name})`}${scope === sessionKeyId ? ', this session' : ''}`;
}

/** "500 units a day", "2,000 units per billing period" */
export const capText = (b: Pick<BudgetState, 'limit' | 'window'>): string => `${plural(b.limit)} ${b.window === 'day' ? 'a day (UTC)' : 'per billing period'}`;

function row(b: BudgetState, view: BudgetSectionView): Html {
  const left = Math.max(0, b.left);
  const scope = b.scope === CUSTOMER_SCOPE ? 'customer' : b.scope;
  const label = b.scope === CUSTOMER_SCOPE ? 'Remove the whole-account cap' : `Remove the cap on key ${b.scope}`;
  return html`<tr data-budget="${scope}"><th scope="row">${scopeName(b.scope, view.keys, view.sessionKeyId)}</th><td>${capText(b)}</td><td>${plural(b.used)}</td><td>${left === 0 ? html`<strong>none: calls sold by use answer 402 until the reset or a raise</strong>` : plural(left)}</td><td><time datetime="${new Date(b.resetsAt * 1000).toISOString()}">${resetTime(b.resetsAt)}</time></td><td><form method="post" action="${view.base}${PORTAL_PATHS.budget}"><input type="hidden" name="action" value="remove"><input type="hidden" name="scope" value="${scope}"><button type="submit" aria-label="${label}">Remove</button></form></td></tr>`;
}

export function budgetSection(view: BudgetSectionView): Html {
  const { form } = view;
  const scope = form?.scope ?? 'customer';
  const per = form?.per ?? 'day';
  const invalid = (field: BudgetFormState['field']): Html | string => (form?.field === field ? html` aria-invalid="true" aria-describedby="budget-error"` : '');
  const option = (value: string, text: string, chosen: string): Html => html`<option value="${value}"${value === chosen ? html` selected` : ''}>${text}</option>`;
  const table =
    view.budgets.length === 0
      ? html`<p data-budgets>No cap is set: your keys can spend as far as your plan and credits allow.</p>`
      : html`<table data-budgets><caption>Your spend caps, on calls sold by use</caption><thead><tr><th scope="col">Applies to</th><th scope="col">Cap</th><th scope="col">Used</th><th scope="col">Left</th><th scope="col">Resets</th><th scope="col">Change</th></tr></thead>
<tbody>${view.budgets.map((b) => row(b, view))}</tbody></table>`;
  return html`<section aria-labelledby="budget">
<h2 id="budget">Budget</h2>
<p>A budget caps the units your keys spend on calls sold by use, per day or per billing period. Past it, those calls answer 402 <code>budget_exceeded</code> until the cap resets or you raise it here; raising or removing it lets them through at once.</p>
${view.notice === undefined ? '' : html`<p role="status" data-budget-notice>${NOTICES[view.notice]}</p>`}
${table}
<form method="post" action="${view.base}${PORTAL_PATHS.budget}" data-budget-form>
<input type="hidden" name="action" value="set">
${form === undefined ? '' : html`<p role="alert" id="budget-error">Nothing was changed: ${form.error}</p>`}
<p><label for="budget-scope">Applies to</label> <select id="budget-scope" name="scope"${invalid('scope')}>${option('customer', scopeName('customer', view.keys, view.sessionKeyId), scope)}${view.keys.map((k) => option(k.keyId, scopeName(k.keyId, view.keys, view.sessionKeyId), scope))}</select></p>
<p><label for="budget-limit">Cap, in units</label> <input id="budget-limit" name="limit" type="text" inputmode="numeric" autocomplete="off" size="14" value="${form?.limit ?? ''}"${invalid('limit')}></p>
<p><label for="budget-per">Per</label> <select id="budget-per" name="per"${invalid('per')}>${option('day', 'day (resets at 00:00 UTC)', per)}${option('period', 'billing period', per)}</select></p>
<p><button type="submit">Set budget</button> Setting a cap again raises or lowers it; what was spent in the window still counts.</p>
</form>
</section>`;
}
