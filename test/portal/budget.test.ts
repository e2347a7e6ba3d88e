import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { budgetsOf } from '../../lambda/shared/customers/budgets-store';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { readCustomer } from '../../lambda/shared/customers/store';
import { SESSION_COOKIE } from '../../lambda/portal/session';
import { freshTables, type TestTables } from '../support/dynamodb';
import { cookieValue, portalEvent, portalHarness, setCookies, type PortalHarness } from './support';

/**
 * The account page's Budget section and its form (POST /tollgate/portal/budget) on DynamoDB Local: set,
 * raise, remove the customer's cap and a key's, each seen on the account page; a refused form is the
 * page again with the error in words and the fields as sent, never a failure page; nothing is
 * written for another customer, from another origin or without a session.
 */

const BUDGET = '/tollgate/portal/budget';
const ACCOUNT = '/tollgate/portal/account';
const NOW = new Date('2026-12-07T10:00:00Z');

let tables: TestTables;
let portal: PortalHarness;
beforeAll(async () => {
  tables = await freshTables('portal-budget');
  portal = await portalHarness(tables, { now: () => NOW });
});
afterAll(() => portal.close());

const keyStore = () => ({ client: tables.client, tables: tables.names });

async function signedIn(customerId: string): Promise<{ cookie: string; keyId: string }> {
  const { key, keyId } = await createApiKey(keyStore(), { customerId, name: 'laptop' });
  const result = await portal.handle(portalEvent('POST', '/tollgate/portal/sign-in', { body: `key=${encodeURIComponent(key)}` }));
  return { cookie: cookieValue(setCookies(result)[SESSION_COOKIE]), keyId };
}

const post = (cookie: string, form: Record<string, string>, origin?: string) =>
  portal.handle(portalEvent('POST', BUDGET, { body: new URLSearchParams(form).toString(), cookies: { [SESSION_COOKIE]: cookie }, ...(origin === undefined ? {} : { origin }) }));
