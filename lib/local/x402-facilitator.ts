import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getAddress, keccak256, toHex, verifyTypedData, type Hex } from 'viem';
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '../../lambda/shared/agents/x402';

/**
 * A local x402 facilitator (`npm start`, the conformance tests): `POST /verify` checks an `exact` EVM
 * payment as a real facilitator does before touching a chain (the requirement it pays, the EIP-3009
 * authorization's amount, recipient and validity window, and its EIP-712 signature by `from`), and
 * `POST /settle` verifies again and settles once per authorization nonce (as the token contract would:
 * a used nonce is refused). Nothing moves on a chain: the transaction hash is derived from the nonce.
 */

/** EIP-3009's typed data, as `@x402/evm` signs it. */
const AUTHORIZATION_TYPES = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

export interface FakeFacilitator {
  readonly url: string;
  /** Settled payments by nonce: what a test checks charged equals granted against. */
  readonly settled: ReadonlyMap<string, { readonly payer: string; readonly value: string; readonly transaction: string }>;
  /** Verifications answered, by their invalidReason (`valid` when valid). */
  readonly verifications: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export async function verifyExactPayment(payment: PaymentPayload, required: PaymentRequirements, nowSeconds: number): Promise<VerifyResponse> {
  const auth = payment.payload.authorization;
  const invalid = (invalidReason: string): VerifyResponse => ({ isValid: false, invalidReason, payer: auth.from });
  if (required.scheme !== 'exact' || !/^eip155:\d+$/.test(required.network)) return invalid('unsupported_scheme');
  if (getAddress(auth.to) !== getAddress(required.payTo)) return invalid('invalid_exact_evm_payload_recipient_mismatch');
  if (auth.value !== required.amount) return invalid('invalid_exact_evm_payload_authorization_value');
  if (Number(auth.validBefore) <= nowSeconds) return invalid('invalid_exact_evm_payload_authorization_valid_before');
  if (Number(auth.validAfter) > nowSeconds) return invalid('invalid_exact_evm_payload_authorization_valid_after');
  const extra = required.extra as { name?: string; version?: string };
  const valid = await verifyTypedData({
    address: getAddress(auth.from),
    domain: { name: extra.name, version: extra.version, chainId: Number(required.network.split(':')[1]), verifyingContract: getAddress(required.asset) },
    types: AUTHORIZATION_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: {
      from: getAddress(auth.from),
      to: getAddress(auth.to),
      value: BigInt(auth.value),
      validAfter: BigInt(auth.validAfter),
      validBefore: BigInt(auth.validBefore),
      nonce: auth.nonce as Hex,
    },
    signature: payment.payload.signature as Hex,
  }).catch(() => false);
  return valid ? { isValid: true, payer: auth.from } : invalid('invalid_exact_evm_payload_signature');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

export async function startFakeFacilitator(options: { now?: () => Date } = {}): Promise<FakeFacilitator> {
  const now = options.now ?? ((): Date => new Date());
  const settled = new Map<string, { payer: string; value: string; transaction: string }>();
  const verifications = new Map<string, number>();
  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (req.method !== 'POST' || (path !== '/verify' && path !== '/settle')) return answer(404, { error: 'not found' });
      let body: { paymentPayload?: PaymentPayload; paymentRequirements?: PaymentRequirements };
      try {
        body = (await readJson(req)) as typeof body;
      } catch {
        return answer(400, { error: 'the body is not JSON' });
      }
      if (body.paymentPayload?.payload?.authorization === undefined || body.paymentRequirements === undefined) return answer(400, { error: 'paymentPayload and paymentRequirements are required' });
      const verified = await verifyExactPayment(body.paymentPayload, body.paymentRequirements, Math.floor(now().getTime() / 1000));
      const auth = body.paymentPayload.payload.authorization;
      if (path === '/verify') {
        verifications.set(verified.invalidReason ?? 'valid', (verifications.get(verified.invalidReason ?? 'valid') ?? 0) + 1);
        return answer(200, verified);
      }
      const network = body.paymentRequirements.network;
      if (!verified.isValid) return answer(200, { success: false, errorReason: verified.invalidReason, network, payer: auth.from } satisfies SettleResponse);
      const nonce = auth.nonce.toLowerCase();
      // The token contract refuses a used nonce: a payment settles once.
      if (settled.has(nonce)) return answer(200, { success: false, errorReason: 'invalid_exact_evm_payload_authorization_nonce_used', network, payer: auth.from } satisfies SettleResponse);
      const transaction = keccak256(toHex(`settled:${nonce}`));
      settled.set(nonce, { payer: auth.from, value: auth.value, transaction });
      return answer(200, { success: true, transaction, network, payer: auth.from } satisfies SettleResponse);
    })().catch((err: unknown) => answer(500, { error: err instanceof Error ? err.message : String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    settled,
    verifications,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
