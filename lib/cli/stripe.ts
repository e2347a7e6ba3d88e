import Stripe from 'stripe';
import { HANDLED_EVENT_TYPES, STRIPE_API_VERSION } from '../stripe-events/index';
import { HANDLED_THIN_EVENT_TYPES } from '../../lambda/webhook/thin-events';
import { portalCatalog } from '../config/portal-catalog';
import { loadProjectConfig, type TollgateConfig } from '../config/tollgate-config';
import { loadApiDocument } from '../openapi/load';
import { readRoutes } from '../openapi/build';
import { STACK_OUTPUTS } from '../contract';
import { stringValue, UsageError } from './args';
import { CliError, type CommandGroup, type CommandSpec, type Context } from './command';
import { readOutputs } from './target';

/**
 * `tollgate stripe setup`: the Stripe objects the configuration names, created once. Each is looked
 * up first (a price by its lookup key, a product by the id tollgate gives it, a meter by its
 * event_name, the webhook endpoint by its URL), so a second run finds everything and creates nothing.
 */

/** What metering sends (lambda/metering/stripe-meter.ts): the meter maps these payload keys. */
const METER_CUSTOMER_KEY = 'stripe_customer_id';
const METER_VALUE_KEY = 'value';

/** Amounts (smallest currency unit) when --price names none: the local run's fake sells at these too. */
const DEFAULT_AMOUNTS = { plan: 2000, quotaPlan: 500, creditPack: 1000, metered: 1 } as const;

export interface WantedPrice {
  readonly kind: 'plan' | 'credit pack' | 'metered';
  readonly lookupKey: string;
  readonly name: string;
  /** The product tollgate creates for it: its id is how a re-run finds it. */
  readonly productId: string;
  readonly unitAmount: number;
  /** undefined: one-time. */
  readonly recurring?: { readonly usage: 'licensed' } | { readonly usage: 'metered'; readonly meter: string };
}

export interface WantedObjects {
  readonly prices: readonly WantedPrice[];
  /** Meter event names: the plans' and the routes' `meter`. */
  readonly meters: readonly string[];
  /** Plans and packs named by a price id (`price_…`): they exist already, nothing to create. */
  readonly byId: readonly string[];
  /** Entitlement lookup keys the document requires: features to attach in Stripe by hand. */
  readonly entitlements: readonly string[];
}

const productId = (prefix: string, key: string): string => `tollgate_${prefix}${key.replace(/[^A-Za-z0-9_]/g, '_')}`;
/** The metered price of a meter: what a `bill` plan's subscription carries beside its plan price. */
export const meteredLookupKey = (meter: string): string => `${meter}_metered`;

/** Everything the configuration and the document name in Stripe, with the amounts given (`--price key=cents`). */
export function wantedObjects(config: TollgateConfig, document: unknown, amounts: ReadonlyMap<string, number>): WantedObjects {
  const catalog = portalCatalog(config);
  const routes = readRoutes(document);
  const byId: string[] = [];
  const prices: WantedPrice[] = [];
  const amount = (key: string, fallback: number): number => amounts.get(key) ?? fallback;
  for (const plan of catalog.plans) {
    if (plan.lookupKey.startsWith('price_')) byId.push(plan.lookupKey);
    else {
      const fallback = plan.quota === undefined ? DEFAULT_AMOUNTS.plan : DEFAULT_AMOUNTS.quotaPlan;
      prices.push({ kind: 'plan', lookupKey: plan.lookupKey, name: plan.name, productId: productId('plan_', plan.lookupKey), unitAmount: amount(plan.lookupKey, fallback), recurring: { usage: 'licensed' } });
    }
  }
  for (const pack of catalog.creditPacks) {
    if (pack.price.startsWith('price_')) byId.push(pack.price);
    else prices.push({ kind: 'credit pack', lookupKey: pack.price, name: pack.name, productId: productId('pack_', pack.id), unitAmount: amount(pack.price, DEFAULT_AMOUNTS.creditPack) });
  }
  const meters = [...new Set([...catalog.plans.flatMap((p) => (p.meter === undefined ? [] : [p.meter])), ...routes.flatMap((r) => (r.usage?.meter === undefined ? [] : [r.usage.meter]))])];
  for (const meter of meters) {
    const lookupKey = meteredLookupKey(meter);
    prices.push({ kind: 'metered', lookupKey, name: `${meter} (per unit)`, productId: productId('meter_', meter), unitAmount: amount(lookupKey, DEFAULT_AMOUNTS.metered), recurring: { usage: 'metered', meter } });
  }
  const entitlements = [...new Set(routes.flatMap((r) => (r.requires.kind === 'entitlement' ? [r.requires.lookupKey] : [])))];
  return { prices, meters, byId, entitlements };
}