const accountOf = (cookie: string, query?: Record<string, string>) => portal.handle(portalEvent('GET', ACCOUNT, { cookies: { [SESSION_COOKIE]: cookie }, ...(query === undefined ? {} : { query }) }));
const stored = async (customerId: string) => budgetsOf((await readCustomer(tables.client, tables.names.customers, customerId))!, NOW);
/** The Budget section's table rows, as text. */
const rows = (body: string): string[] => [...body.matchAll(/<tr data-budget="[^"]+">(.*?)<\/tr>/g)].map((m) => m[1]!.replace(/<form.*?<\/form>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());

describe('the account page sets budgets', () => {
  it('sets, raises and removes the customer cap and a key cap, each shown on the account page in words', async () => {
    const { cookie, keyId } = await signedIn('cus_portalBudget1');
    const empty = await accountOf(cookie);
    expect(empty.body).toContain('<h2 id="budget">Budget</h2>');
    expect(empty.body).toContain('No cap is set');

    const set = await post(cookie, { action: 'set', scope: 'customer', limit: '500', per: 'day' });
    expect(set.statusCode).toBe(303);
    expect(set.headers?.Location).toBe('/prod/tollgate/portal/account?budget=set#budget');
    expect(await stored('cus_portalBudget1')).toEqual([{ scope: '*', limit: 500, window: 'day', used: 0, left: 500, resetsAt: Date.parse('2026-12-08T00:00:00Z') / 1000, expired: false }]);
    const shown = await accountOf(cookie, { budget: 'set' });
    expect(shown.body).toContain('Budget saved.');
    expect(rows(shown.body)).toEqual(['Whole account (every key) 500 units a day (UTC) 0 units 500 units 8 December 2026 at 00:00 UTC']);

    // A key cap beside it, per billing period; then a raise of the customer's.
    expect((await post(cookie, { action: 'set', scope: keyId, limit: '2000', per: 'period' })).statusCode).toBe(303);
    expect((await post(cookie, { action: 'set', scope: 'customer', limit: ' 1500 ', per: 'day' })).statusCode).toBe(303);
    expect(rows((await accountOf(cookie)).body)).toEqual([
      'Whole account (every key) 1,500 units a day (UTC) 0 units 1,500 units 8 December 2026 at 00:00 UTC',
      `Key ${keyId} (laptop), this session 2,000 units per billing period 0 units 2,000 units 1 January 2027 at 00:00 UTC`,
    ]);

    const removed = await post(cookie, { action: 'remove', scope: 'customer' });
    expect(removed.headers?.Location).toBe('/prod/tollgate/portal/account?budget=removed#budget');
    expect((await stored('cus_portalBudget1')).map((b) => b.scope)).toEqual([keyId]);
    expect((await post(cookie, { action: 'remove', scope: 'customer' })).headers?.Location).toBe('/prod/tollgate/portal/account?budget=none#budget');
    expect((await post(cookie, { action: 'remove', scope: keyId })).headers?.Location).toBe('/prod/tollgate/portal/account?budget=removed#budget');
    expect(await stored('cus_portalBudget1')).toEqual([]);
  });

  it('keeps what was spent when a cap is raised: used and left in the table', async () => {
    const { cookie } = await signedIn('cus_portalBudget2');
    await post(cookie, { action: 'set', scope: 'customer', limit: '100', per: 'day' });
    // 100 spent: the cap is reached.
    await tables.client.send(
      new UpdateItemCommand({ TableName: tables.names.customers, Key: { customerId: { S: 'cus_portalBudget2#wallet' } }, UpdateExpression: 'SET budgetLeft = :zero', ExpressionAttributeValues: { ':zero': { N: '0' } } }),
    );
    expect(rows((await accountOf(cookie)).body)[0]).toContain('100 units a day (UTC) 100 units none: calls sold by use answer 402 until the reset or a raise');
    await post(cookie, { action: 'set', scope: 'customer', limit: '300', per: 'day' });
    expect(rows((await accountOf(cookie)).body)).toEqual(['Whole account (every key) 300 units a day (UTC) 100 units 200 units 8 December 2026 at 00:00 UTC']);
  });

  let refusals = 0;
  it.each([
    [{ limit: '0' }, 'limit', 'a budget is a whole number of units from 1 to 1000000000000, such as 500.'],
    [{ limit: '' }, 'limit', 'a budget is a whole number of units from 1 to 1000000000000, such as 500.'],
    [{ limit: '12.5' }, 'limit', 'a budget is a whole number of units from 1 to 1000000000000, such as 500.'],
    [{ limit: 'lots' }, 'limit', 'a budget is a whole number of units from 1 to 1000000000000, such as 500.'],
    [{ limit: '1000000000001' }, 'limit', 'a budget is a whole number of units from 1 to 1000000000000, such as 500.'],
    [{ per: 'week' }, 'per', 'choose per day or per billing period.'],
    [{ scope: 'ZZZZ9999' }, 'scope', 'that key is not one of yours: choose one listed under Keys.'],
    [{ scope: '<script>' }, 'scope', 'choose the whole account or one of your keys.'],
  ])('refuses %j with the page again, the error in words and the field marked, and writes nothing', async (bad, field, message) => {
    refusals += 1;
    const customerId = `cus_portalBudgetBad${refusals}`;
    const { cookie } = await signedIn(customerId);
    const form = { action: 'set', scope: 'customer', limit: '500', per: 'day', ...bad };
    const refused = await post(cookie, form);
    expect(refused.statusCode).toBe(200);
    expect(refused.headers?.['Content-Type']).toBe('text/html; charset=utf-8');
    expect(refused.body).toContain(`<p role="alert" id="budget-error">Nothing was changed: ${message}</p>`);
    expect(refused.body).toMatch(new RegExp(`id="budget-${field}"[^>]*aria-invalid="true" aria-describedby="budget-error"`));
    expect(refused.body).not.toMatch(/Error:|at .*\.ts:\d+/);
    // What was typed is kept (escaped).
    if (field === 'limit') expect(refused.body).toContain(`id="budget-limit" name="limit" type="text" inputmode="numeric" autocomplete="off" size="14" value="${form.limit}"`);
    expect(refused.body).not.toContain('<script>');
    expect(await stored(customerId)).toEqual([]);
  });

  it('caps only the signed-in customer: a key of another customer is refused and its budgets are untouched', async () => {
    const other = await createApiKey(keyStore(), { customerId: 'cus_portalBudgetOther' });
    const { cookie } = await signedIn('cus_portalBudget3');
    const refused = await post(cookie, { action: 'set', scope: other.keyId, limit: '5', per: 'day' });
    expect(refused.body).toContain('Nothing was changed: that key is not one of yours');
    expect(await stored('cus_portalBudgetOther')).toEqual([]);
    expect(await stored('cus_portalBudget3')).toEqual([]);
  });

  it('writes nothing without a session or from another origin', async () => {
    const { cookie } = await signedIn('cus_portalBudget4');
    const foreign = await post(cookie, { action: 'set', scope: 'customer', limit: '5', per: 'day' }, 'https://evil.example');
    expect(foreign.statusCode).toBe(403);
    const anonymous = await portal.handle(portalEvent('POST', BUDGET, { body: 'action=set&scope=customer&limit=5&per=day' }));
    expect(anonymous.statusCode).toBe(401);
    expect(await stored('cus_portalBudget4')).toEqual([]);
  });
});
