import { failureWords, type TopUp } from '../../shared/customers/top-up';
import { PORTAL_PATHS } from '../../shared/portal-paths';
import { html, type Html } from '../html';
import { noticeFrom } from './notice';
import type { CatalogCreditPack } from '../settings';

/**
 * The account page's Auto top-up section: the saved card, what the top-up does now (on, under way,
 * paused by a failed charge, off), a form to choose the pack and the threshold, and buttons to save a
 * card (Stripe Checkout in setup mode) and to turn it off. The forms post to lambda/portal/top-up.ts,
 * which answers with this section again, with the error, when it refuses.
 */

export interface TopUpFormState {
  readonly pack: string;
  readonly below: string;
  readonly error: string;
  readonly field: 'pack' | 'below';
}

export type TopUpNotice = 'card' | 'set' | 'removed' | 'charged' | 'failed' | 'busy';

export interface TopUpSectionView {
  readonly base: string;
  readonly packs: readonly CatalogCreditPack[];
  readonly topUp?: TopUp;
  readonly form?: TopUpFormState;
  readonly notice?: TopUpNotice;
}

export type TopUpFormOutcome = Pick<TopUpSectionView, 'form' | 'notice'>;

/** The query parameter the top-up routes redirect with (`?topup=set`). */
export const TOP_UP_NOTICE_PARAMETER = 'topup';

const NOTICES: Readonly<Record<TopUpNotice, string>> = {
  card: 'Card saved. Nothing was charged: it is charged only when your credits fall below your threshold.',
  set: 'Auto top-up saved. It buys the pack the next time your credits fall below the threshold.',
  removed: 'Auto top-up is off, and this account forgets the card.',
  charged: 'Your credits were below the threshold, so the pack was bought with your card: the credits arrive within seconds.',
  failed: 'Your credits were below the threshold, but charging your card failed. Nothing was added: save another card.',
  busy: 'A top-up charge is under way: try again in a moment.',
};

/** The notice a redirect named; anything else names none. */
export const topUpNotice = (query: Readonly<Record<string, string | undefined>> | null): TopUpFormOutcome => noticeFrom(query, TOP_UP_NOTICE_PARAMETER, NOTICES);

/** "100 credits", or "Starter (100 credits)" when the name does not say the units. */
const packLabel = (name: string, credits: number): string => (name.includes(String(credits)) ? name : `${name} (${credits} credits)`);

function status(topUp: TopUp | undefined, packs: readonly CatalogCreditPack[]): Html | string {
  if (topUp?.below === undefined || topUp.pack === undefined) return 'Off.';
  const pack = packs.find((p) => p.id === topUp.pack);
  const credits = topUp.credits ?? pack?.credits;
  const what = credits === undefined ? (pack?.name ?? topUp.pack) : packLabel(pack?.name ?? topUp.pack, credits);
  switch (topUp.state) {
    case 'armed':
      return topUp.method === undefined ? html`Waiting for a card: save one to turn it on.` : html`On: when your credits fall below ${topUp.below} units, your card buys ${what}.`;
    case 'charging':
      return html`A charge for ${what} is under way; the credits arrive when Stripe confirms it.`;
    case 'failed':
      return html`<strong>Paused</strong>: the last charge failed (${failureWords(topUp.failure)}) and nothing was added. Save another card to turn it on again.`;
  }
}

export function topUpSection(view: TopUpSectionView): Html | string {
  if (view.packs.length === 0) return '';
  const { form, topUp, base } = view;
  const chosen = form?.pack ?? topUp?.pack ?? view.packs[0]!.id;
  const below = form?.below ?? (topUp?.below === undefined ? '' : String(topUp.below));
  const invalid = (field: TopUpFormState['field']): Html | string => (form?.field === field ? html` aria-invalid="true" aria-describedby="top-up-error"` : '');
  const card = topUp?.method === undefined ? 'none saved' : (topUp.methodLabel ?? 'card');
  return html`<section aria-labelledby="top-up">
<h2 id="top-up">Auto top-up</h2>
<p>Auto top-up buys a credit pack with a card you saved when your credits fall below a threshold you choose, once each time they cross it. Credits are added only when the payment succeeds; if it fails, you get an e-mail and calls that need credits answer 402 <code>top_up_failed</code> once the credits run out.</p>
${view.notice === undefined ? '' : html`<p role="status" data-top-up-notice>${NOTICES[view.notice]}</p>`}
<dl data-top-up><dt>Card</dt><dd>${card}</dd><dt>Auto top-up</dt><dd data-top-up-state>${status(topUp, view.packs)}</dd></dl>
<form method="post" action="${base}${PORTAL_PATHS.topUp}"><input type="hidden" name="action" value="card"><p><button type="submit">${topUp?.method === undefined ? 'Save a card' : 'Save another card'}</button> On Stripe's page; nothing is charged now.</p></form>
${topUp?.method === undefined
    ? ''
    : html`<form method="post" action="${base}${PORTAL_PATHS.topUp}" data-top-up-form>
<input type="hidden" name="action" value="set">
${form === undefined ? '' : html`<p role="alert" id="top-up-error">Nothing was changed: ${form.error}</p>`}
<p><label for="top-up-pack">Pack to buy</label> <select id="top-up-pack" name="pack"${invalid('pack')}>${view.packs.map((p) => html`<option value="${p.id}"${p.id === chosen ? html` selected` : ''}>${packLabel(p.name, p.credits)}</option>`)}</select></p>
<p><label for="top-up-below">When credits fall below, in units</label> <input id="top-up-below" name="below" type="text" inputmode="numeric" autocomplete="off" size="10" value="${below}"${invalid('below')}></p>
<p><button type="submit">Turn on auto top-up</button></p>
</form>`}
${topUp === undefined ? '' : html`<form method="post" action="${base}${PORTAL_PATHS.topUp}"><input type="hidden" name="action" value="remove"><p><button type="submit">Turn off auto top-up</button></p></form>`}
</section>`;
}
