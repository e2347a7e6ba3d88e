import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The MPP ("Payment" HTTP authentication scheme) wire format tollgate speaks: challenges bound to their
 * content by HMAC, credentials, receipts. The same encoding `mppx` (the reference SDK) writes and reads:
 * the request is base64url (no padding) of its JCS form, the id is base64url(HMAC-SHA256(secret,
 * `realm|method|intent|request|expires|digest|[header|]opaque`)). Written here because the functions are
 * CommonJS and mppx is ESM-only; test/agents/mppx.integration.test.ts drives mppx itself against it.
 */

export const PAYMENT_SCHEME = 'Payment';
/** Where mppx sends a credential when `Authorization` carries the caller's own key. */
export const PAYMENT_AUTHORIZATION_HEADER = 'Payment-Authorization';
export const PAYMENT_RECEIPT_HEADER = 'Payment-Receipt';
/** The MPP problem types (RFC 9457 `type`). */
export const MPP_PROBLEM_BASE = 'https://paymentauth.org/problems';
export const MPP_PROBLEMS = ['payment-required', 'malformed-credential', 'invalid-challenge', 'payment-expired', 'verification-failed', 'payment-failed'] as const;
export type MppProblem = (typeof MPP_PROBLEMS)[number];

/** A challenge as it travels: `request` decoded. */
export interface Challenge {
  readonly id: string;
  readonly realm: string;
  readonly method: string;
  readonly intent: string;
  readonly request: Readonly<Record<string, unknown>>;
  readonly expires?: string;
  readonly description?: string;
  readonly digest?: string;
  /** The field the credential is to be sent in, when not `Authorization`. */
  readonly header?: string;
  readonly opaque?: string;
}

export interface Credential {
  readonly challenge: Challenge;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly source?: string;
}

/** RFC 8785 (JCS) for the values a request holds: objects with sorted keys, arrays, strings, integers, booleans. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');
export const fromBase64url = (value: string): string => Buffer.from(value, 'base64url').toString('utf8');
export const encodeRequest = (request: Readonly<Record<string, unknown>>): string => base64url(canonicalJson(request));

const isDefaultHeader = (header: string | undefined): boolean => header === undefined || header.toLowerCase() === 'authorization';

function bindingInput(c: Omit<Challenge, 'id'>): string {
  const values = [c.realm, c.method, c.intent, encodeRequest(c.request), c.expires ?? '', c.digest ?? ''];
  if (!isDefaultHeader(c.header)) values.push(c.header!);
  values.push(c.opaque ?? '');
  return values.join('|');
}

export const challengeId = (secret: string, c: Omit<Challenge, 'id'>): string => createHmac('sha256', secret).update(bindingInput(c)).digest('base64url');

/** A challenge whose id binds its content. */
export function createChallenge(secret: string, c: Omit<Challenge, 'id'>): Challenge {
  return { id: challengeId(secret, c), ...c };
}

/** Whether the challenge's id is the HMAC of its content under `secret` (constant time). */
export function verifyChallenge(secret: string, c: Challenge): boolean {
  const expected = Buffer.from(challengeId(secret, c));
  const actual = Buffer.from(c.id);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function authParam(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new RangeError(`the challenge's ${name} holds a line break`);
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** One `WWW-Authenticate` challenge, parameters in mppx's order. */
export function serializeChallenge(c: Challenge): string {
  const parts = [authParam('id', c.id), authParam('realm', c.realm), authParam('method', c.method), authParam('intent', c.intent), authParam('request', encodeRequest(c.request))];
  if (c.description !== undefined) parts.push(authParam('description', c.description));
  if (c.digest !== undefined) parts.push(authParam('digest', c.digest));
  if (c.expires !== undefined) parts.push(authParam('expires', c.expires));
  if (!isDefaultHeader(c.header)) parts.push(authParam('header', c.header!));
  if (c.opaque !== undefined) parts.push(authParam('opaque', c.opaque));
  return `${PAYMENT_SCHEME} ${parts.join(', ')}`;
}

export class MalformedCredentialError extends Error {
  override readonly name = 'MalformedCredentialError';
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const optionalString = (value: unknown, name: string): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new MalformedCredentialError(`the credential's challenge.${name} is not a string`);
  return value;
};

/** At most this long: a credential is a few hundred bytes. */
export const MAX_CREDENTIAL_LENGTH = 8192;

/** `Payment <base64url JSON>` (the value of `Authorization` or `Payment-Authorization`) → the credential; throws MalformedCredentialError. */
export function parseCredential(headerValue: string): Credential {
  if (headerValue.length > MAX_CREDENTIAL_LENGTH) throw new MalformedCredentialError('the credential is longer than any tollgate accepts');
  const match = /^payment\s+([A-Za-z0-9_-]+={0,2})\s*$/i.exec(headerValue.trim());
  if (match === null) throw new MalformedCredentialError('expected "Payment <base64url credential>"');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromBase64url(match[1]!));
  } catch {
    throw new MalformedCredentialError('the credential is not base64url JSON');
  }
  if (!isRecord(parsed) || !isRecord(parsed.challenge) || !isRecord(parsed.payload)) throw new MalformedCredentialError('the credential has no challenge or payload object');
  const c = parsed.challenge;
  const [id, realm, method, intent, request] = [c.id, c.realm, c.method, c.intent, c.request];
  if (typeof id !== 'string' || typeof realm !== 'string' || typeof method !== 'string' || typeof intent !== 'string' || typeof request !== 'string') {
    throw new MalformedCredentialError("the credential's challenge lacks id, realm, method, intent or request");
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(fromBase64url(request));
  } catch {
    throw new MalformedCredentialError("the credential's challenge.request is not base64url JSON");
  }
  if (!isRecord(decoded)) throw new MalformedCredentialError("the credential's challenge.request is not an object");
  const fields = { expires: optionalString(c.expires, 'expires'), description: optionalString(c.description, 'description'), digest: optionalString(c.digest, 'digest'), header: optionalString(c.header, 'header'), opaque: optionalString(c.opaque, 'opaque') };
  const challenge: Challenge = {
    id,
    realm,
    method,
    intent,
    request: decoded,
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  };
  return { challenge, payload: parsed.payload, ...(typeof parsed.source === 'string' ? { source: parsed.source } : {}) };
}

/** The client side (tollgate's client helper and the tests): `Payment <base64url JSON>`, request re-encoded as the challenge carried it. */
export function serializeCredential(credential: Credential): string {
  const { request, ...challenge } = credential.challenge;
  return `${PAYMENT_SCHEME} ${base64url(JSON.stringify({ challenge: { ...challenge, request: encodeRequest(request) }, payload: credential.payload, ...(credential.source === undefined ? {} : { source: credential.source }) }))}`;
}

export interface Receipt {
  readonly method: string;
  readonly reference: string;
  readonly status: 'success';
  readonly timestamp: string;
  readonly externalId?: string;
}

export const serializeReceipt = (receipt: Receipt): string => base64url(JSON.stringify(receipt));
