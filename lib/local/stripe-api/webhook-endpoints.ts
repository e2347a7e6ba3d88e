import type Stripe from 'stripe';
import { randomBytes } from 'node:crypto';
import { ok, stripeError, type FakeResponse, type Resource } from './server';
import { epochNow, fakeId, type FakeStripeStore, type FakeWebhookEndpoint } from './store';

/**
 * `GET /v1/webhook_endpoints`, `POST /v1/webhook_endpoints` (the signing secret in that response only,
 * as Stripe shows it once) and `POST /v1/webhook_endpoints/:id` (enabled events, url).
 */
export function webhookEndpointsResource(store: FakeStripeStore): Resource {
  return {
    routes: [
      {
        method: 'GET',
        pattern: /\/v1\/webhook_endpoints/,
        handle: () => ok({ object: 'list', data: [...store.webhookEndpoints.values()], has_more: false, url: '/v1/webhook_endpoints' }),
      },
      {
        method: 'POST',
        pattern: /\/v1\/webhook_endpoints/,
        handle: ({ body }) => {
          const params = body as unknown as Stripe.WebhookEndpointCreateParams;
          const invalid = checkEndpoint(params.url, params.enabled_events);
          if (invalid !== undefined) return invalid;
          const endpoint: FakeWebhookEndpoint = {
            id: fakeId('we'),
            object: 'webhook_endpoint',
            api_version: params.api_version ?? null,
            created: epochNow(),
            description: typeof params.description === 'string' ? params.description : null,
            enabled_events: [...params.enabled_events],
            livemode: false,
            metadata: {},
            status: 'enabled',
            url: params.url,
          };
          store.webhookEndpoints.set(endpoint.id, endpoint);
          const created: Stripe.WebhookEndpoint = { ...endpoint, application: null, secret: `whsec_${randomBytes(24).toString('hex')}` };
          return ok(created);
        },
      },
      {
        method: 'POST',
        pattern: /\/v1\/webhook_endpoints\/([^/]+)/,
        handle: ({ params, body }) => {
          const endpoint = store.webhookEndpoints.get(params[0]!);
          if (endpoint === undefined) return stripeError(404, 'invalid_request_error', `No such webhook endpoint: '${params[0]}'`, { code: 'resource_missing', param: 'id' });
          const update = body as unknown as Stripe.WebhookEndpointUpdateParams;
          const invalid = checkEndpoint(update.url ?? endpoint.url, update.enabled_events ?? endpoint.enabled_events);
          if (invalid !== undefined) return invalid;
          const updated: FakeWebhookEndpoint = { ...endpoint, ...(update.url === undefined ? {} : { url: update.url }), ...(update.enabled_events === undefined ? {} : { enabled_events: [...update.enabled_events] }) };
          store.webhookEndpoints.set(updated.id, updated);
          return ok(updated);
        },
      },
    ],
  };
}

function checkEndpoint(url: unknown, events: unknown): FakeResponse | undefined {
  if (typeof url !== 'string' || !URL.canParse(url)) return stripeError(400, 'invalid_request_error', 'Invalid URL: must be a valid URL.', { param: 'url' });
  if (!Array.isArray(events) || events.length === 0 || !events.every((e) => typeof e === 'string')) {
    return stripeError(400, 'invalid_request_error', 'Missing required param: enabled_events.', { param: 'enabled_events' });
  }
  return undefined;
}
