/**
 * Every problem type tollgate answers itself, one entry per problem: the status, the title and detail
 * of the problem+json body, and what it means and what to do (its page under /tollgate/problems/ and
 * the docs say these). Adding a 402 reason is an entry here and the rule that denies with it.
 *
 * The authorizer puts a 402's title and detail in its Deny context and the gateway response substitutes
 * them into a JSON template verbatim: titles and details must stay JSON-safe (no quotes or backslashes).
 */

export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly meaning: string;
  readonly action: string;
}

/** Why a request is answered 402. The keys are stable and machine-readable: clients switch on them. */
export const PAYMENT_PROBLEMS = {
  no_subscription: {
    status: 402,
    title: 'Subscription required',
    detail: 'This API requires a paid subscription. Subscribe at the payment URL, then retry.',
    meaning: 'Your key is valid, but your account has no subscription yet.',
    action: 'Subscribe at the payment URL (the portal), then retry: the same key works within seconds.',
  },
  subscription_canceled: {
    status: 402,
    title: 'Subscription canceled',
    detail: 'Your subscription has ended. Start a new subscription at the payment URL to restore access.',
    meaning: 'Your subscription was canceled or expired.',
    action: 'Start a new subscription at the payment URL to restore access.',
  },
  payment_failed: {
    status: 402,
    title: 'Payment failed',
    detail: 'Your last payment failed. Update your payment method and pay the open invoice at the payment URL.',
    meaning: 'Your last payment failed and the grace period is over (or the subscription is unpaid).',
    action: 'Pay the open invoice or update your card at the payment URL.',
  },
  payment_action_required: {
    status: 402,
    title: 'Payment action required',
    detail: 'Your payment needs your confirmation (for example 3-D Secure). Complete it at the payment URL.',
    meaning: 'A payment needs your confirmation (3-D Secure or bank authentication).',
    action: 'Complete the payment at the payment URL.',
  },
  trial_ended: {
    status: 402,
    title: 'Trial ended',
    detail: 'Your free trial has ended and no payment method is on file. Add one at the payment URL to continue.',
    meaning: 'Your trial ended without a payment method on file.',
    action: 'Add a payment method at the payment URL.',
  },
  upgrade_required: {
    status: 402,
    title: 'Upgrade required',
    detail: 'Your plan does not include this feature. Upgrade your plan at the payment URL.',
    meaning: 'Your plan does not include the feature this route needs. Other routes keep working.',
    action: 'Upgrade your plan at the payment URL (the billing portal).',
  },
  credits_exhausted: {
    status: 402,
    title: 'Credits exhausted',
    detail: 'Your prepaid credits are used up. Buy more credits at the payment URL.',
    meaning: 'Your prepaid credits are used up. Free-tier routes keep working.',
    action: 'Buy more credits at the payment URL.',
  },
  top_up_failed: {
    status: 402,
    title: 'Auto top-up failed',
    detail: 'Your prepaid credits are used up and the automatic top-up charge failed, so no credits were added. Save another card on the account page or buy credits at the payment URL.',
    meaning: 'You turned on auto top-up, your credits fell below its threshold, and the charge to your saved card failed (declined, expired, or the bank asked for authentication). No credits were added and the top-up is paused.',
    action: 'Save a card that can be charged on the account page of the portal (the payment URL), or buy a credit pack there. A new card turns auto top-up on again.',
  },
  quota_exceeded: {
    status: 402,
    title: 'Quota exceeded',
    detail: 'You have used your plan quota for this billing period. Upgrade or wait for the next period.',
    meaning: "You have used this billing period's quota.",
    action: 'Upgrade your plan, or wait for the next period.',
  },
  budget_exceeded: {
    status: 402,
    title: 'Budget exceeded',
    detail: 'You have reached the spend cap you set. Raise or remove it in the portal, or wait until resetsAt.',
    meaning: 'You reached a budget you set yourself (for your account or for this key): limit and used say which numbers, resetsAt when it starts again. Your other keys keep working when the cap is on this key alone.',
    action:
      'Raise or remove the budget on the account page of the portal (the payment URL), with PUT /tollgate/budget and this key, or wait until resetsAt. Access comes back at once.',
  },
} as const satisfies Record<string, Problem>;

export type PaymentReason = keyof typeof PAYMENT_PROBLEMS;
export const PAYMENT_REASONS = Object.keys(PAYMENT_PROBLEMS) as readonly PaymentReason[];

/** The problem types tollgate answers beside the 402 reasons, each with its page. */
export const OTHER_PROBLEMS = {
  unauthorized: {
    status: 401,
    title: 'Unauthorized',
    detail: 'Send a valid API key or access token as: Authorization: Bearer <key or token>.',
    meaning:
      "The request carried no API key or access token, or one that is malformed, unknown, revoked or expired. An access token is also refused when it expires within the authorizer's cache lifetime (a cached answer would outlive it).",
    action:
      'Send a valid key or token as "Authorization: Bearer <key or token>". Retrying the same one will not help: get a key from the portal, or sign in and rotate yours; get a fresh, longer-lived token from your identity provider.',
  },
  too_many_requests: {
    status: 429,
    title: 'Too many requests',
    detail: 'Slow down and retry after the Retry-After delay.',
    meaning: 'The API is receiving more requests than its throttling allows.',
    action: 'Wait for the number of seconds in the Retry-After header, then retry with backoff.',
  },
  service_unavailable: {
    status: 503,
    title: 'Service unavailable',
    detail: 'The paywall could not check your access right now. Retry shortly.',
    meaning: 'The paywall could not read your payment standing in time. It never answers 402 or lets a request through when it cannot check.',
    action: 'Retry after the Retry-After delay. Your key and subscription are not affected.',
  },
} as const satisfies Record<string, Problem>;
export type OtherProblem = keyof typeof OTHER_PROBLEMS;

export type ProblemType = PaymentReason | OtherProblem;
const PROBLEMS: Readonly<Record<ProblemType, Problem>> = { ...PAYMENT_PROBLEMS, ...OTHER_PROBLEMS };
export const PROBLEM_TYPES = Object.keys(PROBLEMS) as readonly ProblemType[];

export const isProblemType = (value: string): value is ProblemType => Object.hasOwn(PROBLEMS, value);
export const isPaymentReason = (value: string): value is PaymentReason => Object.hasOwn(PAYMENT_PROBLEMS, value);
export const problemInfo = (type: ProblemType): Problem => PROBLEMS[type];

/** Makes a string safe to substitute into a JSON string literal without escaping. */
export function jsonSafe(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/["\\\u0000-\u001f\u2028\u2029]/g, '');
}
