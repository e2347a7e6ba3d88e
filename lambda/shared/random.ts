import { randomBytes } from 'node:crypto';

/** Digits, then upper-case, then lower-case letters: the order base-62 numbers are written in. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` random letters and digits, each equally likely: bytes ≥ 248 (= 4 × 62) are dropped, not folded. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62_ALPHABET[byte % 62];
    }
  }
  return out;
}
