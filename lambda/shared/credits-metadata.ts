/**
 * The metadata a purchase of credits carries to the webhook, on a Checkout Session (the portal's pack
 * checkout, a Payment Link) or a PaymentIntent (an auto top-up): the units bought, and the lifetime of
 * their grant (`90d`: it expires that long after the payment is recorded).
 */
export const CREDITS_METADATA = 'tollgate_credits';
export const CREDITS_EXPIRES_IN_METADATA = 'tollgate_expires_in';
