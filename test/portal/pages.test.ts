import type { Page } from '../../lambda/portal/context';
import { accountPage, type AccountView } from '../../lambda/portal/pages/account';
import { docsPage } from '../../lambda/portal/pages/docs';
import { errorPage, FAILURE_PAGE } from '../../lambda/portal/pages/error';
import { issuedKeyPage, rotatedKeyPage, subscribedPage, tryRoute } from '../../lambda/portal/pages/key';
import { pricingPage } from '../../lambda/portal/pages/pricing';
import { problemPage } from '../../lambda/portal/pages/problems';
import { signInPage } from '../../lambda/portal/pages/sign-in';
import { renderPage } from '../../lambda/portal/response';
import type { UsageView } from '../../lambda/shared/customers/usage-view';
import { OTHER_PROBLEMS, PAYMENT_PROBLEMS, PAYMENT_REASONS, PROBLEM_TYPES } from '../../lambda/shared/problems';

/**
 * The pages as pure renderers: a view model in, a page out, with no DynamoDB, no Stripe and no
 * request. The handler tests and the browser test cover the routes that build the view models.
 */

const BASE = '/prod';
const HOSTILE = '"><script>alert(1)</script>';
const text = (page: Page): string => page.body.text;

describe('problem pages', () => {
  it.each(PAYMENT_REASONS.map((r) => [r]))('%s says its 402 meaning and action from the problem table, with the payment links', (reason) => {
    const page = problemPage(BASE, reason);
    const problem = PAYMENT_PROBLEMS[reason];
    expect(page).toMatchObject({ title: problem.title, headers: { 'Cache-Control': 'max-age=300' } });
    expect(page.status ?? 200).toBe(200);
    expect(text(page)).toContain(`HTTP 402 · <code>${reason}</code>`);
    // The texts are escaped like any other value (an apostrophe becomes &#39;).
    expect(text(page)).toContain(`<h2>What it means</h2><p>${problem.meaning.replace(/'/g, '&#39;')}</p>`);
    expect(text(page)).toContain(`<h2>What to do</h2><p>${problem.action}</p>`);
    expect(text(page)).toContain(`<a class="button" href="/prod/tollgate/portal">Plans and payment</a>`);
    expect(text(page)).toContain(`<code>reason</code> "${reason}"`);
  });

  it.each(Object.keys(OTHER_PROBLEMS).map((t) => [t]))('%s has its own status and no payment links', (type) => {
    const problem = OTHER_PROBLEMS[type as keyof typeof OTHER_PROBLEMS];
    const page = problemPage(BASE, type);
    expect(text(page)).toContain(`HTTP ${problem.status} · <code>${type}</code>`);
    expect(text(page)).not.toContain('Plans and payment');
    expect(text(page)).not.toContain('<code>reason</code>');
  });

  it('lists every problem type, and answers an unknown one (escaped) with 404 and the list', () => {
    for (const name of [HOSTILE, 'constructor', '__proto__', 'toString']) {
      const page = problemPage(BASE, name);
      expect(page.status).toBe(404);
      expect(text(page)).not.toContain('<script>');
      for (const type of PROBLEM_TYPES) expect(text(page)).toContain(`<a href="/prod/tollgate/problems/${type}">${type}</a>`);
    }
  });
});

