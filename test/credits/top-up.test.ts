import { chargeDue, CHARGE_RETRY_SECONDS, failureWords, type TopUp } from '../../lambda/shared/customers/top-up';
import { EventShapeError, interpret, parseEnvelope } from '../../lambda/webhook/events';
import { buildStripeEvent } from '../../lib/stripe-events/event';

// Auto top-up's rules without I/O: when a charge is due, and how the webhook reads a top-up's PaymentIntent events.

const NOW = new Date('2026-12-07T12:00:00Z');
const T = NOW.getTime() / 1000;
const READY: TopUp = { pack: 'credits_100', credits: 100, price: 'credits_100', below: 10, method: 'pm_1', state: 'armed' };

describe('when a top-up charge is due', () => {
  it('only below the threshold, ready (pack, threshold, card) and armed: a fresh attempt each crossing', () => {
    const due = chargeDue(READY, 9, NOW);
    expect(due).toEqual({ attempt: expect.stringMatching(/^tu_[0-9A-Za-z]{22}$/), retry: false });
    expect(chargeDue(READY, 9, NOW)!.attempt).not.toBe(due!.attempt);
    expect(chargeDue(READY, 10, NOW)).toBeUndefined();
    // A customer that never had credits has none: below any threshold.
    expect(chargeDue(READY, undefined, NOW)).toBeDefined();
    const { method: _card, ...noCard } = READY;
    expect(chargeDue({ ...noCard }, 0, NOW)).toBeUndefined();
    expect(chargeDue({ ...READY, state: 'failed', failure: 'card_declined' }, 0, NOW)).toBeUndefined();
    expect(chargeDue(undefined, 0, NOW)).toBeUndefined();
  });

  it('a charge under way is claimed again only after the retry time, with its own attempt (Stripe answers that idempotency key with the first charge)', () => {
    const charging: TopUp = { ...READY, state: 'charging', attempt: 'tu_0123456789012345678901', at: T - CHARGE_RETRY_SECONDS + 1 };
    expect(chargeDue(charging, 0, NOW)).toBeUndefined();
    expect(chargeDue({ ...charging, at: T - CHARGE_RETRY_SECONDS }, 0, NOW)).toEqual({ attempt: 'tu_0123456789012345678901', retry: true });
  });

  it("says Stripe's decline codes in words, and something true for a code it does not know", () => {
    expect(failureWords('insufficient_funds')).toBe('the card has insufficient funds');
    expect(failureWords('authentication_required')).toMatch(/authenticate/);
    expect(failureWords('something_new')).toBe('the charge failed');
  });
});

describe("the webhook's reading of a top-up's PaymentIntent", () => {
  const read = (type: 'payment_intent.succeeded' | 'payment_intent.payment_failed', overrides = {}) => interpret(parseEnvelope(buildStripeEvent(type, { customer: 'cus_TopUp1', ...overrides })));

  it('succeeded: the pack\'s units, credited once per PaymentIntent, settling the attempt', () => {
    const got = read('payment_intent.succeeded', { credits: 100, topUpAttempt: 'tu_0123456789012345678901' });
    expect(got).toEqual({
      kind: 'change',
      customerId: 'cus_TopUp1',
      change: { stream: 'credits', credits: 100, liftCreditsBlock: false, purchaseId: expect.stringMatching(/^pi_/), topUpAttempt: 'tu_0123456789012345678901' },
    });
  });

  it("payment_failed: the attempt and Stripe's decline code", () => {
    expect(read('payment_intent.payment_failed', { topUpAttempt: 'tu_0123456789012345678901', declineCode: 'insufficient_funds' })).toEqual({
      kind: 'topUpFailed',
      customerId: 'cus_TopUp1',
      attempt: 'tu_0123456789012345678901',
      failure: 'insufficient_funds',
    });
  });

  it("ignores other PaymentIntents (the agents' purchases), and refuses a top-up attempt it cannot read", () => {
    const event = buildStripeEvent('payment_intent.succeeded', { customer: 'cus_TopUp1' }) as { data: { object: { metadata: Record<string, string> } } };
    delete event.data.object.metadata.tollgate_top_up;
    expect(interpret(parseEnvelope(event))).toEqual({ kind: 'ignored', reason: 'payment intent not an auto top-up' });
    expect(() => read('payment_intent.succeeded', { topUpAttempt: 'tu_short' })).toThrow(EventShapeError);
  });
});

describe("the webhook's reading of a saved card's SetupIntent", () => {
  const event = (overrides = {}) => buildStripeEvent('setup_intent.succeeded', { customer: 'cus_TopUp1', paymentMethod: 'pm_card4242', created: 1_700_000_000, ...overrides }) as { data: { object: Record<string, unknown> & { metadata: Record<string, string> } } };
  const read = (e: ReturnType<typeof event>) => interpret(parseEnvelope(e));

  it("the account page's card: its PaymentMethod and when it was set up, the label from an expanded PaymentMethod only", () => {
    expect(read(event())).toEqual({ kind: 'topUpCard', customerId: 'cus_TopUp1', card: { method: 'pm_card4242', setAt: 1_700_000_000 } });
    const expanded = event();
    expanded.data.object.payment_method = { id: 'pm_card4242', object: 'payment_method', type: 'card', card: { brand: 'visa', last4: '4242' } };
    expect(read(expanded)).toEqual({ kind: 'topUpCard', customerId: 'cus_TopUp1', card: { method: 'pm_card4242', setAt: 1_700_000_000, label: 'visa …4242' } });
  });

  it("ignores other SetupIntents, and refuses one whose metadata names another customer or that names no card", () => {
    const other = event();
    delete other.data.object.metadata.tollgate_customer;
    expect(read(other)).toEqual({ kind: 'ignored', reason: 'setup intent not for an auto top-up' });
    const foreign = event();
    foreign.data.object.metadata.tollgate_customer = 'cus_Someone';
    expect(() => read(foreign)).toThrow(/names another customer/);
    const cardless = event();
    cardless.data.object.payment_method = null;
    expect(() => read(cardless)).toThrow(/no payment method/);
  });
});
