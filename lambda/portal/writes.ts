import { FLUSH_LIMIT_ITEM_PREFIX, OUTBOX_ITEM_PREFIX } from '../shared/aws/flush-coordinator';
import { ALERT_PREFIX } from '../shared/alerts/outbox';
import { BUDGET_WALLET_ATTRIBUTES } from '../shared/customers/budgets-reservation';
import { attr, KEY_ATTRIBUTE_PREFIX } from '../shared/customers/item';
import { WALLET_LEADING_KEYS } from '../shared/customers/wallet';
import { ISSUANCE_ITEM_PREFIX } from './issuance';
import { SESSION_ITEM_PREFIX } from './sessions';

/**
 * What the portal may write, declared once: the stack grants exactly this (IAM `dynamodb:LeadingKeys`
 * and `dynamodb:Attributes`, lib/tollgate-stack.ts), and a test sends every write the portal makes
 * through it. A bug or a forged request in the portal cannot touch an event the webhook applied, nor a
 * subscription, a balance or an entitlement; on a wallet item it writes the budgets alone.
 */

/** The ledger items it writes, by key prefix: checkout claims, sessions, the stage flusher's rotation limit and outbox, and a failed top-up's alert. */
export const PORTAL_LEDGER_PREFIXES = [ISSUANCE_ITEM_PREFIX, SESSION_ITEM_PREFIX, FLUSH_LIMIT_ITEM_PREFIX, OUTBOX_ITEM_PREFIX, ALERT_PREFIX] as const;

/** The customer attributes its writes name: the key, the keys' version, `key_<keyId>`, and the auto top-up (top-up.ts). */
export const PORTAL_CUSTOMER_WRITE_ATTRIBUTES = [attr('customerId'), attr('keysVersion'), `${KEY_ATTRIBUTE_PREFIX}*`, attr('topUp')] as const;

/** The budget form's writes (budget.ts): the budgets on the customer's wallet item, nothing else of it, and no other item. */
export const PORTAL_BUDGET_WRITE_ATTRIBUTES = ['customerId', ...BUDGET_WALLET_ATTRIBUTES] as const;
export const PORTAL_BUDGET_LEADING_KEYS = WALLET_LEADING_KEYS;
