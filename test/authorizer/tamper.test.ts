import { tamperLastCharacter } from '../support/keys';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('tamperLastCharacter', () => {
  it.each([...BASE62])('changes only the last character of a key ending in %s', (last) => {
    const key = `tg_test_cus_Tamper_4fQ9xk2B7uV0pZc1qLw8eRtY5nMdA3sK0bX${last}`;
    const tampered = tamperLastCharacter(key);
    expect(tampered).not.toBe(key);
    expect(tampered.slice(0, -1)).toBe(key.slice(0, -1));
  });
});
