// A stock x402 client (@x402/fetch with @x402/evm, from npm) buying credits from a tollgate API, then spending them:
//
//   node scripts/x402-buy.mjs <api base URL> [--offer credits_100] [--route v1/search?q=x] [--max-usd 20]
//
// The purchase route's 402 carries PAYMENT-REQUIRED; @x402/fetch signs an EIP-3009 authorization with a
// test wallet (X402_PRIVATE_KEY, else a well-known test key that holds nothing on any chain), retries with
// PAYMENT-SIGNATURE and gets 200, a key and PAYMENT-RESPONSE. The script then calls the route with the
// key until the credits run out (402) and prints one JSON line with what happened.
import { decodePaymentResponseHeader, wrapFetchWithPaymentFromConfig } from '@x402/fetch';
import { ExactEvmScheme } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';
import { spendCredits } from './agent-spend.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const api = (args[0] ?? '').replace(/\/?$/, '/');
const offer = option('offer', 'credits_100');
const route = option('route', 'v1/search?q=agents');
const maxCalls = Number(option('max-calls', '1000'));
// The client's own spend cap per payment (@x402/core refuses more than $1 unless told): a pack costs more.
const maxUsd = option('max-usd', '20');
if (!/^https?:\/\//.test(api)) {
  console.error('usage: node scripts/x402-buy.mjs <api base URL> [--offer <pack id>] [--route <path>]');
  process.exit(2);
}
// Anvil's and Hardhat's first test account: public, for test networks and local fakes only.
const account = privateKeyToAccount(process.env.X402_PRIVATE_KEY ?? '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');

let roundTrips = 0;
const counting = (input, init) => {
  roundTrips += 1;
  return fetch(input, init);
};
const paying = wrapFetchWithPaymentFromConfig(counting, { schemes: [{ network: 'eip155:*', client: new ExactEvmScheme(account) }], spendControls: { maxAmountPerPayment: `$${maxUsd}` } });
const bought = await paying(`${api}tollgate/purchase?offer=${encodeURIComponent(offer)}`, { method: 'POST' });
const header = bought.headers.get('payment-response');
const purchase = { status: bought.status, roundTrips, paymentResponse: header === null ? null : decodePaymentResponseHeader(header) };
if (bought.status !== 200) {
  console.log(JSON.stringify({ purchase, body: await bought.text() }));
  process.exit(1);
}
const { key, credits } = await bought.json();
const spent = await spendCredits({ api, key, route, maxCalls });
console.log(JSON.stringify({ purchase, payer: account.address, credits, ...spent }));
