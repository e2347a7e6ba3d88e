import { KEY_ID } from './api-key';
import { SWEEP_WALLET_ATTRIBUTES } from './sweep-mark';
import { WALLET_ATTRIBUTES } from './wallet';
import type { BudgetRecord } from '../budgets';
import type { AgentPaymentMarker } from '../agents/first-call';
import { TOP_UP_STATES, type TopUp, type TopUpState } from './top-up';
import { isRecoveryVia, type PaymentRecoveryMarker } from '../alerts/recovered';
import { isPaymentReason } from '../problems';
import {
  isSubscriptionStatus,
  USAGE_BLOCKS,
  type ApiKeyRecord,
  type CustomerRecord,
  type InvoiceEntry,
  type PayerEntitlements,
  type PeriodUsageEntry,
  type SubscriptionEntry,
  type UsageBlock,
} from './record';

/**
 * The customers-table item: one attribute per CustomerRecord field, under the field's own name, except
 * the API keys: each key is a top-level attribute `key_<keyId>`, so that the authorizer projects only the
 * presented key and key management writes a key without a parent map to create first. The table below
 * declares every attribute once; the authorizer's projection, the webhook's projection, the decoder and
 * the access signature all derive from it.
 */

/** A stored customer item fails validation: the authorizer answers 503, never Allow or 402. */
export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError';
}

export const KEY_ATTRIBUTE_PREFIX = 'key_';

/**
 * Bounds that keep one item well under DynamoDB's 400 KB. Worst case (names plus values, numbers at
 * 21 bytes, map elements at 1 byte each, ids at their parser limits: 64 for subscription and invoice ids,
 * 273 for a watermark with a 255-character event id):
 *
 *   subscription entry  1 + 64 + 3 + 25 status + 205 plan + 19 cancel + 38 period + 283 watermark  =   638
 *   pastDue entry       1 + 64 + 21                                                                 =    86
 *   invoice entry       1 + 64 + 3 + 74 id + 283 watermark + 34 due + 23 action + 511 url           =   993
 *   usage counter       1 + 64 + 25 used + 30 end + 32 start + 209 plan + 28 prevEnd + 29 prevUsed =   418
 *   × 100 tracked subscriptions (live and recently terminal)                                         213,500
 *   entitlements        3 + 500 × (1 + 200)                                                          100,503
 *   API keys            20 × (12 + 3 + 69 hash + 69 name + 3 × 34 times + 19 replacedBy)               5,480
 *   the rest            customerId, watermarks, flags, times                                        <  1,000
 *                                                                                                  ≈ 321 KB
 */
export const ITEM_LIMITS = {
  /** Keys that can still authenticate; revoked and expired keys are pruned whenever a key is written. */
  liveKeys: 20,
  keyNameLength: 64,
  /** Entries in `subscriptions` (and in `invoices`): live subscriptions and terminal ones not yet forgotten. */
  trackedSubscriptions: 100,
  entitlements: 500,
  planLength: 200,
  paymentUrlLength: 500,
  /**
   * A terminal subscription (and an invoice entry of no subscription) is forgotten this long after its
   * last event: Stripe retries for 3 days and resends only events of the last 30 days, so no stale event
   * of it can arrive any more. The newest terminal subscription is kept for the 402 reason.
   */
  forgetAfterSeconds: 31 * 24 * 60 * 60,
} as const;

type Decoder<T> = (value: unknown, at: string, customerId: string) => T;
/** Every field of T, optional ones included (so a decoder cannot forget one). */
type Complete<T> = { [K in keyof Required<T>]: T[K] };

function fail(customerId: string, at: string, expected: string): never {
  throw new CorruptRecordError(`customer ${customerId}: attribute ${at} is not ${expected}: fix or remove it in the customers table`);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Set);

/** NULL and absent both mean "not set" (an UpdateItem may SET an attribute to null to clear it). */
const optional =
  <T>(decode: Decoder<T>): Decoder<T | undefined> =>
  (value, at, id) =>
    value === undefined || value === null ? undefined : decode(value, at, id);

