import { SUBSCRIPTION_STATUSES, isSubscriptionStatus } from '../../lambda/shared/customers/record';
import { HANDLED_EVENT_TYPES, isHandledEventType } from '../../lambda/webhook/events';
import { buildStripeEvent, serializeEvent } from '../stripe-events/event';
import { EventSpecError, specOverrides } from '../stripe-events/spec';
import { stringValue, UsageError } from './args';
import { CliError, customerArg, type CommandGroup, type CommandSpec } from './command';
import { deliverSigned } from './delivery';
import { PARKED, REPLAY } from './parked';

const send: CommandSpec = {
  name: 'send',
  summary: 'send a signed Stripe event to the webhook',
  synopsis: '<type> --customer <cus_id> [--status <status>] [--plan <lookup_key>] [--entitlement <key>]... [--created <epoch_seconds>] [--credits <units>] [--period-end <epoch_seconds>] [--secret-id <id>]',
  description: [
    'Builds a realistic Stripe event, signs it with the webhook signing secret as Stripe does, and posts it',
    'to the webhook URL. The signing secret: --secret-id when given, else STRIPE_WEBHOOK_SECRET when set,',
    'else the one the target provides (locally, the secret npm start uses).',
  ].join('\n'),
  arguments: [
    {
      name: '<type>',
      help: HANDLED_EVENT_TYPES.join(', '),
      missing: `missing the event type <type>: use one of ${HANDLED_EVENT_TYPES.join(', ')}`,
    },
  ],
  options: {
    customer: { type: 'string', value: '<cus_id>', help: 'the Stripe customer id' },
    status: { type: 'string', value: '<status>', help: `subscription events: ${SUBSCRIPTION_STATUSES.join(', ')}` },
    plan: { type: 'string', value: '<lookup_key>', help: 'the price lookup key (default: pro)' },
    entitlement: { type: 'string', multiple: true, value: '<key>', help: 'entitlement summary: an active feature lookup key (repeat for several)' },
    created: { type: 'string', value: '<epoch_seconds>', help: "the event's created time (default: now)" },
    credits: { type: 'string', value: '<units>', help: 'checkout.session.completed: a paid credits top-up of this many units' },
    'period-end': { type: 'string', value: '<epoch_seconds>', help: "subscription and invoice events: the period's end (a later one renews; default: created + 30 days)" },
    'secret-id': { type: 'string', value: '<id>', help: 'deployed: the Secrets Manager secret holding the signing secret' },
  },
  run: async (ctx) => {
    const type = ctx.positionals[0]!;
    if (!isHandledEventType(type)) throw new UsageError(`unknown event type "${type}": use one of ${HANDLED_EVENT_TYPES.join(', ')}`);
    const customerId = customerArg(stringValue(ctx.values, 'customer'), 'the customer (--customer <cus_id>)');
    const status = stringValue(ctx.values, 'status');
    if (status !== undefined && !isSubscriptionStatus(status)) {
      throw new UsageError(`unknown subscription status "${status}": use one of ${SUBSCRIPTION_STATUSES.join(', ')}`);
    }
    const createdText = stringValue(ctx.values, 'created');
    const created = createdText === undefined ? undefined : Number(createdText);
    if (created !== undefined && (createdText?.trim() === '' || !Number.isSafeInteger(created) || created < 0)) {
      throw new UsageError(`--created "${createdText}" is invalid: give epoch seconds`);
    }
    const whole = (name: string, min: number): number | undefined => {
      const text = stringValue(ctx.values, name);
      if (text === undefined) return undefined;
      if (!/^\d{1,12}$/.test(text) || Number(text) < min) throw new UsageError(`--${name} "${text}" is invalid: give a whole number${min > 0 ? ` ≥ ${min}` : ''}`);
      return Number(text);
    };
    const credits = whole('credits', 1);
    const periodEnd = whole('period-end', 0);
    if (credits !== undefined && type !== 'checkout.session.completed') throw new UsageError(`--credits applies to checkout.session.completed, not ${type}`);
    const entitlements = Array.isArray(ctx.values.entitlement) ? ctx.values.entitlement : undefined;
    const plan = stringValue(ctx.values, 'plan');
    let event: Record<string, unknown>;
    try {
      event = buildStripeEvent(
        type,
        specOverrides(
          {
            type,
            customerId,
            ...(status === undefined ? {} : { status }),
            ...(plan === undefined ? {} : { plan }),
            ...(entitlements === undefined ? {} : { entitlements }),
            ...(created === undefined ? {} : { created }),
            ...(credits === undefined ? {} : { credits }),
            ...(periodEnd === undefined ? {} : { periodEnd }),
          },
          ctx.now,
        ),
      );
    } catch (err) {
      if (err instanceof EventSpecError) throw new UsageError(err.message);
      throw err;
    }
    const payload = serializeEvent(event);
    const delivery = await deliverSigned(ctx, payload, `${type} ${String(event.id)}`);
    const { body } = delivery;
    const result = { eventId: event.id, type, customerId, webhookUrl: delivery.webhookUrl, status: delivery.status, response: body };
    if (!delivery.ok) throw new CliError(`the webhook answered ${delivery.status} to ${type} ${String(event.id)}: ${body}`);
    ctx.print(`${type} ${String(event.id)} → ${delivery.status} ${body}`, result);
  },
};

export const EVENTS: CommandGroup = {
  name: 'events',
  summary: 'Stripe events: built, signed and delivered as Stripe does, to try the webhook; parked events listed and replayed',
  commands: [send, PARKED, REPLAY],
};