describe('pricing page', () => {
  const catalog = {
    plans: [
      { lookupKey: 'pro', name: 'Pro' },
      { lookupKey: 'metered', name: 'Metered <b>', quota: 20, overage: true },
    ],
    creditPacks: [{ id: 'small', name: 'Small pack', credits: 100, price: 'price_1' }],
  };

  it('offers each plan and credit pack as a checkout form, escaping the names', () => {
    const page = pricingPage({ base: BASE, catalog });
    expect(page.title).toBe('Plans');
    expect(text(page)).toContain('<h3>Pro</h3><p>Unlimited calls.</p>');
    expect(text(page)).toContain('<h3>Metered &lt;b&gt;</h3><p>20 units per billing period, then billed per unit.</p>');
    expect(text(page)).toContain('<form method="post" action="/prod/tollgate/portal/checkout"><input type="hidden" name="plan" value="metered">');
    expect(text(page)).toContain('<input type="hidden" name="pack" value="small"><button type="submit">Buy Small pack</button>');
    expect(text(page)).toContain('<a href="/prod/tollgate/portal/sign-in">Sign in</a> first');
  });

  it('names the signed-in customer instead of asking to sign in, and shows no pack section without packs', () => {
    const page = pricingPage({ base: BASE, catalog: { ...catalog, creditPacks: [] }, signedInAs: 'cus_<x>' });
    expect(text(page)).toContain('Signed in as <code>cus_&lt;x&gt;</code>');
    expect(text(page)).not.toContain('Sign in</a> first');
    expect(text(page)).not.toContain('Credit packs');
  });

  it("shows each plan's and pack's price where Stripe gave one, and none where it did not", () => {
    const prices = new Map([
      ['pro', { amount: '$20.00', per: 'per month' }],
      ['price_1', { amount: '€9.00' }],
    ]);
    const page = pricingPage({ base: BASE, catalog, prices });
    expect(text(page)).toContain('<h3>Pro</h3><p class="price" data-price>$20.00 per month</p><p>Unlimited calls.</p>');
    expect(text(page)).toContain('<h3>Small pack</h3><p class="price" data-price>€9.00</p><p>100 prepaid credits.</p>');
    expect(text(page)).toContain('<h3>Metered &lt;b&gt;</h3><p>20 units per billing period');
    expect(text(pricingPage({ base: BASE, catalog }))).not.toContain('data-price');
  });
});

describe('account page', () => {
  const view: AccountView = {
    base: BASE,
    customerId: 'cus_acct1',
    subscriptionStatus: 'none',
    reason: 'no_subscription',
    paymentUrl: 'https://api.example.com/prod/tollgate/portal?a=1&b=2',
    keys: [
      { keyId: 'key1', name: '<my key>', state: 'active', createdAt: '2026-12-01T00:00:00.000Z' },
      { keyId: 'key0', state: 'revoked', createdAt: '2026-11-01T00:00:00.000Z' },
    ],
    sessionKeyId: 'key1',
  };
  const metered: UsageView = { used: 7, limit: 20, remaining: 13, overage: 'block', periodEnd: 1_900_000_000, credits: 3, planOpen: true, creditsOpen: true, counted: true };

  it('says why paid routes answer 402 and where to fix it, and lists the keys with the session key marked', () => {
    const body = text(accountPage(view));
    expect(body).toContain('<dt>Plan</dt><dd>none</dd>');
    expect(body).toContain('Paid routes answer 402 <a href="/prod/tollgate/problems/no_subscription"><code>no_subscription</code></a>: <a href="https://api.example.com/prod/tollgate/portal?a=1&amp;b=2">fix it here</a>.');
    expect(body).toContain('<tr><td><code>key1</code> (this session)</td><td>&lt;my key&gt;</td><td>active</td>');
    expect(body).toContain('<tr><td><code>key0</code></td><td></td><td>revoked</td>');
    expect(body).not.toContain('data-usage');
    expect(body).not.toContain('data-credits');
  });

  it('shows the plan, a warning, the usage of a counted plan and the credits', () => {
    const body = text(accountPage({ ...view, planName: 'Metered', subscriptionStatus: 'past_due', warning: 'payment_past_due', reason: undefined, usage: metered }));
    expect(body).toContain('<dt>Subscription</dt><dd>past_due (payment_past_due)</dd>');
    expect(body).toContain('<dd>Every route of the API answers.</dd>');
    expect(body).toContain('<dd data-usage>7 units used of 20, 13 left</dd>');
    expect(body).toContain('<time datetime="2030-03-17T17:46:40.000Z">2030-03-17T17:46:40.000Z</time>');
    expect(body).toContain('<dd data-credits>3 units prepaid</dd>');
  });

  it('says when overage is billed, and shows credits alone for a plan that counts nothing', () => {
    expect(text(accountPage({ ...view, usage: { ...metered, limit: undefined, remaining: undefined, overage: 'bill' } }))).toContain('<dd data-usage>7 units used no quota (units past the quota are billed)</dd>');
    const uncounted = text(accountPage({ ...view, usage: { ...metered, counted: false }, usageBlock: 'quota_exceeded' }));
    expect(uncounted).not.toContain('data-usage');
    expect(uncounted).toContain('<dd data-credits>3 units prepaid</dd>');
    expect(uncounted).toContain('<dt>Usage block</dt><dd><code>quota_exceeded</code></dd>');
  });
});