const text: Decoder<string> = (v, at, id) => (typeof v === 'string' ? v : fail(id, at, 'a string'));
const number: Decoder<number> = (v, at, id) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(id, at, 'a number'));
/** A count of usage units: a whole number ≥ 0. */
const units: Decoder<number> = (v, at, id) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(id, at, 'a whole number ≥ 0'));
/** Credits: log-based metering may draw a balance below 0 (the calls that got through before the block). */
const integer: Decoder<number> = (v, at, id) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : fail(id, at, 'a whole number'));
const boolean: Decoder<boolean> = (v, at, id) => (typeof v === 'boolean' ? v : fail(id, at, 'a boolean'));
const time: Decoder<string> = (v, at, id) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : fail(id, at, 'an ISO-8601 time'));
const status: Decoder<SubscriptionEntry['status']> = (v, at, id) => (isSubscriptionStatus(v) ? v : fail(id, at, 'a Stripe subscription status'));
const isUsageBlock = (v: unknown): v is UsageBlock => (USAGE_BLOCKS as readonly unknown[]).includes(v);
const usageBlock: Decoder<UsageBlock> = (v, at, id) => (isUsageBlock(v) ? v : fail(id, at, '"credits_exhausted" or "quota_exceeded"'));
const SHA256_HEX = /^[0-9a-f]{64}$/;
const sha256: Decoder<string> = (v, at, id) => (typeof v === 'string' && SHA256_HEX.test(v) ? v : fail(id, at, 'a SHA-256 hex digest'));

/** A list is what the webhook writes; a string set is accepted too (hand edits, other tools). */
const stringList: Decoder<string[]> = (v, at, id) => {
  const values: unknown[] = Array.isArray(v) ? v : v instanceof Set ? [...(v as Set<unknown>)] : fail(id, at, 'a list of strings');
  return values.every((s): s is string => typeof s === 'string') ? values : fail(id, at, 'a list of strings');
};

/** A map attribute keyed by id; absent means empty. */
const mapOf =
  <T>(decode: Decoder<T>): Decoder<Record<string, T>> =>
  (value, at, id) => {
    if (value === undefined || value === null) return {};
    if (!isObject(value)) fail(id, at, 'a map');
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, decode(entry, `${at}.${key}`, id)]));
  };

const asMap = (v: unknown, at: string, id: string): Record<string, unknown> => (isObject(v) ? v : fail(id, at, 'a map'));

const agentPaymentMarker: Decoder<AgentPaymentMarker> = (v, at, id) => {
  const m = asMap(v, at, id);
  const protocol = m.protocol === 'mpp' || m.protocol === 'x402' ? m.protocol : fail(id, `${at}.protocol`, '"mpp" or "x402"');
  return { protocol, paidAt: number(m.paidAt, `${at}.paidAt`, id), challengedAt: optional(number)(m.challengedAt, `${at}.challengedAt`, id) } satisfies Complete<AgentPaymentMarker>;
};

const topUpState: Decoder<TopUpState> = (v, at, id) => ((TOP_UP_STATES as readonly unknown[]).includes(v) ? (v as TopUpState) : fail(id, at, '"armed", "charging" or "failed"'));

const topUp: Decoder<TopUp> = (v, at, id) => {
  const m = asMap(v, at, id);
  const opt = <T>(decode: Decoder<T>, name: string): T | undefined => optional(decode)(m[name], `${at}.${name}`, id);
  return {
    pack: opt(text, 'pack'),
    credits: opt(units, 'credits'),
    price: opt(text, 'price'),
    expiresIn: opt(text, 'expiresIn'),
    below: opt(units, 'below'),
    method: opt(text, 'method'),
    methodLabel: opt(text, 'methodLabel'),
    cardSetAt: opt(number, 'cardSetAt'),
    state: topUpState(m.state, `${at}.state`, id),
    attempt: opt(text, 'attempt'),
    at: opt(number, 'at'),
    failure: opt(text, 'failure'),
  } satisfies Complete<TopUp>;
};

