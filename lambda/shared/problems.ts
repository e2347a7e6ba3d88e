/** Why a request is answered 402. Stable and machine-readable: clients switch on these. */
export const PAYMENT_REASONS = [
  'no_subscription',
  'subscription_canceled',
  'payment_failed',
  'payment_action_required',
  'trial_ended',
  'upgrade_required',
  'credits_exhausted',
  'quota_exceeded',
] as const;
export type PaymentReason = (typeof PAYMENT_REASONS)[number];

/**
 * The 402 reasons: the title and the sentence a person can act on. The authorizer puts them in its
 * Deny context; the gateway response renders them as RFC 9457 problem+json. Titles and details
 * must stay JSON-safe (no quotes or backslashes): the gateway substitutes them into a JSON template
 * verbatim.
 */
export const PAYMENT_PROBLEMS: Readonly<Record<PaymentReason, { readonly title: string; readonly detail: string }>> = {
  no_subscription: {
    title: 'Subscription required',
    detail: 'This API requires a paid subscription. Subscribe at the payment URL, then retry.',
  },
  subscription_canceled: {
    title: 'Subscription canceled',
    detail: 'Your subscription has ended. Start a new subscription at the payment URL to restore access.',
  },
  payment_failed: {
    title: 'Payment failed',
    detail: 'Your last payment failed. Update your payment method and pay the open invoice at the payment URL.',
  },
  payment_action_required: {
    title: 'Payment action required',
    detail: 'Your payment needs your confirmation (for example 3-D Secure). Complete it at the payment URL.',
  },
  trial_ended: {
    title: 'Trial ended',
    detail: 'Your free trial has ended and no payment method is on file. Add one at the payment URL to continue.',
  },
  upgrade_required: {
    title: 'Upgrade required',
    detail: 'Your plan does not include this feature. Upgrade your plan at the payment URL.',
  },
  credits_exhausted: {
    title: 'Credits exhausted',
    detail: 'Your prepaid credits are used up. Buy more credits at the payment URL.',
  },
  quota_exceeded: {
    title: 'Quota exceeded',
    detail: 'You have used your plan quota for this billing period. Upgrade or wait for the next period.',
  },
};

/** Makes a string safe to substitute into a JSON string literal without escaping. */
export function jsonSafe(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/["\\\u0000-\u001f\u2028\u2029]/g, '');
}
