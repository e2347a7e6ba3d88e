import { FIXTURE_CUSTOMER, type Json, type StripeEventOverrides } from './overrides';

/** `customer.deleted`: the customer is gone. */

export function deletedCustomerObject(o: StripeEventOverrides = {}): Json {
  return { deleted: true, id: o.customer ?? FIXTURE_CUSTOMER, object: 'customer' };
}