export type Action = 'created' | 'found' | 'updated';

export interface SetupResult {
  readonly mode: 'test' | 'live';
  readonly objects: ReadonlyArray<{ readonly kind: string; readonly name: string; readonly id: string; readonly action: Action }>;
  readonly webhookEndpoint?: { readonly id: string; readonly url: string; readonly action: Action; readonly secret?: string };
  /** The event destination that sends Stripe's thin events (meter error reports) to the same URL. */
  readonly eventDestination?: { readonly id: string; readonly url: string; readonly action: Action; readonly secret?: string };
  /** Each secret the stack reads, and the command that sets it. */
  readonly secrets: ReadonlyArray<{ readonly secret: string; readonly holds: string; readonly command: string }>;
  readonly notes: readonly string[];
}

const isMissing = (err: unknown): boolean => err instanceof Stripe.errors.StripeError && err.statusCode === 404;

/** Creates what is missing of `wanted` (and the webhook endpoint for `webhookUrl`), finding before creating. */
export async function setUpStripe(stripe: Stripe, wanted: WantedObjects, options: { readonly mode: 'test' | 'live'; readonly currency: string; readonly webhookUrl?: string; readonly config: TollgateConfig }): Promise<SetupResult> {
  const objects: Array<SetupResult['objects'][number]> = [];

  // Meters first: a metered price names its meter's id.
  const meterIds = new Map<string, string>();
  const existingMeters = await stripe.billing.meters.list({ status: 'active', limit: 100 }).autoPagingToArray({ limit: 10_000 });
  for (const eventName of wanted.meters) {
    const found = existingMeters.find((m) => m.event_name === eventName);
    const meter =
      found ??
      (await stripe.billing.meters.create({
        display_name: eventName,
        event_name: eventName,
        default_aggregation: { formula: 'sum' },
        customer_mapping: { type: 'by_id', event_payload_key: METER_CUSTOMER_KEY },
        value_settings: { event_payload_key: METER_VALUE_KEY },
      }));
    meterIds.set(eventName, meter.id);
    objects.push({ kind: 'meter', name: eventName, id: meter.id, action: found === undefined ? 'created' : 'found' });
  }

  const existingPrices = new Map<string, Stripe.Price>();
  const keys = wanted.prices.map((p) => p.lookupKey);
  // Stripe takes at most 10 lookup keys per list request.
  for (let i = 0; i < keys.length; i += 10) {
    for (const price of await stripe.prices.list({ lookup_keys: keys.slice(i, i + 10), active: true, limit: 100 }).autoPagingToArray({ limit: 1000 })) {
      if (price.lookup_key !== null) existingPrices.set(price.lookup_key, price);
    }
  }
  for (const want of wanted.prices) {
    const found = existingPrices.get(want.lookupKey);
    if (found !== undefined) {
      objects.push({ kind: `${want.kind} price`, name: want.lookupKey, id: found.id, action: 'found' });
      continue;
    }
    let product: Stripe.Product;
    let productAction: Action = 'found';
    try {
      product = await stripe.products.retrieve(want.productId);
    } catch (err) {
      if (!isMissing(err)) throw err;
      product = await stripe.products.create({ id: want.productId, name: want.name, metadata: { tollgate: want.kind } });
      productAction = 'created';
    }
    objects.push({ kind: 'product', name: want.name, id: product.id, action: productAction });
    const recurring: Stripe.PriceCreateParams.Recurring | undefined =
      want.recurring === undefined ? undefined : want.recurring.usage === 'metered' ? { interval: 'month', usage_type: 'metered', meter: meterIds.get(want.recurring.meter)! } : { interval: 'month' };
    const price = await stripe.prices.create({
      product: product.id,
      currency: options.currency,
      unit_amount: want.unitAmount,
      lookup_key: want.lookupKey,
      nickname: want.name,
      ...(recurring === undefined ? {} : { recurring }),
    });
    objects.push({ kind: `${want.kind} price`, name: want.lookupKey, id: price.id, action: 'created' });
  }

  const webhookEndpoint = options.webhookUrl === undefined ? undefined : await ensureWebhookEndpoint(stripe, options.webhookUrl);
  const eventDestination = options.webhookUrl === undefined ? undefined : await ensureEventDestination(stripe, options.webhookUrl);
  // The webhook takes both: the endpoint's snapshot events and the destination's thin ones, each signed with its own secret.
  const signingSecrets = [webhookEndpoint?.secret ?? 'whsec_...', eventDestination?.secret ?? 'whsec_...'].join(',');
  const { config } = options;
  const secrets: Array<SetupResult['secrets'][number]> = [
    {
      secret: config.stripeWebhookSecretName,
      holds: "the signing secrets of the webhook endpoint and of the event destination (thin events), comma-separated",
      command: `aws secretsmanager put-secret-value --secret-id ${config.stripeWebhookSecretName} --secret-string '${signingSecrets}'`,
    },
    ...(config.stripeApiKeySecretName === undefined
      ? []
      : [
          {
            secret: config.stripeApiKeySecretName,
            holds: 'a restricted Stripe API key (read Subscriptions, Entitlements, Prices; write Checkout Sessions, Billing Portal Sessions, Meter Events)',
            command: `aws secretsmanager create-secret --name ${config.stripeApiKeySecretName} --secret-string 'rk_${options.mode}_...'`,
          },
        ]),
  ];
  const notes = [
    ...(webhookEndpoint === undefined ? [`webhook endpoint: not set up (no URL): deploy, then run again with --outputs cdk-outputs.json or --webhook-url <${STACK_OUTPUTS.stripeWebhookUrl}>`] : []),
    ...(webhookEndpoint !== undefined && webhookEndpoint.secret === undefined
      ? ['the signing secret of an existing endpoint is shown only when it is created: reveal it in the Stripe Dashboard (Developers → Webhooks → the endpoint)']
      : []),
    ...(eventDestination !== undefined && eventDestination.secret === undefined
      ? ["the signing secret of an existing event destination is shown only when it is created: reveal it in Stripe's Workbench (Webhooks → the destination)"]
      : []),
    ...(config.stripeApiKeySecretName === undefined ? ['no tollgate:stripeApiKeySecretName: the portal takes no payment and metering reports nothing to Stripe until you name one'] : []),
    ...wanted.byId.map((id) => `${id}: named by price id, so it exists already: nothing created`),
    ...(wanted.entitlements.length === 0 ? [] : [`entitlements the API requires (create each feature and attach it to a plan's product in Stripe): ${wanted.entitlements.join(', ')}`]),
    ...(wanted.meters.length === 0 ? [] : [`a plan that bills overage needs its meter's price on the subscription beside the plan's: ${wanted.meters.map(meteredLookupKey).join(', ')}`]),
  ];
  return { mode: options.mode, objects, ...(webhookEndpoint === undefined ? {} : { webhookEndpoint }), ...(eventDestination === undefined ? {} : { eventDestination }), secrets, notes };
}

