import { ConditionalCheckFailedException, DynamoDBServiceException, ProvisionedThroughputExceededException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import Stripe from 'stripe';
import { CorruptRecordError } from '../../lambda/shared/customers/item';
import { EventShapeError } from '../../lambda/webhook/events';
import { classifyFailure, type FailureClass } from '../../lambda/webhook/failures';
import { CustomerItemFullError, StoreError } from '../../lambda/webhook/store';

const service = (name: string, fault: 'client' | 'server' = 'client') => new DynamoDBServiceException({ name, $fault: fault, $metadata: {}, message: `${name} (test)` });
const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({ $metadata: {}, message: 'Transaction cancelled', CancellationReasons: codes.map((Code) => ({ Code })) });
const wrapped = (err: Error) => new StoreError('the payment state transaction was cancelled (test)', { cause: err });
const stripeError = (status: number) => Stripe.errors.StripeError.generate({ type: status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error', message: 'test', statusCode: status } as never);
const networkError = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const timeout = Object.assign(new Error('Connection timed out after 3000 ms'), { name: 'TimeoutError' });

const PERMANENT: Array<[string, unknown, string]> = [
  ['an event shape tollgate cannot apply', new EventShapeError('the subscription has an unknown status "bogus"'), 'event_shape'],
  ['a customer item that fails validation', new CorruptRecordError('customer cus_1: attribute subscriptions is not a map'), 'corrupt_record'],
  ['the item holding as much as it may', new CustomerItemFullError('customer cus_1 holds 100 subscriptions'), 'item_limit'],
  ['a DynamoDB ValidationException (item over 400 KB, bad expression)', service('ValidationException'), 'invalid_write'],
  ['a transaction cancelled for a validation error', cancelled('None', 'ValidationError'), 'invalid_write'],
  ["the store's wrap of a transaction cancelled for a validation error", wrapped(cancelled('None', 'ValidationError')), 'invalid_write'],
  ['stripe refusing the re-fetch with 400', stripeError(400), 'stripe_refused'],
  ['stripe refusing the re-fetch with 404', stripeError(404), 'stripe_refused'],
];

const TRANSIENT: Array<[string, unknown]> = [
  ['ProvisionedThroughputExceededException', new ProvisionedThroughputExceededException({ $metadata: {}, message: 'throttled' })],
  ['ThrottlingException', service('ThrottlingException')],
  ['RequestLimitExceeded', service('RequestLimitExceeded')],
  ['an internal server error', service('InternalServerError', 'server')],
  ['a timeout', timeout],
  ['a network error', networkError],
  ['a transaction conflict', cancelled('None', 'TransactionConflict')],
  ["the store's wrap of a race it kept losing", wrapped(cancelled('TransactionConflict', 'None'))],
  ['a throttled transaction', wrapped(cancelled('None', 'ThrottlingError'))],
  ['a conditional race surfacing as ConditionalCheckFailed', new ConditionalCheckFailedException({ $metadata: {}, message: 'race' })],
  ['stripe rate limiting (429)', stripeError(429)],
  ['stripe failing (500)', stripeError(500)],
  ['stripe unreachable', new Stripe.errors.StripeConnectionError({ message: 'connection refused' })],
  ['the cache flush failing', Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' })],
  ['a missing table (a deploy fixes it; the retry then applies)', service('ResourceNotFoundException')],
  ['an error nobody foresaw', new TypeError('cannot read properties of undefined')],
  ['something thrown that is not an Error', 'a string'],
];

describe('classifyFailure', () => {
  it.each(PERMANENT)('parks %s', (_, err, cause) => {
    expect(classifyFailure(err)).toEqual<FailureClass>({ kind: 'permanent', cause: cause as never });
  });

  it.each(TRANSIENT)('leaves %s to stripe retries', (_, err) => {
    expect(classifyFailure(err)).toEqual<FailureClass>({ kind: 'transient' });
  });
});