const paymentRecoveryMarker: Decoder<PaymentRecoveryMarker> = (v, at, id) => {
  const m = asMap(v, at, id);
  return {
    eventId: text(m.eventId, `${at}.eventId`, id),
    eventType: text(m.eventType, `${at}.eventType`, id),
    via: isRecoveryVia(m.via) ? m.via : fail(id, `${at}.via`, '"invoice", "subscription" or "credits"'),
    reason: typeof m.reason === 'string' && isPaymentReason(m.reason) ? m.reason : fail(id, `${at}.reason`, 'a 402 reason'),
    paidAt: number(m.paidAt, `${at}.paidAt`, id),
    restoredAt: number(m.restoredAt, `${at}.restoredAt`, id),
  } satisfies Complete<PaymentRecoveryMarker>;
};

const subscriptionEntry: Decoder<SubscriptionEntry> = (v, at, id) => {
  const m = asMap(v, at, id);
  const field = (name: string): unknown => m[name];
  return {
    status: status(field('status'), `${at}.status`, id),
    plan: optional(text)(field('plan'), `${at}.plan`, id),
    cancelAtPeriodEnd: optional(boolean)(field('cancelAtPeriodEnd'), `${at}.cancelAtPeriodEnd`, id),
    currentPeriodStart: optional(number)(field('currentPeriodStart'), `${at}.currentPeriodStart`, id),
    currentPeriodEnd: optional(number)(field('currentPeriodEnd'), `${at}.currentPeriodEnd`, id),
    watermark: text(field('watermark'), `${at}.watermark`, id),
    payer: optional(text)(field('payer'), `${at}.payer`, id),
  } satisfies Complete<SubscriptionEntry>;
};

const periodUsageEntry: Decoder<PeriodUsageEntry> = (v, at, id) => {
  const m = asMap(v, at, id);
  return {
    used: units(m.used, `${at}.used`, id),
    periodEnd: number(m.periodEnd, `${at}.periodEnd`, id),
    periodStart: optional(number)(m.periodStart, `${at}.periodStart`, id),
    plan: optional(text)(m.plan, `${at}.plan`, id),
    prevEnd: optional(number)(m.prevEnd, `${at}.prevEnd`, id),
    prevUsed: optional(units)(m.prevUsed, `${at}.prevUsed`, id),
  } satisfies Complete<PeriodUsageEntry>;
};

const payerEntitlements: Decoder<PayerEntitlements> = (v, at, id) => {
  const m = asMap(v, at, id);
  return { entitlements: stringList(m.entitlements, `${at}.entitlements`, id), watermark: text(m.watermark, `${at}.watermark`, id) } satisfies Complete<PayerEntitlements>;
};

const invoiceEntry: Decoder<InvoiceEntry> = (v, at, id) => {
  const m = asMap(v, at, id);
  return {
    invoiceId: text(m.invoiceId, `${at}.invoiceId`, id),
    watermark: text(m.watermark, `${at}.watermark`, id),
    pastDueSince: optional(number)(m.pastDueSince, `${at}.pastDueSince`, id),
    paymentActionRequired: optional(boolean)(m.paymentActionRequired, `${at}.paymentActionRequired`, id),
    paymentUrl: optional(text)(m.paymentUrl, `${at}.paymentUrl`, id),
  } satisfies Complete<InvoiceEntry>;
};

const apiKey: Decoder<ApiKeyRecord> = (v, at, id) => {
  const m = asMap(v, at, id);
  return {
    hash: sha256(m.hash, `${at}.hash`, id),
    createdAt: time(m.createdAt, `${at}.createdAt`, id),
    name: optional(text)(m.name, `${at}.name`, id),
    expiresAt: optional(time)(m.expiresAt, `${at}.expiresAt`, id),
    revokedAt: optional(time)(m.revokedAt, `${at}.revokedAt`, id),
    replacedBy: optional(text)(m.replacedBy, `${at}.replacedBy`, id),
  } satisfies Complete<ApiKeyRecord>;
};

