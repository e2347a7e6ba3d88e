import type { CustomerRecord } from '../shared/customers/record';
import type { Plans } from '../shared/customers/usage-view';
import type { CustomerUpdate } from '../shared/customers/changes';

/**
 * What a payment event does to usage, given the stored state (read before the write; the store's
 * conditions make a race fail the write rather than undo someone else's):
 *
 * - a subscription of a counted plan (a quota, or overage billed) whose period end moves later starts a
 *   fresh period counter (`usagePeriodEnd` = the new end, `periodUsed` = 0; only forward) and lifts a
 *   quota_exceeded block (a Stripe usage alert's, or an operator's);
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
  if (change.stream !== 'subscription' || change.currentPeriodEnd === undefined || change.plan === undefined) return update;
  const plan = plans[change.plan];
  if (plan === undefined || (plan.quota === undefined && plan.overage !== 'bill')) return update;
  const previous = stored?.subscriptions[change.subscriptionId]?.currentPeriodEnd;
  const counter = stored?.usagePeriodEnd;
  // Forward only: the period moved on from what this subscription and the counter knew.
  if ((previous !== undefined && change.currentPeriodEnd <= previous) || (counter !== undefined && change.currentPeriodEnd <= counter)) return update;
  if (previous === undefined && counter === undefined) return update;
  return { ...update, change: { ...change, usageReset: { periodEnd: change.currentPeriodEnd, liftQuotaBlock: stored?.usageBlock === 'quota_exceeded' } } };
}
