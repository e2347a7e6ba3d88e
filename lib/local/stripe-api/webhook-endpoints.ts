import type Stripe from 'stripe';
import { randomBytes } from 'node:crypto';
import { ok, stripeError, type FakeResponse, type Resource } from './server';
import { epochNow, fakeId, type FakeEventDestination, type FakeStripeStore, type FakeWebhookEndpoint } from './store';

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

/**
 * Stripe's v2 event destinations, the webhook kind (where thin events go): `GET /v2/core/event_destinations`,
 * `POST /v2/core/event_destinations` and `POST /v2/core/event_destinations/:id`. As Stripe does, the endpoint's
 * URL is redacted unless `include` asks for `webhook_endpoint.url`, and the signing secret is shown only in the
 * create response that asks for `webhook_endpoint.signing_secret`.
 */
export function eventDestinationsResource(store: FakeStripeStore): Resource {
  const shown = (destination: FakeEventDestination, include: unknown): Stripe.V2.Core.EventDestination => {
    const asked = Array.isArray(include) ? include : Object.values(include ?? {});
    return {
      ...destination,
      webhook_endpoint: {
        ...(asked.includes('webhook_endpoint.url') ? { url: destination.webhook_endpoint.url } : {}),
        ...(asked.includes('webhook_endpoint.signing_secret') ? { signing_secret: destination.webhook_endpoint.signing_secret } : {}),
      },
    };
  };
  return {
    routes: [
      {
        method: 'GET',
        pattern: /\/v2\/core\/event_destinations/,
        handle: ({ body }) => ok({ data: [...store.eventDestinations.values()].map((d) => shown(d, body.include)), next_page_url: null, previous_page_url: null }),
      },
      {
        method: 'POST',
        pattern: /\/v2\/core\/event_destinations/,
        handle: ({ body }) => {
          const params = body as unknown as Stripe.V2.Core.EventDestinationCreateParams;
          if (params.type !== 'webhook_endpoint' || (params.event_payload !== 'thin' && params.event_payload !== 'snapshot') || typeof params.name !== 'string' || params.name === '') {
            return stripeError(400, 'invalid_request_error', 'type webhook_endpoint, an event_payload (thin or snapshot) and a name are required.', { param: 'type' });
          }
          const invalid = checkEndpoint(params.webhook_endpoint?.url, params.enabled_events);
          if (invalid !== undefined) return invalid;
          const at = new Date().toISOString();
          const destination: FakeEventDestination = {
            id: fakeId('ed'),
            object: 'v2.core.event_destination',
            created: at,
            updated: at,
            description: params.description ?? '',
            enabled_events: [...params.enabled_events],
            event_payload: params.event_payload,
            livemode: false,
            name: params.name,
            status: 'enabled',
            type: 'webhook_endpoint',
            webhook_endpoint: { url: params.webhook_endpoint!.url, signing_secret: `whsec_${randomBytes(24).toString('hex')}` },
          };
          store.eventDestinations.set(destination.id, destination);
          return ok(shown(destination, params.include));
        },
      },
      {
        method: 'POST',
        pattern: /\/v2\/core\/event_destinations\/([^/]+)/,
        handle: ({ params, body }) => {
          const destination = store.eventDestinations.get(params[0]!);
          if (destination === undefined) return stripeError(404, 'invalid_request_error', `No such event destination: '${params[0]}'`, { code: 'resource_missing', param: 'id' });
          const update = body as unknown as Stripe.V2.Core.EventDestinationUpdateParams;
          const events = update.enabled_events ?? destination.enabled_events;
          const invalid = checkEndpoint(update.webhook_endpoint?.url ?? destination.webhook_endpoint.url, events);
          if (invalid !== undefined) return invalid;
          const updated: FakeEventDestination = {
            ...destination,
            enabled_events: [...events],
            updated: new Date().toISOString(),
            webhook_endpoint: { ...destination.webhook_endpoint, ...(update.webhook_endpoint?.url === undefined ? {} : { url: update.webhook_endpoint.url }) },
          };
          store.eventDestinations.set(updated.id, updated);
          return ok(shown(updated, update.include));
        },
      },
    ],
  };
}