export type Reader = 'authorizer' | 'webhook' | 'metering';
/** The wallet's budget fields are merged in by the readers (wallet.ts withWallet): not attributes of this item. */
type WalletFields = keyof BudgetRecord | 'grants' | 'walletBalance';
type Declared = Exclude<keyof CustomerRecord, 'customerId' | 'apiKeys' | WalletFields>;
/** A stored attribute with a fixed name: the partition key or a declared one (the keys are `key_<keyId>`). */
export type CustomerAttribute = 'customerId' | Declared;

interface Attribute<T> {
  /** Who reads it: the authorizer (one GetItem per decision), the webhook (its state read), metering (its usage read). */
  readonly readBy: readonly Reader[];
  /** Metering writes it: the stack lets metering write these attributes only (IAM `dynamodb:Attributes`). */
  readonly meteringWrites?: true;
  readonly decode: Decoder<T>;
  /** Its part in what a decision and its cached 402 body depend on; absent: it changes neither. */
  readonly access?: (value: T) => unknown;
}

const BOTH: readonly Reader[] = ['authorizer', 'webhook'];
/** Read by all three: metering settles usage against the subscriptions' plans and periods. */
const ALL: readonly Reader[] = ['authorizer', 'webhook', 'metering'];
const sortedEntries = <T, P>(map: Readonly<Record<string, T>>, pick: (value: T) => P): Array<[string, P]> =>
  Object.keys(map)
    .sort()
    .map((key) => [key, pick(map[key]!)]);

/** Every attribute of the item but the key attributes, declared once. */
export const CUSTOMER_ATTRIBUTES: { readonly [K in Declared]: Attribute<CustomerRecord[K]> } = {
  subscriptions: {
    readBy: ALL,
    decode: mapOf(subscriptionEntry),
    // The period end matters only to a subscription set to cancel (access runs until then): a renewal
    // moves it and must not flush.
    access: (subs) => sortedEntries(subs, (s) => [s.status, s.plan ?? null, s.cancelAtPeriodEnd === true ? (s.currentPeriodEnd ?? null) : null]),
  },
  invoices: {
    readBy: BOTH,
    decode: mapOf(invoiceEntry),
    // A settled invoice asks nothing of the customer: as if there were none.
    access: (invoices) =>
      sortedEntries(invoices, (i) => [i.pastDueSince ?? null, i.paymentActionRequired ?? null, i.paymentUrl ?? null]).filter(
        ([, asked]) => asked.some((value) => value !== null),
      ),
  },
  // Metering reads it with the subscriptions: a past_due subscription's entry is only whole with it.
  pastDue: { readBy: ALL, decode: mapOf(number), access: (pastDue) => sortedEntries(pastDue, (t) => t) },
  entitlements: { readBy: BOTH, decode: optional(stringList), access: (keys) => (keys === undefined ? null : [...keys].sort()) },
  entitlementsWatermark: { readBy: ['webhook'], decode: optional(text) },
  // Absent until a linked payer's entitlements arrive (the webhook creates it then).
  payerEntitlements: {
    readBy: BOTH,
    decode: optional(mapOf(payerEntitlements)),
    access: (payers) => (payers === undefined ? null : sortedEntries(payers, (p) => [...p.entitlements].sort())),
  },
  usageBlock: { readBy: BOTH, decode: optional(usageBlock), access: (block) => block ?? null },
  usageUpdatedAt: { readBy: [], decode: optional(time) },
  // A decision on a cost route depends on whether credits remain, on the period the counter counts and
  // on whether it has counted anything (a renewal resets it): not on every unit metering adds.
  // Legacy: the balance lives on the wallet item (wallet.ts); this attribute is its starting point until
  // the wallet's first write, and decisions see the wallet's balance here (decision-reads.ts, store.ts).
  credits: { readBy: ALL, decode: optional(integer), access: (credits) => (credits === undefined ? null : credits > 0) },
  // Absent (not empty) on an item of an older tollgate: its counter is the flat attributes below.
  // What a decision depends on: each counter's period and whether it has counted anything.
  periodUsage: {
    readBy: ALL,
    meteringWrites: true,
    decode: optional(mapOf(periodUsageEntry)),
    access: (usage) => (usage === undefined ? null : sortedEntries(usage, (u) => [u.periodEnd, u.used > 0])),
  },
  periodUsed: { readBy: ALL, meteringWrites: true, decode: optional(units), access: (used) => (used ?? 0) > 0 },
  usagePeriodEnd: { readBy: ALL, meteringWrites: true, decode: optional(number), access: (end) => end ?? null },
  prevPeriodEnd: { readBy: ['metering'], meteringWrites: true, decode: optional(number) },
  prevPeriodUsed: { readBy: ['metering'], meteringWrites: true, decode: optional(units) },
  meteredWindow: { readBy: ['metering'], meteringWrites: true, decode: optional(number) },
  // Metering removes it at the first counted call after the payment; nothing decides on it.
  agentPayment: { readBy: ['metering'], meteringWrites: true, decode: optional(agentPaymentMarker) },
  // Metering claims and settles its charges; a decision depends only on why the last one failed (the 402 says it).
  topUp: { readBy: ALL, meteringWrites: true, decode: optional(topUp), access: (t) => (t?.state === 'failed' ? (t.failure ?? null) : null) },
  // The webhook sets it with the payment that lifted a 402; metering removes it at the first counted call after.
  paymentRecovery: { readBy: ['metering'], meteringWrites: true, decode: optional(paymentRecoveryMarker) },
  deleted: { readBy: BOTH, decode: optional(boolean), access: (deleted) => deleted ?? null },
  customerWatermark: { readBy: ['webhook'], decode: optional(text) },
  updatedAt: { readBy: [], decode: optional(time) },
  keysVersion: { readBy: [], decode: optional(number) },
};

