// A stock MPP client (mppx, from npm) buying credits from a tollgate API, then spending them:
//
//   node scripts/mppx-buy.mjs <api base URL> --stripe <Stripe API URL> [--offer credits_100] [--route v1/search?q=x]
//
// The 402 of the purchase route is paid by mppx itself: it creates a Shared Payment Token through
// createToken (here Stripe's test helper, on the local fake of Stripe's API that `npm start` prints, or
// on Stripe test mode with STRIPE_API_KEY), retries with the credential and gets 200, a key and a
// Payment-Receipt. The script then calls the route with the key until the credits run out (402) and
// prints one JSON line with what happened. Plain ESM: mppx is ESM-only.
import { Mppx, stripe } from 'mppx/client';
import { spendCredits } from './agent-spend.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const api = (args[0] ?? '').replace(/\/?$/, '/');
const stripeApi = option('stripe', 'https://api.stripe.com');
const stripeKey = process.env.STRIPE_API_KEY ?? 'sk_test_tollgate_local_fake';
const offer = option('offer', 'credits_100');
const route = option('route', 'v1/search?q=agents');
const maxCalls = Number(option('max-calls', '1000'));
if (!/^https?:\/\//.test(api)) {
  console.error('usage: node scripts/mppx-buy.mjs <api base URL> --stripe <Stripe API URL> [--offer <pack id>] [--route <path>]');
  process.exit(2);
}

// Stripe's test helper grants a test SPT for a payment method, limited to the challenge's amount and expiry.
async function createToken({ amount, currency, expiresAt, paymentMethod }) {
  const body = new URLSearchParams({
    payment_method: paymentMethod,
    'usage_limits[currency]': currency,
    'usage_limits[max_amount]': String(amount),
    'usage_limits[expires_at]': String(expiresAt),
  });
  const response = await fetch(`${stripeApi}/v1/test_helpers/shared_payment/granted_tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stripeKey}`, 'Content-Type': 'application/x-www-form-urlencoded', 'Stripe-Version': '2026-07-29.preview' },
    body,
  });
  const token = await response.json();
  if (!response.ok) throw new Error(`stripe refused the test token: ${token.error?.message ?? response.status}`);
  return token.id;
}

let roundTrips = 0;
const counting = (input, init) => {
  roundTrips += 1;
  return fetch(input, init);
};
const paying = Mppx.create({ methods: [stripe.charge({ createToken, paymentMethod: 'pm_card_visa' })], polyfill: false, fetch: counting });
const bought = await paying.fetch(`${api}tollgate/purchase?offer=${encodeURIComponent(offer)}`, { method: 'POST' });
const purchase = { status: bought.status, roundTrips, receipt: bought.headers.get('payment-receipt') !== null };
if (bought.status !== 200) {
  console.log(JSON.stringify({ purchase, body: await bought.text() }));
  process.exit(1);
}
const { key, credits } = await bought.json();
const spent = await spendCredits({ api, key, route, maxCalls });
console.log(JSON.stringify({ purchase, credits, ...spent }));
