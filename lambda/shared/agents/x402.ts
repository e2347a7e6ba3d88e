import type { AgentOffer } from './offers';

/**
 * x402 v2 (docs/agents.md): what a 402 carries in `PAYMENT-REQUIRED` (base64 JSON with `accepts`), what
 * a buyer sends back (`PAYMENT-SIGNATURE`, or v1's `X-PAYMENT`), what success carries (`PAYMENT-RESPONSE`),
 * and the facilitator that verifies and settles a payment. Only the `exact` scheme on an EVM network
 * (an EIP-3009 authorization of a USD stablecoin): a pack priced in USD cents is sold for the same
 * amount of the asset. Amounts come from configuration only.
 */

export const PAYMENT_REQUIRED_HEADER = 'PAYMENT-REQUIRED';
export const PAYMENT_SIGNATURE_HEADER = 'PAYMENT-SIGNATURE';
export const X_PAYMENT_HEADER = 'X-PAYMENT';
export const PAYMENT_RESPONSE_HEADER = 'PAYMENT-RESPONSE';
export const X402_VERSION = 2;

/** `tollgate:agentPayments.x402`. */
export interface X402Settings {
  /** CAIP-2, e.g. `eip155:8453` (Base) or `eip155:84532` (Base Sepolia). */
  readonly network: string;
  /** The token contract (USDC). */
  readonly asset: string;
  /** The seller's address. */
  readonly payTo: string;
  /** The facilitator's base URL: `<url>/verify` and `<url>/settle`. */
  readonly facilitatorUrl: string;
  /** The asset's EIP-712 domain name and version (USDC: "USD Coin" / "2" on Base, "USDC" / "2" on Base Sepolia). */
  readonly assetName: string;
  readonly assetVersion: string;
  /** The asset's decimals (USDC: 6). */
  readonly decimals: number;
}

/** One `accepts` entry: what a payment must match. */
export interface PaymentRequirements {
  readonly scheme: 'exact';
  readonly network: string;
  readonly amount: string;
  readonly asset: string;
  readonly payTo: string;
  readonly maxTimeoutSeconds: number;
  readonly extra: { readonly name: string; readonly version: string; readonly offer: string };
}

/**
 * How long a signed authorization may stay unsettled: the client sets `validBefore` to now plus this.
 * Long enough for a slow agent between signing and sending (mppx#395's 30–90 s), short enough that a
 * lost payment does not stay spendable for long.
 */
export const X402_TIMEOUT_SECONDS = 600;

/** Whether a pack can be sold over x402: priced in USD (the asset is a USD stablecoin of ≥ 2 decimals). */
export const soldOverX402 = (x402: X402Settings | undefined, pack: AgentOffer): boolean => x402 !== undefined && pack.currency === 'usd' && x402.decimals >= 2;

/** The requirement that sells `pack`: the pack's cents in the asset's atomic units. */
export function packRequirement(x402: X402Settings, pack: AgentOffer): PaymentRequirements {
  return {
    scheme: 'exact',
    network: x402.network,
    amount: (BigInt(pack.amount) * 10n ** BigInt(x402.decimals - 2)).toString(),
    asset: x402.asset,
    payTo: x402.payTo,
    maxTimeoutSeconds: X402_TIMEOUT_SECONDS,
    extra: { name: x402.assetName, version: x402.assetVersion, offer: pack.id },
  };
}

export interface PaymentRequired {
  readonly x402Version: 2;
  readonly error: string;
  readonly resource: { readonly url: string; readonly description: string; readonly mimeType: string };
  readonly accepts: readonly PaymentRequirements[];
}

/** The `PAYMENT-REQUIRED` object for packs bought at `resourceUrl` (the purchase route: a paid route cannot settle). */
export function paymentRequired(x402: X402Settings, packs: readonly AgentOffer[], resourceUrl: string, error: string): PaymentRequired {
  return {
    x402Version: X402_VERSION,
    error,
    resource: { url: resourceUrl, description: packs.map((p) => p.name).join(', '), mimeType: 'application/json' },
    accepts: packs.filter((p) => soldOverX402(x402, p)).map((p) => packRequirement(x402, p)),
  };
}

export const encodeHeader = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

/** A payment a buyer sent, as far as tollgate reads it. */
export interface PaymentPayload {
  readonly x402Version: number;
  /** v2: the requirement paid; v1 names scheme and network at the top. */
  readonly accepted?: Readonly<Record<string, unknown>>;
  readonly scheme?: string;
  readonly network?: string;
  readonly payload: { readonly signature: string; readonly authorization: Authorization };
  readonly [extra: string]: unknown;
}