/** Whether an endpoint's or destination's events are exactly these, in any order. */
const sameEvents = (enabled: readonly string[], events: readonly string[]): boolean => enabled.length === events.length && events.every((e) => enabled.includes(e));

/** The endpoint for `url` with exactly the events tollgate handles: found (and its events corrected) or created. */
async function ensureWebhookEndpoint(stripe: Stripe, url: string): Promise<NonNullable<SetupResult['webhookEndpoint']>> {
  const events = [...HANDLED_EVENT_TYPES];
  const found = (await stripe.webhookEndpoints.list({ limit: 100 }).autoPagingToArray({ limit: 1000 })).find((e) => e.url === url);
  if (found === undefined) {
    const created = await stripe.webhookEndpoints.create({ url, enabled_events: events, api_version: STRIPE_API_VERSION, description: 'tollgate: payment state for the paywalled API' });
    return { id: created.id, url, action: 'created', ...(created.secret === undefined ? {} : { secret: created.secret }) };
  }
  if (sameEvents(found.enabled_events, events)) return { id: found.id, url, action: 'found' };
  await stripe.webhookEndpoints.update(found.id, { enabled_events: events });
  return { id: found.id, url, action: 'updated' };
}

const EVENT_DESTINATION_NAME = 'tollgate meter error reports';

