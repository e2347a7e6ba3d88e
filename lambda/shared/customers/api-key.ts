import { createHash, timingSafeEqual } from 'node:crypto';
import { BASE62_ALPHABET as ALPHABET, randomBase62 } from '../random';
import { crc32 } from 'node:zlib';

/**
 * API key format:
 *
 *   tg_<env>_<customerId>_<keyId><secret><checksum>
 *   tg_test_cus_NffrFeUfNV2Hib_4fQ9xk2B7uV0pZc1qLw8eRtY5nMdA3sK0bX9
 *
 * - `tg_live_` / `tg_test_` says what the string is (and lets secret scanners find it).
 * - The Stripe customer id is in the key so that the authorizer reads the customer's item (payment
 *   state and key hashes together) in one GetItem.
 * - keyId: 8 base62 characters, public, names the key in lists and logs.
 * - secret: 22 base62 characters (131 bits from the CSPRNG).
 * - checksum: CRC-32 of everything before it, 6 base62 characters: a typo or garbage is rejected
 *   before any database read.
 *
 * Only SHA-256 of the whole key is stored.
 */

export const KEY_ENVIRONMENTS = ['live', 'test'] as const;
export type KeyEnvironment = (typeof KEY_ENVIRONMENTS)[number];

const KEY_ID_LENGTH = 8;
const SECRET_LENGTH = 22;
const CHECKSUM_LENGTH = 6;
const BODY_LENGTH = KEY_ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH;
/** Stripe customer ids (`cus_…`); underscores allowed after the prefix for hand-made test ids. */
export const CUSTOMER_ID = /^cus_[A-Za-z0-9_]{1,64}$/;
export const KEY_ID = /^[0-9A-Za-z]{8}$/;
const KEY_SHAPE = /^tg_(live|test)_(cus_[A-Za-z0-9_]{1,64})_([0-9A-Za-z]{36})$/;
/** Longest possible key; anything longer is rejected without parsing. */
export const MAX_KEY_LENGTH = 'tg_test_'.length + 4 + 64 + 1 + BODY_LENGTH;

export interface ParsedApiKey {
  readonly environment: KeyEnvironment;
  readonly customerId: string;
  readonly keyId: string;
}

export interface IssuedApiKey extends ParsedApiKey {
  /** The key itself: shown once, never stored. */
  readonly key: string;
  readonly hash: string;
}

function base62Fixed(value: number, length: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < length; i++) {
    out = ALPHABET[rest % 62]! + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

function checksum(text: string): string {
  return base62Fixed(crc32(text), CHECKSUM_LENGTH);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares a presented key with a stored hash in constant time. */
export function keyMatchesHash(key: string, storedHash: string): boolean {
  const presented = Buffer.from(hashApiKey(key), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

export function issueApiKey(customerId: string, environment: KeyEnvironment = 'test'): IssuedApiKey {
  if (!CUSTOMER_ID.test(customerId)) {
    throw new Error(`invalid customer id "${customerId}": expected a Stripe customer id such as cus_NffrFeUfNV2Hib`);
  }
  const keyId = randomBase62(KEY_ID_LENGTH);
  const unchecked = `tg_${environment}_${customerId}_${keyId}${randomBase62(SECRET_LENGTH)}`;
  const key = unchecked + checksum(unchecked);
  return { key, keyId, customerId, environment, hash: hashApiKey(key) };
}

/** Parses a presented key; undefined for anything malformed or with a wrong checksum. Reads nothing. */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  if (key.length > MAX_KEY_LENGTH) return undefined;
  const match = KEY_SHAPE.exec(key);
  if (!match) return undefined;
  const body = match[3]!;
  const unchecked = key.slice(0, key.length - CHECKSUM_LENGTH);
  if (body.slice(-CHECKSUM_LENGTH) !== checksum(unchecked)) return undefined;
  return {
    environment: match[1] as KeyEnvironment,
    customerId: match[2]!,
    keyId: body.slice(0, KEY_ID_LENGTH),
  };
}

/** A non-secret label for people and logs: `tg_test_…_4fQ9xk2B`. */
export function describeKey(parsed: ParsedApiKey): string {
  return `tg_${parsed.environment}_…_${parsed.keyId}`;
}
