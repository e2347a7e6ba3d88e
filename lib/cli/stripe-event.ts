import type { SubscriptionStatus } from '../../lambda/shared/model';
import { buildStripeEvent as buildSharedEvent, HANDLED_EVENT_TYPES, serializeEvent, signPayload, type HandledEventType } from '../stripe-events';

/**
 * The events `tollgate events send` and the demo seed deliver: the shared builder's realistic Stripe
 * events (lib/stripe-events.ts), addressed to one customer, serialised and signed as Stripe does.
 */

export const SENDABLE_EVENT_TYPES = HANDLED_EVENT_TYPES;
export type SendableEventType = HandledEventType;

export const isSendableEventType = (value: string): value is SendableEventType => (SENDABLE_EVENT_TYPES as readonly string[]).includes(value);

export interface EventSpec {
  readonly type: SendableEventType;
  readonly customerId: string;
  /** Subscription events. @default active (canceled for .deleted, paused for .paused) */
  readonly status?: SubscriptionStatus;
  /** @default sub_<customer id without cus_>: one subscription per customer, so updates follow each other */
  readonly subscriptionId?: string;
  /** The price's lookup key (tollgate's plan). @default "pro" */
  readonly plan?: string;
  /** Entitlement summary: the active feature lookup keys. @default [] */
  readonly entitlements?: readonly string[];
  /** Invoice events: the hosted invoice page. */
  readonly paymentUrl?: string;
  /** Epoch seconds. @default now */
  readonly created?: number;
  /** @default a fresh evt_… */
  readonly id?: string;
}

export class EventSpecError extends Error {
  override readonly name = 'EventSpecError';
}

export function buildStripeEvent(spec: EventSpec, now: Date = new Date()): Record<string, unknown> {
  if (spec.status !== undefined && !spec.type.startsWith('customer.subscription.')) {
    throw new EventSpecError(`--status applies to customer.subscription.* events, not ${spec.type}`);
  }
  return buildSharedEvent(spec.type, {
    customer: spec.customerId,
    subscription: spec.subscriptionId ?? `sub_${spec.customerId.replace(/^cus_/, '')}`,
    created: spec.created ?? Math.floor(now.getTime() / 1000),
    lookupKey: spec.plan ?? 'pro',
    ...(spec.status === undefined ? {} : { status: spec.status }),
    ...(spec.entitlements === undefined ? {} : { entitlements: spec.entitlements }),
    ...(spec.paymentUrl === undefined ? {} : { invoiceUrl: spec.paymentUrl }),
    ...(spec.id === undefined ? {} : { eventId: spec.id }),
  });
}

/** The body as Stripe sends it; sign exactly these bytes. */
export const serializeStripeEvent = (event: Record<string, unknown>): string => serializeEvent(event);

/** The `Stripe-Signature` header Stripe would send for these exact bytes (computed by the Stripe SDK). */
export function signStripePayload(payload: string, secret: string, timestamp: number = Math.floor(Date.now() / 1000)): string {
  return signPayload(payload, secret, timestamp);
}