/** The thin-event destination for `url` with exactly the thin events tollgate handles: found (and corrected) or created. */
async function ensureEventDestination(stripe: Stripe, url: string): Promise<NonNullable<SetupResult['eventDestination']>> {
  const events = [...HANDLED_THIN_EVENT_TYPES];
  const all = await stripe.v2.core.eventDestinations.list({ include: ['webhook_endpoint.url'], limit: 100 }).autoPagingToArray({ limit: 1000 });
  const found = all.find((d) => d.type === 'webhook_endpoint' && d.event_payload === 'thin' && d.webhook_endpoint?.url === url);
  if (found === undefined) {
    const created = await stripe.v2.core.eventDestinations.create({
      name: EVENT_DESTINATION_NAME,
      description: "tollgate: Stripe's reports of meter events it could not apply",
      type: 'webhook_endpoint',
      event_payload: 'thin',
      enabled_events: events,
      webhook_endpoint: { url },
      include: ['webhook_endpoint.signing_secret'],
    });
    const secret = created.webhook_endpoint?.signing_secret;
    return { id: created.id, url, action: 'created', ...(secret === undefined ? {} : { secret }) };
  }
  if (sameEvents(found.enabled_events, events)) return { id: found.id, url, action: 'found' };
  await stripe.v2.core.eventDestinations.update(found.id, { enabled_events: events });
  return { id: found.id, url, action: 'updated' };
}

/** `sk_test_…`/`rk_test_…` → test; `sk_live_…`/`rk_live_…` → live; anything else is not a secret key. */
export function keyMode(key: string): 'test' | 'live' | undefined {
  const match = /^(?:sk|rk)_(test|live)_\S+$/.exec(key);
  return match === null ? undefined : (match[1] as 'test' | 'live');
}

function parseAmounts(values: readonly string[]): Map<string, number> {
  const amounts = new Map<string, number>();
  for (const value of values) {
    const match = /^([A-Za-z0-9._-]+)=(\d+)$/.exec(value);
    if (match === null) throw new UsageError(`--price "${value}" is invalid: give <lookup_key>=<amount in cents>, such as pro=2900`);
    amounts.set(match[1]!, Number(match[2]));
  }
  return amounts;
}

function webhookUrlOf(ctx: Context): string | undefined {
  const given = stringValue(ctx.values, 'webhook-url');
  if (given !== undefined) {
    if (!/^https:\/\/\S+$/.test(given) || !URL.canParse(given)) throw new UsageError(`--webhook-url "${given}" is not an https URL: Stripe delivers only to https endpoints`);
    return given;
  }
  const outputs = stringValue(ctx.values, 'outputs');
  return outputs === undefined ? undefined : readOutputs(outputs)[STACK_OUTPUTS.stripeWebhookUrl];
}

