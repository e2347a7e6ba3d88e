import { PORTAL_PATHS } from '../../shared/portal-paths';
import type { Page } from '../context';
import { html, type Html } from '../html';
import type { PriceList } from '../prices';
import type { Catalog } from '../settings';

export interface PricingView {
  readonly base: string;
  readonly catalog: Catalog;
  /** What Stripe charges for each, by the catalog's price reference; a plan or pack without one shows no price. */
  readonly prices?: PriceList;
  /** The signed-in customer, whose existing keys a subscription started here applies to. */
  readonly signedInAs?: string;
}

/** The plans and credit packs, each a form that starts a checkout. */
const priceOf = (prices: PriceList | undefined, reference: string): Html | string => {
  const price = prices?.get(reference);
  return price === undefined ? '' : html`<p class="price" data-price>${price.amount}${price.per === undefined ? '' : ` ${price.per}`}</p>`;
};

export function pricingPage({ base, catalog, signedInAs, prices }: PricingView): Page {
  const body = html`${signedInAs === undefined
    ? html`<p>Already have an API key? <a href="${base}${PORTAL_PATHS.signIn}">Sign in</a> first, so the subscription lands on your key's account and the same key starts working.</p>`
    : html`<p>Signed in as <code>${signedInAs}</code>: a subscription you start here applies to your existing keys.</p>`}
<h2>Plans</h2>
<ul class="plans">${catalog.plans.map(
    (plan) => html`<li><h3>${plan.name}</h3>${priceOf(prices, plan.lookupKey)}<p>${plan.quota === undefined ? 'Unlimited calls.' : `${plan.quota} units per billing period${plan.overage === true ? ', then billed per unit' : ''}.`}</p>
<form method="post" action="${base}${PORTAL_PATHS.checkout}"><input type="hidden" name="plan" value="${plan.lookupKey}"><button type="submit">Subscribe to ${plan.name}</button></form></li>`,
  )}</ul>
${catalog.creditPacks.length === 0
    ? ''
    : html`<h2>Credit packs</h2><ul class="plans">${catalog.creditPacks.map(
        (pack) => html`<li><h3>${pack.name}</h3>${priceOf(prices, pack.price)}<p>${pack.credits} prepaid credits.</p><form method="post" action="${base}${PORTAL_PATHS.checkout}"><input type="hidden" name="pack" value="${pack.id}"><button type="submit">Buy ${pack.name}</button></form></li>`,
      )}</ul>`}
<p><a href="${base}${PORTAL_PATHS.docs}">API reference</a></p>`;
  return { title: 'Plans', body };
}
