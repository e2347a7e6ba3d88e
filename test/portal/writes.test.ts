import { createApiKey, listApiKeys } from '../../lambda/shared/customers/keys';
import { CHECKOUT_COOKIE, SESSION_COOKIE } from '../../lambda/portal/session';
import { PORTAL_BUDGET_LEADING_KEYS, PORTAL_BUDGET_WRITE_ATTRIBUTES, PORTAL_CUSTOMER_WRITE_ATTRIBUTES, PORTAL_LEDGER_PREFIXES } from '../../lambda/portal/writes';
import { completeCheckoutSession } from '../../lib/local/stripe-api/checkout-sessions';
import { freshTables, type TestTables } from '../support/dynamodb';
import { likeAny, namedAttributes, operationsOf, type Write } from '../support/expressions';
import { cookieValue, portalEvent, portalHarness, setCookies, type PortalHarness } from './support';

/**
 * The stack lets the portal write only its own ledger items (IAM `dynamodb:LeadingKeys` on
 * PORTAL_LEDGER_PREFIXES) and only the key attributes of a customer (`dynamodb:Attributes` on
 * PORTAL_CUSTOMER_WRITE_ATTRIBUTES; test/stack/tollgate-stack.test.ts), and on wallet items only the
 * budgets (PORTAL_BUDGET_WRITE_ATTRIBUTES, PORTAL_BUDGET_LEADING_KEYS). Here every request the portal
 * really sends, over signup, sign-in, the account, budgets set and removed, rotation and sign-out, stays
 * inside that scope: else IAM would refuse it in AWS.
 */

let tables: TestTables;
let portal: PortalHarness;
const sent: Write[] = [];

beforeAll(async () => {
  tables = await freshTables('portal-writes');
  tables.client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(...operationsOf(String(context.commandName), args.input as Record<string, unknown>));
      return next(args);
    },
    { step: 'initialize', name: 'recordPortalRequests' },
  );
  portal = await portalHarness(tables);
});
afterAll(async () => {
  await portal.close();
  tables.client.destroy();
});

const keyOf = (body: string): string => /value="(tg_test_[^"]+)"/.exec(body)![1]!;

it('reads and writes only its own ledger items, only key attributes of a customer and only budgets of its wallet, through signup, sign-in, budgets, rotation and sign-out', async () => {
  const { key, keyId } = await createApiKey({ client: tables.client, tables: tables.names }, { customerId: 'cus_portalWrites1' });
  sent.length = 0;
  // Signup: checkout, payment, the key shown once with a session.
  const started = await portal.handle(portalEvent('POST', '/tollgate/portal/checkout', { body: 'plan=pro' }));
  const sessionId = /test-checkout\/(cs_test_\w+)/.exec(started.headers?.Location as string)![1]!;
  completeCheckoutSession(portal.store, sessionId);
  const issued = await portal.handle(portalEvent('GET', '/tollgate/portal/success', { query: { session_id: sessionId }, cookies: { [CHECKOUT_COOKIE]: cookieValue(setCookies(started)[CHECKOUT_COOKIE]) } }));
  expect(issued.statusCode).toBe(200);
  // Sign in with another customer's key, read the account, rotate, sign out.
  const signedIn = await portal.handle(portalEvent('POST', '/tollgate/portal/sign-in', { body: `key=${encodeURIComponent(key)}` }));
  let cookie = cookieValue(setCookies(signedIn)[SESSION_COOKIE]);
  expect((await portal.handle(portalEvent('GET', '/tollgate/portal/account', { cookies: { [SESSION_COOKIE]: cookie } }))).statusCode).toBe(200);
  // Budgets from the account page: the customer's and the key's, set, raised and removed.
  const budget = (body: string) => portal.handle(portalEvent('POST', '/tollgate/portal/budget', { body, cookies: { [SESSION_COOKIE]: cookie } }));
  for (const body of ['action=set&scope=customer&limit=50&per=day', `action=set&scope=${keyId}&limit=5&per=period`, 'action=set&scope=customer&limit=80&per=day', 'action=remove&scope=customer']) {
    expect((await budget(body)).statusCode).toBe(303);
  }
  const rotated = await portal.handle(portalEvent('POST', '/tollgate/portal/rotate', { cookies: { [SESSION_COOKIE]: cookie } }));
  expect(keyOf(rotated.body)).toMatch(/^tg_test_cus_portalWrites1_/);
  cookie = cookieValue(setCookies(rotated)[SESSION_COOKIE]);
  expect((await portal.handle(portalEvent('POST', '/tollgate/portal/sign-out', { cookies: { [SESSION_COOKIE]: cookie } }))).statusCode).toBe(303);
  expect((await listApiKeys({ client: tables.client, tables: tables.names }, 'cus_portalWrites1')).length).toBe(2);

  const portalSent = sent.filter((w) => Object.values(tables.names).includes(w.TableName));
  const onEvents = portalSent.filter((w) => w.TableName === tables.names.events);
  expect(new Set(onEvents.map((w) => w.action))).toEqual(new Set(['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem']));
  for (const write of onEvents) {
    const eventId = String((write.Key ?? write.Item)?.eventId);
    expect({ eventId, allowed: PORTAL_LEDGER_PREFIXES.some((prefix) => eventId.startsWith(prefix)) }).toEqual({ eventId, allowed: true });
  }
  const customerWrites = portalSent.filter((w) => w.TableName === tables.names.customers && w.action !== 'GetItem');
  expect(new Set(customerWrites.map((w) => w.action))).toEqual(new Set(['UpdateItem']));
  // Raw or document client: the item's key as IAM's LeadingKeys sees it.
  const leadingKey = (w: Write): string => {
    const id = w.Key?.customerId as { S?: string } | string;
    return typeof id === 'string' ? id : String(id.S);
  };
  const onWallets = customerWrites.filter((w) => likeAny(leadingKey(w), PORTAL_BUDGET_LEADING_KEYS));
  const onCustomers = customerWrites.filter((w) => !onWallets.includes(w));
  expect(onWallets.length).toBeGreaterThanOrEqual(4);
  expect(onCustomers.length).toBeGreaterThanOrEqual(2);
  for (const attribute of onCustomers.flatMap(namedAttributes)) expect({ attribute, allowed: likeAny(attribute, PORTAL_CUSTOMER_WRITE_ATTRIBUTES) }).toEqual({ attribute, allowed: true });
  for (const attribute of onWallets.flatMap(namedAttributes)) expect({ attribute, allowed: likeAny(attribute, PORTAL_BUDGET_WRITE_ATTRIBUTES) }).toEqual({ attribute, allowed: true });
});
