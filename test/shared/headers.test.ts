import { headerValue } from '../../lambda/shared/headers';

describe('headerValue', () => {
  it.each([
    ['any case of the name', { headers: { 'STRIPE-signature': 'a' } }, 'a'],
    ['the last value of a header sent twice (headers)', { headers: { authorization: 'first', Authorization: 'last' } }, 'last'],
    ['the last value of a header sent twice (multiValueHeaders)', { headers: null, multiValueHeaders: { Authorization: ['first', 'last'] } }, 'last'],
    ['nothing when absent', { headers: { Accept: 'x' }, multiValueHeaders: null }, undefined],
  ])('reads %s', (_, event, expected) => {
    expect(headerValue(event, 'authorization') ?? headerValue(event, 'stripe-signature')).toBe(expected);
  });
});
