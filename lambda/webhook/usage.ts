import type { CustomerRecord } from '../shared/customers/record';
import type { Plans } from '../shared/customers/usage-view';
import type { CustomerUpdate } from '../shared/customers/changes';

/**
 * What a payment event does to usage, given the stored state (read before the write; the store's
 * conditions make a race fail the write rather than undo someone else's):
 *
 * - a subscription of a counted plan (a quota, or overage billed) whose period end moves later starts a
 *   fresh period on its own counter (`periodUsage.<id>`: the new end, used 0, the closing period kept;
 *   only forward), or on an older tollgate's item the one flat counter (`usagePeriodEnd`, `periodUsed`);
 *   a counter metering has not written yet needs nothing;
 * - a subscription of any plan whose period end moves later lifts a quota_exceeded block (a Stripe usage
 *   alert's, or an operator's): the block was about the period that ended;
 * - a usage alert names the subscriptions it was read with: it applies only while none of them started
 *   a period after it (an alert about the period just ended, delivered after the renewal, blocks nothing);
 * - a credits top-up lifts a credits_exhausted block.
 *
 * The counter rule alone already makes a new period fresh for decisions (usage-view.ts); writing it
 * changes the access signature, so the webhook flushes the cached 402s at once.
 */
export function withUsageEffects(update: CustomerUpdate, stored: CustomerRecord | undefined, plans: Plans): CustomerUpdate {
  const { change } = update;
  if (change.stream === 'credits') {
    return stored?.usageBlock === 'credits_exhausted' ? { ...update, change: { ...change, liftCreditsBlock: true } } : update;
  }
  if (change.stream === 'usageAlert') return { ...update, change: { ...change, knownSubscriptions: Object.keys(stored?.subscriptions ?? {}).sort() } };
  if (change.stream !== 'subscription' || change.currentPeriodEnd === undefined) return update;
  const previous = stored?.subscriptions[change.subscriptionId]?.currentPeriodEnd;
  // Any plan's renewal lifts a quota block: the alert (or the operator) said the ended period was used up.
  const renewed = previous !== undefined && change.currentPeriodEnd > previous;
  const lifted = renewed && stored?.usageBlock === 'quota_exceeded' ? { ...change, liftQuotaBlock: true as const } : change;
  const plan = change.plan === undefined ? undefined : plans[change.plan];
  if (plan === undefined || (plan.quota === undefined && plan.overage !== 'bill')) return { ...update, change: lifted };
  if (stored?.periodUsage !== undefined) {
    const entry = stored.periodUsage[change.subscriptionId];
    if (entry === undefined || change.currentPeriodEnd <= entry.periodEnd) return { ...update, change: lifted };
    return { ...update, change: { ...lifted, usageReset: { periodEnd: change.currentPeriodEnd, counter: 'entry' } } };
  }
  const counter = stored?.usagePeriodEnd;
  // Forward only: the period moved on from what this subscription and the counter knew.
  if ((previous !== undefined && change.currentPeriodEnd <= previous) || (counter !== undefined && change.currentPeriodEnd <= counter)) return { ...update, change: lifted };
  if (previous === undefined && counter === undefined) return { ...update, change: lifted };
  return { ...update, change: { ...lifted, usageReset: { periodEnd: change.currentPeriodEnd, counter: 'flat' } } };
}
