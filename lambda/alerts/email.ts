import type { FiredAlert } from '../shared/alerts/outbox';
import { failureWords } from '../shared/customers/top-up';

/**
 * The customer's e-mail, one template per rule: a subject, a plain-text body and the same as HTML.
 * Numbers and ids only come from the alert (no customer input), and are escaped in the HTML anyway.
 * payment_recovered has none: it is the seller's news (the customer knows they paid, and Stripe sends
 * the receipt).
 */

/** Whether the alert e-mails the customer. */
export const emailsCustomer = (alert: FiredAlert): boolean => alert.detail.rule !== 'recovered';

export interface EmailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const day = (epochS: number): string => new Date(epochS * 1000).toISOString().slice(0, 10);

/** Subject and lines of the alert's e-mail. */
export function emailContent(alert: FiredAlert, accountUrl: string | undefined): { readonly subject: string; readonly lines: readonly string[] } {
  const d = alert.detail;
  const where = accountUrl === undefined ? [] : [`Your usage and how to raise your limits: ${accountUrl}`];
  switch (d.rule) {
    case 'quota':
      return {
        subject: d.percent >= 100 ? `You have used your plan's quota (${d.quota} units)` : `You have used ${d.percent}% of your plan's quota`,
        lines: [
          `Your API usage reached ${d.used} of the ${d.quota} units your plan includes in the period that ends on ${day(d.periodEnd)} (${d.percent}% threshold).`,
          d.percent >= 100 ? 'Calls past the quota are answered 402 unless credits or overage pay for them.' : 'Nothing is blocked yet: past the quota, calls draw on credits or are answered 402.',
          ...where,
        ],
      };
    case 'credits':
      return {
        subject: `Your prepaid credits are below ${d.below} units`,
        lines: [`Your balance is ${d.balance} units. When it reaches 0, calls that need credits are answered 402 credits_exhausted.`, ...where],
      };
    case 'budget':
      return {
        subject: d.percent >= 100 ? `Your spend cap of ${d.limit} units is reached` : `You have used ${d.percent}% of your spend cap`,
        lines: [
          `${d.scope === '*' ? 'Your' : `Key ${d.scope}'s`} ${d.window === 'day' ? 'daily' : 'billing-period'} cap of ${d.limit} units has ${d.used} units used; it resets on ${new Date(d.resetsAt * 1000).toISOString()}.`,
          d.percent >= 100 ? 'Calls are answered 402 budget_exceeded until it resets or you raise the cap.' : 'At the cap, calls are answered 402 budget_exceeded until it resets or you raise it.',
          ...where,
        ],
      };
    case 'topUp':
      return {
        subject: 'Your automatic credit top-up failed',
        lines: [
          `We tried to buy ${d.credits === undefined ? 'your credit pack' : `${d.credits} credits`} with your saved card because your credits fell below your top-up threshold, but ${failureWords(d.failure)}. No credits were added and no money was taken.`,
          'Auto top-up is paused. When your credits run out, calls that need them are answered 402 top_up_failed. Save another card on your account page to turn it on again, or buy a credit pack there.',
          ...(accountUrl === undefined ? [] : [`Your account: ${accountUrl}`]),
        ],
      };
    case 'recovered':
      throw new RangeError('payment_recovered e-mails nobody: check emailsCustomer first');
  }
}

export function renderEmail(alert: FiredAlert, to: string, accountUrl: string | undefined): EmailMessage {
  const { subject, lines } = emailContent(alert, accountUrl);
  return {
    to,
    subject,
    text: `${lines.join('\n\n')}\n`,
    html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(subject)}</title></head><body>${lines.map((l) => `<p>${escape(l)}</p>`).join('')}</body></html>`,
  };
}