const setup: CommandSpec = {
  name: 'setup',
  summary: 'create the products, prices, meters and webhook endpoint the configuration names (test mode; safe to run again)',
  synopsis: '[--outputs <file>] [--webhook-url <url>] [--price <lookup_key>=<cents>]... [--currency <code>] [--live]',
  description: [
    'Creates in Stripe what the configuration names: a product and a monthly price per plan (tollgate:plans, with',
    'its lookup key), a product and a one-time price per credit pack, a billing meter and a metered price per meter',
    'the plans and routes name, the webhook endpoint of the deployed stack with exactly the events tollgate',
    'handles, and an event destination sending the thin events it handles (meter error reports) to the same URL.',
    'Everything is looked up first (prices by lookup key, meters by event_name, the endpoint by URL), so',
    'running it again creates nothing. Uses STRIPE_API_KEY, a test-mode key unless --live is given. Prints what it',
    'created or found, then each secret the stack reads and the command that sets it.',
  ].join('\n'),
  arguments: [],
  options: {
    'webhook-url': { type: 'string', value: '<url>', help: `the stack's ${STACK_OUTPUTS.stripeWebhookUrl} (default: from --outputs; neither: no endpoint)` },
    price: { type: 'string', multiple: true, value: '<lookup_key>=<cents>', help: 'the amount of a new price (default: plans 2000, quota plans 500, packs 1000, metered 1 per unit)' },
    currency: { type: 'string', value: '<code>', help: 'currency of new prices (default: usd)' },
    live: { type: 'boolean', help: 'allow a live-mode key (sk_live_…, rk_live_…)' },
  },
  run: async (ctx) => {
    const key = ctx.io.env.STRIPE_API_KEY ?? '';
    if (key === '') throw new CliError('set STRIPE_API_KEY to a test-mode secret key (sk_test_…), or a restricted key that may write products, prices, billing meters and webhook endpoints');
    const mode = keyMode(key);
    if (mode === undefined) throw new CliError('STRIPE_API_KEY is not a Stripe secret key: use sk_test_… or rk_test_… (sk_live_… with --live)');
    if (mode === 'live' && ctx.values.live !== true) throw new CliError('STRIPE_API_KEY is a live-mode key: run it in test mode first (sk_test_…), or pass --live to change your live account');
    const currency = (stringValue(ctx.values, 'currency') ?? 'usd').toLowerCase();
    if (!/^[a-z]{3}$/.test(currency)) throw new UsageError(`--currency "${currency}" is not a currency code: use three letters, such as usd or eur`);
    const priceValues = ctx.values.price;
    const amounts = parseAmounts(Array.isArray(priceValues) ? priceValues : typeof priceValues === 'string' ? [priceValues] : []);
    const webhookUrl = webhookUrlOf(ctx);
    const config = loadProjectConfig(ctx.io.root);
    const wanted = wantedObjects(config, loadApiDocument(config.openApiDocument, ctx.io.root), amounts);
    const stripe = ctx.io.stripe?.(key) ?? new Stripe(key, { maxNetworkRetries: 2, timeout: 20_000 });
    const result = await setUpStripe(stripe, wanted, { mode, currency, config, ...(webhookUrl === undefined ? {} : { webhookUrl }) });
    ctx.print(describeSetup(result), result);
  },
};

export function describeSetup(result: SetupResult): string {
  const width = Math.max(0, ...result.objects.map((o) => o.kind.length));
  const endpoint = result.webhookEndpoint;
  const destination = result.eventDestination;
  return [
    `stripe (${result.mode} mode):`,
    ...result.objects.map((o) => `  ${o.action.padEnd(7)}  ${o.kind.padEnd(width)}  ${o.name}  ${o.id}`),
    ...(endpoint === undefined ? [] : [`  ${endpoint.action.padEnd(7)}  ${'webhook endpoint'.padEnd(width)}  ${endpoint.url}  ${endpoint.id} (${HANDLED_EVENT_TYPES.length} event types)`]),
    ...(destination === undefined ? [] : [`  ${destination.action.padEnd(7)}  ${'event destination'.padEnd(width)}  ${destination.url}  ${destination.id} (thin: ${HANDLED_THIN_EVENT_TYPES.join(', ')})`]),
    ...(endpoint?.secret === undefined ? [] : ['', `webhook signing secret (shown only this once by Stripe): ${endpoint.secret}`]),
    ...(destination?.secret === undefined ? [] : [`event destination signing secret (shown only this once by Stripe): ${destination.secret}`]),
    '',
    'secrets the stack reads, and how to set them:',
    ...result.secrets.flatMap((s) => [`  ${s.secret}: ${s.holds}`, `    ${s.command}`]),
    ...(result.notes.length === 0 ? [] : ['', ...result.notes.map((n) => `note: ${n}`)]),
  ].join('\n');
}

export const STRIPE: CommandGroup = {
  name: 'stripe',
  summary: 'the Stripe side: products, prices, meters and the webhook endpoint',
  commands: [setup],
};
