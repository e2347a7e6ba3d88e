import { keyMatchesHash, type ParsedApiKey } from './api-key';
import { keyState, type CustomerRecord } from './record';

/**
 * The one key-authentication rule, for the authorizer (every call) and the portal (sign-in, and each
 * page of a session): the key is the customer's, active (record.ts `keyState`), and the customer is not
 * deleted in Stripe.
 */

/** Why a key does not authenticate (the authorizer logs and counts it; callers only ever see 401). */
export type KeyRefusal = 'unknown_key' | 'revoked_key' | 'expired_key' | 'deleted_customer';

/** A key that authenticated before (a portal session names it by id): still active, its customer not deleted. */
export function keyRefusal(customer: CustomerRecord | undefined, keyId: string, at: Date): KeyRefusal | undefined {
  const stored = customer?.apiKeys?.[keyId];
  if (customer === undefined || stored === undefined) return 'unknown_key';
  return refusalOf(customer, keyState(stored, at));
}

/** A presented key against the customer's item, read with at least that key: undefined when it authenticates. */
export function authenticateKey(customer: CustomerRecord | undefined, key: string, parsed: ParsedApiKey, at: Date): KeyRefusal | undefined {
  const stored = customer?.apiKeys?.[parsed.keyId];
  if (customer === undefined || stored === undefined || !keyMatchesHash(key, stored.hash)) return 'unknown_key';
  return refusalOf(customer, keyState(stored, at));
}

function refusalOf(customer: CustomerRecord, state: ReturnType<typeof keyState>): KeyRefusal | undefined {
  if (state !== 'active') return state === 'revoked' ? 'revoked_key' : 'expired_key';
  // customer.deleted: the customer is gone from Stripe, so its keys no longer authenticate.
  if (customer.deleted === true) return 'deleted_customer';
  return undefined;
}