export interface Authorization {
  readonly from: string;
  readonly to: string;
  readonly value: string;
  readonly validAfter: string;
  readonly validBefore: string;
  readonly nonce: string;
}

export class MalformedPaymentError extends Error {}

const HEX = /^0x[0-9a-fA-F]+$/;
const DIGITS = /^\d{1,78}$/;

/** `PAYMENT-SIGNATURE` / `X-PAYMENT`: base64 JSON of an `exact` EVM payment. Throws MalformedPaymentError, never anything else. */
export function decodePaymentHeader(value: string): PaymentPayload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.trim(), 'base64').toString('utf8'));
  } catch {
    throw new MalformedPaymentError('the payment header is not base64 JSON');
  }
  const p = parsed as Partial<PaymentPayload> | null;
  if (p === null || typeof p !== 'object' || (p.x402Version !== 1 && p.x402Version !== 2)) throw new MalformedPaymentError('the payment names no x402Version (1 or 2)');
  const auth = p.payload?.authorization as Partial<Authorization> | undefined;
  if (typeof p.payload?.signature !== 'string' || !HEX.test(p.payload.signature) || auth === undefined || typeof auth !== 'object') {
    throw new MalformedPaymentError('the payment carries no signed authorization (payload.signature, payload.authorization): this server takes the exact scheme on EVM');
  }
  const addresses = [auth.from, auth.to];
  const numbers = [auth.value, auth.validAfter, auth.validBefore];
  if (!addresses.every((a) => typeof a === 'string' && /^0x[0-9a-fA-F]{40}$/.test(a)) || !numbers.every((n) => typeof n === 'string' && DIGITS.test(n)) || typeof auth.nonce !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(auth.nonce)) {
    throw new MalformedPaymentError('the payment authorization is malformed (from, to, value, validAfter, validBefore, nonce)');
  }
  if (p.x402Version === 2 && (p.accepted === undefined || typeof p.accepted !== 'object')) throw new MalformedPaymentError('an x402 v2 payment names the requirement it pays (accepted)');
  return p as PaymentPayload;
}

/** Whether the payment is for exactly this requirement (v2: the requirement echoed; v1: scheme and network) and its authorization pays it. */
export function paysRequirement(payment: PaymentPayload, required: PaymentRequirements): boolean {
  const a = payment.payload.authorization;
  const same = (x: string, y: string): boolean => x.toLowerCase() === y.toLowerCase();
  if (payment.x402Version === 2) {
    const e = payment.accepted!;
    const fields: ReadonlyArray<keyof PaymentRequirements> = ['scheme', 'network', 'amount', 'asset', 'payTo'];
    if (!fields.every((f) => typeof e[f] === 'string' && same(e[f], required[f] as string))) return false;
  } else if (payment.scheme !== 'exact' || payment.network === undefined) {
    return false;
  }
  return same(a.to, required.payTo) && a.value === required.amount;
}

/** The facilitator's answers, as far as tollgate reads them. */
export interface VerifyResponse {
  readonly isValid: boolean;
  readonly invalidReason?: string;
  readonly payer?: string;
}
export interface SettleResponse {
  readonly success: boolean;
  readonly errorReason?: string;
  readonly transaction?: string;
  readonly network?: string;
  readonly payer?: string;
}

export interface Facilitator {
  verify(payment: PaymentPayload, required: PaymentRequirements): Promise<VerifyResponse>;
  settle(payment: PaymentPayload, required: PaymentRequirements): Promise<SettleResponse>;
}

/** A facilitator over HTTP (x402's facilitator API: POST /verify, POST /settle). Throws when it cannot be reached or answers 5xx. */
export function httpFacilitator(baseUrl: string, fetchImpl: typeof fetch = fetch): Facilitator {
  const call = async <T>(path: string, payment: PaymentPayload, required: PaymentRequirements): Promise<T> => {
    const response = await fetchImpl(`${baseUrl.replace(/\/+$/, '')}/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ x402Version: payment.x402Version, paymentPayload: payment, paymentRequirements: required }),
      signal: AbortSignal.timeout(15_000),
    });
    if (response.status >= 500) throw new Error(`the facilitator answered ${response.status} to ${path}`);
    return (await response.json()) as T;
  };
  return {
    verify: (payment, required) => call<VerifyResponse>('verify', payment, required),
    settle: (payment, required) => call<SettleResponse>('settle', payment, required),
  };
}
