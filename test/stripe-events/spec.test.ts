import { buildStripeEvent, EventSpecError, specOverrides } from '../../lib/stripe-events';

describe('event specs (tollgate events send, the demo seed)', () => {
  it('addresses the event to the customer, with one subscription per customer and the plan as the price lookup key', () => {
    const now = new Date('2026-12-01T00:00:00Z');
    const event = buildStripeEvent('customer.subscription.created', specOverrides({ type: 'customer.subscription.created', customerId: 'cus_spec1', plan: 'team', id: 'evt_spec1' }, now));
    const object = (event.data as { object: Record<string, any> }).object;
    expect(event).toMatchObject({ id: 'evt_spec1', created: now.getTime() / 1000, type: 'customer.subscription.created' });
    expect(object).toMatchObject({ id: 'sub_spec1', customer: 'cus_spec1', status: 'active' });
    expect(object.items.data[0].price.lookup_key).toBe('team');
  });

  it('makes a credits purchase a paid payment-mode checkout carrying the units', () => {
    const event = buildStripeEvent('checkout.session.completed', specOverrides({ type: 'checkout.session.completed', customerId: 'cus_spec2', credits: 50 }));
    expect((event.data as { object: unknown }).object).toMatchObject({ mode: 'payment', payment_status: 'paid', metadata: { tollgate_credits: '50' }, subscription: null });
  });

  it('refuses a status on an event that is not a subscription event', () => {
    expect(() => specOverrides({ type: 'invoice.paid', customerId: 'cus_spec3', status: 'active' })).toThrow(EventSpecError);
  });
});
