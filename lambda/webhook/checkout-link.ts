import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CUSTOMER_ID } from '../shared/customers/api-key';
import { keyState, type CustomerRecord } from '../shared/customers/record';
import { readCustomer } from '../shared/customers/store';
import type { StripeEventEnvelope } from './events';
import type { CustomerUpdate } from '../shared/customers/changes';

/**
 * Payment reaches the key it was meant for. A Payment Link or a plain Checkout URL makes a new Stripe
 * customer, while the caller's keys are bound to the customer the 402 was for; tollgate passes that
 * customer as `client_reference_id`. When a `checkout.session.completed` names a reference other than
 * the session's own customer, the payer's customer is linked to the referenced one (first link wins,
 * never changed), and from then on the payer's subscription and invoice events land on the referenced
 * customer, whose keys then get access.
 *
 * Why a reference naming someone else cannot grant anything to anyone else: the link only moves the
 * payer's own subscriptions and invoices (entries keyed by the payer's subscription ids) onto the named
 * customer. It never moves entitlements, deletion or keys, never touches the named customer's own
 * subscriptions (any subscription in good standing grants access, so a failing or canceled linked one
 * takes nothing away), and issues no key. Access follows the named customer's keys, which the payer
 * does not hold: naming a stranger pays for the stranger and gains the payer nothing. A reference to a
 * customer tollgate does not know, or one without a live key, links nothing.
 *
 * A credit pack bought through such a link (`mode: payment`, `metadata.tollgate_credits`) follows the
 * same rule: the units land on the referenced customer when it holds a live key (the payer is linked,
 * as above), else on the payer's own new customer, which holds no key. A guest checkout (no Stripe
 * customer at all, a Payment Link's default for one-time payments) names only the reference: a
 * reference without a live key then credits nobody. The event ledger applies each delivery once, and
 * Stripe sends one `checkout.session.completed` per session, so a session credits once.
 *
 * The hook is this module's `route`: the webhook calls it with every update before applying it.
 */

export const linkId = (payerCustomerId: string): string => `link#${payerCustomerId}`;

/** The events that say a Checkout Session is paid: completed (paid at once), or its delayed payment settled. */
const isPaidCheckout = (envelope: StripeEventEnvelope): boolean =>
  envelope.type === 'checkout.session.completed' || envelope.type === 'checkout.session.async_payment_succeeded';

export interface CheckoutLinkStore {
  /** The customer a payer's customer was linked to; undefined when none. */
  targetOf(payerCustomerId: string): Promise<string | undefined>;
  /** Whether tollgate knows this customer and it holds a live key (a link to anything else links nothing). */
  holdsLiveKey(customerId: string, now: Date): Promise<boolean>;
  /** Records the link unless the payer already has one; returns the target that holds (the first). */
  link(payerCustomerId: string, target: string, checkoutSessionId: string, at: Date): Promise<string>;
}

export function dynamoCheckoutLinkStore(client: DynamoDBClient, tables: { readonly customers: string; readonly events: string }): CheckoutLinkStore {
  const eventsTable = tables.events;
  const documents = DynamoDBDocumentClient.from(client);
  const targetOf = async (payer: string): Promise<string | undefined> => {
    const { Item } = await documents.send(new GetCommand({ TableName: eventsTable, Key: { eventId: linkId(payer) }, ConsistentRead: true }));
    return typeof Item?.linkedTo === 'string' ? Item.linkedTo : undefined;
  };
  return {
    targetOf,
    holdsLiveKey: async (customerId, now) => hasLiveKey(await readCustomer(client, tables.customers, customerId), now),
    link: async (payer, target, checkoutSessionId, at) => {
      try {
        await documents.send(
          new PutCommand({
            TableName: eventsTable,
            Item: { eventId: linkId(payer), type: 'tollgate.checkout_link', linkedTo: target, checkoutSessionId, linkedAt: at.toISOString() },
            ConditionExpression: 'attribute_not_exists(eventId)',
          }),
        );
        return target;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return (await targetOf(payer)) ?? target;
        throw err;
      }
    },
  };
}

/** The reference of a completed checkout that names another customer than the session's own. */
export function checkoutReference(envelope: StripeEventEnvelope, payerCustomerId: string): { reference: string; sessionId: string } | undefined {
  if (!isPaidCheckout(envelope)) return undefined;
  const { client_reference_id: reference, id } = envelope.object;
  if (typeof reference !== 'string' || !CUSTOMER_ID.test(reference) || reference === payerCustomerId || typeof id !== 'string') return undefined;
  return { reference, sessionId: id };
}

const hasLiveKey = (customer: CustomerRecord | undefined, now: Date): boolean =>
  customer !== undefined && customer.deleted !== true && Object.values(customer.apiKeys ?? {}).some((key) => keyState(key, now) === 'active');

/** An update the link rule refuses to apply to anyone, with the reason the webhook records. */
export interface Unlinked {
  readonly ignoredReason: string;
}

export interface CheckoutLinker {
  /** The update as it must be applied: re-addressed to the linked customer when the payer is linked. */
  route(envelope: StripeEventEnvelope, update: CustomerUpdate, now: Date): Promise<CustomerUpdate | Unlinked>;
}

/** A checkout that created no Stripe customer: its update is addressed to the reference alone (events.ts). */
const isGuestCheckout = (envelope: StripeEventEnvelope): boolean =>
  isPaidCheckout(envelope) && (envelope.object.customer === null || envelope.object.customer === undefined);

export function checkoutLinker(store: CheckoutLinkStore): CheckoutLinker {
  return {
    route: async (envelope, update, now) => {
      const { stream } = update.change;
      // A linked payer's entitlements: kept on the customer it pays for, apart (they count while a
      // subscription it pays for is in good standing), never the customer's own.
      if (stream === 'entitlements') {
        const target = update.change.payer === undefined ? await store.targetOf(update.customerId) : undefined;
        return target === undefined ? update : { ...update, customerId: target, change: { ...update.change, payer: update.customerId } };
      }
      // Only what the payer bought: its own subscriptions and credits, never deletion.
      if (stream !== 'subscription' && stream !== 'invoices' && stream !== 'credits') return update;
      if (stream === 'credits' && isGuestCheckout(envelope)) {
        return (await store.holdsLiveKey(update.customerId, now)) ? update : { ignoredReason: 'credits checkout names no customer with a live key: nothing credited' };
      }
      const named = checkoutReference(envelope, update.customerId);
      const target =
        named !== undefined && (await store.holdsLiveKey(named.reference, now)) ? await store.link(update.customerId, named.reference, named.sessionId, now) : await store.targetOf(update.customerId);
      if (target === undefined) return update;
      // The subscription keeps who pays for it: its overage is reported to the payer's Stripe customer.
      return update.change.stream === 'subscription' ? { ...update, customerId: target, change: { ...update.change, payer: update.customerId } } : { ...update, customerId: target };
    },
  };
}
