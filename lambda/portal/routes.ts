import { problem } from '../shared/http';
import { PORTAL_PATHS } from '../shared/portal-paths';
import type { Asset } from './assets';
import { brandCss } from './brand';
import { budget } from './budget';
import { topUp, topUpSaved } from './top-up';
import { billing, checkout, success } from './checkout';
import { PageError, type Answer, type Portal, type RequestContext, type Route } from './context';
import { docsPage } from './pages/docs';
import { pricingPage } from './pages/pricing';
import { problemPage } from './pages/problems';
import { signInPage } from './pages/sign-in';
import { DOCS_CSS } from './style';
import { json } from './response';
import { account, currentSession, rotate, signIn, signOut } from './signed-in';

/** The portal's routes, by `METHOD resource` (API Gateway's resource template), each to what it answers. */

const ASSET_NAME = /^[a-z0-9.-]{1,64}$/;

/** Stylesheets made from configuration: the brand's colours, the docs page's bar. */
function styleAsset(name: string, portal: Portal): Asset | undefined {
  const { brand } = portal.settings.catalog;
  const css = name === 'brand.css' ? brandCss(brand?.colors) : name === 'docs.css' ? `${DOCS_CSS}${brandCss(brand?.colors)}` : undefined;
  return css === undefined ? undefined : { body: Buffer.from(css, 'utf8'), contentType: 'text/css; charset=utf-8' };
}

async function asset(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const name = ctx.event.pathParameters?.asset ?? '';
  const found = ASSET_NAME.test(name) ? (styleAsset(name, portal) ?? (await portal.assets.asset(name))) : undefined;
  if (found === undefined) return problem(404, 'Not found', 'The portal has no asset of this name.', {}, { 'X-Content-Type-Options': 'nosniff' });
  return {
    statusCode: 200,
    headers: { 'Content-Type': found.contentType, 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' },
    body: found.body.toString('utf8'),
  };
}

/** The public document, with this stage as its server. */
async function document(ctx: RequestContext, portal: Portal): Promise<Answer> {
  return json(200, { ...(await portal.assets.document()), servers: [{ url: `${ctx.origin}${ctx.base}` }] }, { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'max-age=60' });
}

async function pricing(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const { catalog } = portal.settings;
  const [current, prices] = await Promise.all([currentSession(ctx, portal), portal.prices.prices(catalog)]);
  return pricingPage({ base: ctx.base, catalog, prices, ...(typeof current === 'object' ? { signedInAs: current.session.customerId } : {}) });
}

export const PORTAL_ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  [`GET ${PORTAL_PATHS.docs}`, (ctx, portal) => docsPage(ctx.base, portal.settings.catalog.brand)],
  [`GET ${PORTAL_PATHS.document}`, document],
  [`GET ${PORTAL_PATHS.problem}`, (ctx) => problemPage(ctx.base, ctx.event.pathParameters?.reason ?? '')],
  [`GET ${PORTAL_PATHS.asset}`, asset],
  [`GET ${PORTAL_PATHS.pricing}`, pricing],
  [`POST ${PORTAL_PATHS.checkout}`, checkout],
  [`GET ${PORTAL_PATHS.success}`, success],
  [`GET ${PORTAL_PATHS.signIn}`, (ctx) => signInPage(ctx.base)],
  [`POST ${PORTAL_PATHS.signIn}`, signIn],
  [`POST ${PORTAL_PATHS.signOut}`, signOut],
  [`GET ${PORTAL_PATHS.account}`, account],
  [`POST ${PORTAL_PATHS.rotate}`, rotate],
  [`POST ${PORTAL_PATHS.billing}`, billing],
  [`POST ${PORTAL_PATHS.budget}`, budget],
  [`POST ${PORTAL_PATHS.topUp}`, topUp],
  [`GET ${PORTAL_PATHS.topUpSaved}`, topUpSaved],
]);

export function routeFor(method: string, resource: string): Route {
  const route = PORTAL_ROUTES.get(`${method} ${resource}`);
  if (route === undefined) throw new PageError(404, 'Not found', 'There is no such page.');
  return route;
}