describe('key pages', () => {
  const routes = [
    { method: 'GET', path: '/v1/ping', requires: { kind: 'key' } },
    { method: 'GET', path: '/v1/items/{id}', requires: { kind: 'subscription' } },
    { method: 'POST', path: '/v1/quotes', requires: { kind: 'subscription' } },
    { method: 'GET', path: '/v1/quotes', requires: { kind: 'subscription' } },
  ] as const;

  it('tries the key on a paid GET route without path parameters, else any such GET, else not at all', () => {
    expect(tryRoute(routes)).toBe('/v1/quotes');
    expect(tryRoute(routes.slice(0, 3))).toBe('/v1/ping');
    expect(tryRoute(routes.slice(1, 3))).toBeUndefined();
    expect(text(issuedKeyPage({ base: BASE, key: 'tg_test_x', routes: routes.slice(1, 3) }))).not.toContain('Try it');
  });

  it("fills a route's required parameters from the document's examples, and skips one it cannot fill", () => {
    const own = [
      { method: 'GET', path: '/lookup', requires: { kind: 'subscription' }, usage: { cost: 2 } },
      { method: 'GET', path: '/books/{isbn}', requires: { kind: 'subscription' } },
      { method: 'GET', path: '/authors', requires: { kind: 'subscription' } },
      { method: 'GET', path: '/render', requires: { kind: 'subscription' }, usage: { cost: 5, strict: true } },
    ] as const;
    const parameter = (name: string, where: string, example?: string) => ({ name, in: where, required: true, schema: { type: 'string', ...(example === undefined ? {} : { example }) } });
    const document = {
      paths: {
        '/lookup': { get: { parameters: [parameter('title', 'query', 'sicp')] } },
        '/books/{isbn}': { get: { parameters: [parameter('isbn', 'path', '9780262033848')] } },
        '/authors': { get: { parameters: [parameter('X-Tenant', 'header', 'a')] } },
        '/render': { get: {} },
      },
    };
    // A paid route with an example first (not the one that costs units), then one sold by use; never a strict one.
    expect(tryRoute(own, document)).toBe('/books/9780262033848');
    expect(tryRoute([own[0], own[2], own[3]], document)).toBe('/lookup?title=sicp');
    // A required header (a plain call cannot send it), a strict route, a parameter without an example: nothing to try.
    const unfilled = { paths: { ...document.paths, '/lookup': { get: { parameters: [parameter('title', 'query')] } } } };
    expect(tryRoute([own[0], own[2], own[3]], unfilled)).toBeUndefined();
  });

  it('shows an issued key once, escaped, with the Try it button on the stage', () => {
    const body = text(issuedKeyPage({ base: BASE, key: 'tg_test_"x', routes }));
    expect(body).toContain('<input id="api-key" class="key" type="text" readonly value="tg_test_&quot;x" data-api-key> <button type="button" data-copy-key>Copy</button>');
    expect(body).toContain('<button type="button" data-try-key data-url="/prod/v1/quotes">Try it</button>');
    expect(body).toContain('<strong>It is shown only this once</strong>');
  });

  it('names the key a rotation replaced, and says existing keys work after a signed-in checkout', () => {
    const rotated = rotatedKeyPage({ base: BASE, key: 'tg_test_new', replacedKeyId: 'key_old' });
    expect(rotated.title).toBe('Your new API key');
    expect(text(rotated)).toContain('Key <code>key_old</code> no longer works.');
    expect(text(rotated)).toContain('value="tg_test_new"');
    expect(text(subscribedPage(BASE))).toContain('Your existing API keys now have access');
    expect(text(subscribedPage(BASE))).not.toContain('data-api-key');
  });
});