const DECLARED = Object.keys(CUSTOMER_ATTRIBUTES) as Declared[];

/**
 * An attribute's name, for an expression: the compiler checks it against the record, so an expression
 * cannot name an attribute the table does not declare, and a rename finds every expression.
 */
export const attr = <K extends CustomerAttribute>(name: K): K => name;

/** A field's name inside an entry of a map attribute (`fieldOf<SubscriptionEntry>('watermark')`), checked the same way. */
export const fieldOf = <T>(name: Extract<keyof T, string>): string => name;

/**
 * What metering may write: the key its conditions name, the usage attributes, and the wallet's (its
 * balance, pending reservations and budgets; not the sweep's mark, which only reservations and the clock write).
 */
export const METERING_WRITE_ATTRIBUTES: readonly string[] = [
  attr('customerId'),
  ...DECLARED.filter((name) => CUSTOMER_ATTRIBUTES[name].meteringWrites === true),
  ...WALLET_ATTRIBUTES.filter((name) => name !== 'customerId' && !(SWEEP_WALLET_ATTRIBUTES as readonly string[]).includes(name)),
];

/** `key_<keyId>`; throws on a key id that is not 8 base62 characters. */
export function keyAttributeName(keyId: string): string {
  if (!KEY_ID.test(keyId)) throw new RangeError(`invalid key id "${keyId}": expected 8 letters or digits`);
  return KEY_ATTRIBUTE_PREFIX + keyId;
}

/** The attributes a reader reads, the partition key first. */
export const attributesReadBy = (reader: Reader): CustomerAttribute[] => [attr('customerId'), ...DECLARED.filter((name) => CUSTOMER_ATTRIBUTES[name].readBy.includes(reader))];

export interface Projection {
  readonly ProjectionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
}

/** What a reader reads, with placeholder names: several attribute names are DynamoDB reserved words. */
export function projectionFor(reader: Reader): Projection {
  const names = attributesReadBy(reader);
  return {
    ProjectionExpression: names.map((_, i) => `#a${i}`).join(','),
    ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
  };
}

const AUTHORIZER_READS = attributesReadBy('authorizer');
const AUTHORIZER_PROJECTION = projectionFor('authorizer');
const KEY_PLACEHOLDER = `#a${AUTHORIZER_READS.length}`;

/**
 * The authorizer's one read: payment state and the presented key only. The payment state's part is
 * built once: this runs on every decision.
 */
