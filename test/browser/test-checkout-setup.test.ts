import { AxeBuilder } from '@axe-core/playwright';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PORTAL_CSS } from '../../lambda/portal/style';
import { createCheckoutSession } from '../../lib/local/stripe-api/checkout-sessions';
import { createFakeStripeStore, type FakeCheckoutSession, type FakeStripeStore } from '../../lib/local/stripe-api/store';
import { makeTestCheckoutHandler } from '../../lib/local/test-checkout';

/**
 * The test checkout's setup page in a real browser (the distribution's Chromium, driven by
 * playwright-core), served by its handler behind a plain HTTP server: axe finds no serious violation,
 * and a button saves its card, sends the events and lands on the success URL.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const STAGE = 'dev';

let server: Server;
let origin: string;
let browser: Browser;
let store: FakeStripeStore;
const delivered: string[] = [];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

beforeAll(async () => {
  store = createFakeStripeStore({ checkout: (id) => `${origin}/${STAGE}/tollgate/portal/test-checkout/${id}`, billingPortal: (id) => id });
  const handler = makeTestCheckoutHandler({
    store,
    webhookSecret: 'whsec_browser_setup',
    deliver: (payload) => {
      delivered.push(JSON.parse(payload).type as string);
      return Promise.resolve(200);
    },
  });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const session = new RegExp(`^/${STAGE}/tollgate/portal/test-checkout/([^/]+)$`).exec(url.pathname)?.[1];
    void (async () => {
      if (session !== undefined) {
        const headers = Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
        const result = await handler({
          httpMethod: req.method ?? 'GET',
          path: url.pathname,
          pathParameters: { session },
          queryStringParameters: null,
          headers,
          multiValueHeaders: {},
          body: await readBody(req),
          isBase64Encoded: false,
          requestContext: { stage: STAGE, domainName: req.headers.host },
        } as unknown as APIGatewayProxyEvent);
        res.writeHead(result.statusCode, result.headers as Record<string, string>);
        res.end(result.body);
      } else if (url.pathname.endsWith('.css')) {
        res.writeHead(200, { 'Content-Type': 'text/css' });
        res.end(url.pathname.endsWith('/portal.css') ? PORTAL_CSS : '');
      } else if (url.pathname.endsWith('.js')) {
        res.writeHead(200, { 'Content-Type': 'text/javascript' });
        res.end('');
      } else {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<!doctype html><html lang="en"><head><title>Account</title></head><body><main><h1>Account</h1></main></body></html>');
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function accessible(page: Page): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(serious).toEqual([]);
}

it('saves the card that needs authentication from the setup page, accessibly, and lands on the success URL', async () => {
  const session = createCheckoutSession(store, {
    mode: 'setup',
    customer: 'cus_browsersetup1',
    currency: 'usd',
    success_url: `${origin}/${STAGE}/tollgate/portal/account?saved={CHECKOUT_SESSION_ID}`,
    cancel_url: `${origin}/${STAGE}/tollgate/portal/account`,
  }) as FakeCheckoutSession;
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(session.url!);
  await page.getByRole('heading', { level: 1, name: 'Save a card (test)' }).waitFor();
  expect(await page.getByRole('button').allTextContents()).toEqual(['Save a card that pays (4242…)', 'Save a card that is declined (…0341)', 'Save a card that needs authentication (…3184)']);
  await accessible(page);

  await page.getByRole('button', { name: 'Save a card that needs authentication (…3184)' }).click();
  await page.getByRole('heading', { level: 1, name: 'Account' }).waitFor();
  expect(page.url()).toBe(`${origin}/${STAGE}/tollgate/portal/account?saved=${session.id}`);
  expect(delivered).toEqual(['setup_intent.succeeded', 'checkout.session.completed']);
  const setupIntent = store.setupIntents.get(store.checkoutSessions.get(session.id)!.setup_intent as string)!;
  expect(store.paymentMethods.get(setupIntent.payment_method as string)?.card?.last4).toBe('3184');

  // Back on the page: the card is saved, and it says so.
  await page.goto(session.url!);
  await page.getByRole('heading', { level: 1, name: 'Card saved' }).waitFor();
  await accessible(page);
  expect(errors).toEqual([]);
  await context.close();
}, 60_000);