describe('sign-in, error and docs pages', () => {
  it('asks for the key in a password field posted to the stage, and says why a key was refused with 401', () => {
    expect(signInPage(BASE)).toMatchObject({ status: 200, title: 'Sign in' });
    expect(text(signInPage(BASE))).toContain('<form method="post" action="/prod/tollgate/portal/sign-in">');
    expect(text(signInPage(BASE))).toContain('type="password" autocomplete="off"');
    const refused = signInPage(BASE, 'not <valid>');
    expect(refused.status).toBe(401);
    expect(text(refused)).toContain('<p role="alert">not &lt;valid&gt;</p>');
  });

  it('renders a page error as its status and one alert, and the failure page as a 500 that says nothing changed', () => {
    expect(errorPage(409, 'Key already shown', HOSTILE)).toMatchObject({ status: 409, title: 'Key already shown' });
    expect(text(errorPage(409, 't', HOSTILE))).toBe('<p role="alert">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    expect(FAILURE_PAGE.status).toBe(500);
    expect(text(FAILURE_PAGE)).toContain('Nothing was changed');
  });

  it('lays a page out under the page CSP and no-store, with its cookies and the test-mode banner only in test mode', () => {
    const page = { ...errorPage(403, 'Refused', 'no'), headers: { 'Cache-Control': 'max-age=1' }, cookies: ['a=1'] };
    const live = renderPage(page, { base: BASE, testMode: false });
    expect(live).toMatchObject({ statusCode: 403, headers: { 'Cache-Control': 'max-age=1', 'X-Frame-Options': 'DENY' }, multiValueHeaders: { 'Set-Cookie': ['a=1'] } });
    expect(live.headers?.['Content-Security-Policy']).toMatch(/^default-src 'none'; script-src 'self'; style-src 'self';/);
    expect(live.body).toContain('<title>Refused</title>');
    expect(live.body).toContain('<link rel="stylesheet" href="/prod/tollgate/assets/portal.css">');
    expect(live.body).not.toContain('test-mode');
    expect(renderPage(signInPage(BASE), { base: BASE, testMode: true }).body).toContain('<p class="test-mode" role="note">Local test mode');
    expect(renderPage(signInPage(BASE), { base: BASE, testMode: true }).multiValueHeaders).toBeUndefined();
  });

  it('points the explorer at the stage document and script, under the docs CSP', () => {
    const docs = docsPage(BASE);
    expect(docs.headers).toMatchObject({ 'Cache-Control': 'max-age=300', 'Content-Type': 'text/html; charset=utf-8' });
    expect(docs.headers?.['Content-Security-Policy']).toContain("style-src 'self' 'unsafe-inline'");
    expect(docs.body).toContain('<script id="api-reference" data-url="/prod/tollgate/openapi.json" data-configuration="{&quot;withDefaultFonts&quot;:false');
    expect(docs.body).toContain('<script src="/prod/tollgate/assets/scalar.js"></script>');
  });

  it('leads from the API reference to the plans and sign-in, under the brand when there is one', () => {
    const plain = docsPage(BASE);
    expect(plain.body).toContain('<link rel="stylesheet" href="/prod/tollgate/assets/docs.css">');
    expect(plain.body).toContain('<nav class="tollgate-docs-nav" aria-label="tollgate"><a href="/prod/tollgate/portal">Plans and pricing</a> <a href="/prod/tollgate/portal/sign-in">Sign in</a> <a href="/prod/tollgate/portal/account">Your account</a></nav>');
    expect(plain.body).toContain('<title>API reference</title>');
    const branded = docsPage(BASE, { name: 'Book <shop>' });
    expect(branded.body).toContain('<title>API reference · Book &lt;shop&gt;</title>');
    expect(branded.body).toContain('<nav class="tollgate-docs-nav" aria-label="Book &lt;shop&gt;"><span class="brand"> <strong>Book &lt;shop&gt;</strong></span><a href="/prod/tollgate/portal">');
    expect(branded.headers?.['Content-Security-Policy']).toBe(plain.headers?.['Content-Security-Policy']);
  });

  it("puts the brand in every page's header and title, a logo without a name described, the logo's origin allowed", () => {
    const logoOnly = renderPage(signInPage(BASE), { base: BASE, testMode: false, brand: { logoUrl: 'https://img.example/l.png' } });
    expect(logoOnly.body).toContain('<span class="brand"><img src="https://img.example/l.png" alt="Logo" height="28"></span>');
    expect(logoOnly.body).toContain('<title>Sign in</title>');
    expect(logoOnly.body).not.toContain('brand.css');
    expect(logoOnly.headers?.['Content-Security-Policy']).toContain("img-src 'self' data: https://img.example;");
    const colours = renderPage(signInPage(BASE), { base: BASE, testMode: false, brand: { colors: { accent: '#0b57d0' } } });
    expect(colours.body).toContain('<link rel="stylesheet" href="/prod/tollgate/assets/brand.css">');
    expect(colours.body).toContain('<nav aria-label="tollgate"><a href="/prod/tollgate/portal">Plans</a> <a href="/prod/tollgate/portal/sign-in">Sign in</a>');
  });
});