export const decisionProjection = (keyId: string): Projection => ({
  ProjectionExpression: `${AUTHORIZER_PROJECTION.ProjectionExpression},${KEY_PLACEHOLDER}`,
  // Object.assign, not a spread: V8 copies the names several times faster with it, on every decision.
  ExpressionAttributeNames: Object.assign({}, AUTHORIZER_PROJECTION.ExpressionAttributeNames, { [KEY_PLACEHOLDER]: keyAttributeName(keyId) }),
});

/** The webhook's state read: payment state and ordering, never a key hash. */
export const PAYMENT_STATE_PROJECTION: Projection = projectionFor('webhook');

/** Metering's usage read: the usage attributes and the subscriptions whose plans and periods they count against. */
export const METERING_PROJECTION: Projection = projectionFor('metering');

/**
 * Validates a customers-table item (as the DynamoDB document client unmarshalls it) and decodes it.
 * A declared attribute of the wrong shape throws CorruptRecordError; attributes this table does not
 * declare are not part of the record and are left alone.
 */
export function decodeCustomerItem(item: Record<string, unknown>): CustomerRecord {
  const customerId = item.customerId;
  if (typeof customerId !== 'string' || customerId === '') {
    throw new CorruptRecordError('a customers-table item has no customerId string: fix or remove it');
  }
  const field = <K extends Declared>(name: K): CustomerRecord[K] => {
    const attribute: Attribute<CustomerRecord[K]> = CUSTOMER_ATTRIBUTES[name];
    return attribute.decode(item[name], name, customerId);
  };
  const apiKeys: Record<string, ApiKeyRecord> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(KEY_ATTRIBUTE_PREFIX)) continue;
    const keyId = name.slice(KEY_ATTRIBUTE_PREFIX.length);
    if (!KEY_ID.test(keyId)) fail(customerId, name, 'named key_<8 letters or digits>');
    apiKeys[keyId] = apiKey(value, name, customerId);
  }
  const record = {
    customerId,
    subscriptions: field('subscriptions'),
    invoices: field('invoices'),
    pastDue: field('pastDue'),
    entitlements: field('entitlements'),
    entitlementsWatermark: field('entitlementsWatermark'),
    payerEntitlements: field('payerEntitlements'),
    usageBlock: field('usageBlock'),
    usageUpdatedAt: field('usageUpdatedAt'),
    credits: field('credits'),
    periodUsage: field('periodUsage'),
    periodUsed: field('periodUsed'),
    usagePeriodEnd: field('usagePeriodEnd'),
    prevPeriodEnd: field('prevPeriodEnd'),
    prevPeriodUsed: field('prevPeriodUsed'),
    meteredWindow: field('meteredWindow'),
    agentPayment: field('agentPayment'),
    topUp: field('topUp'),
    paymentRecovery: field('paymentRecovery'),
    deleted: field('deleted'),
    customerWatermark: field('customerWatermark'),
    updatedAt: field('updatedAt'),
    keysVersion: field('keysVersion'),
    apiKeys,
  } satisfies Complete<Omit<CustomerRecord, WalletFields>>;
  for (const [id, entry] of Object.entries(record.subscriptions)) {
    // The webhook writes a past_due status and the start of its grace period in one update.
    if (entry.status === 'past_due' && record.pastDue[id] === undefined) fail(customerId, `pastDue.${id}`, 'set for a past_due subscription');
  }
  return record;
}

/** What the authorizer's decision (and its cached 402 body) depends on: equal signatures, no cache flush needed. */
export function accessSignature(record: CustomerRecord | undefined): string {
  const r = record ?? { customerId: '', subscriptions: {}, invoices: {}, pastDue: {} };
  return JSON.stringify(DECLARED.flatMap((name) => accessPart(name, r)));
}

function accessPart<K extends Declared>(name: K, record: CustomerRecord): unknown[] {
  const { access }: Attribute<CustomerRecord[K]> = CUSTOMER_ATTRIBUTES[name];
  return access === undefined ? [] : [[name, access(record[name])]];
}
