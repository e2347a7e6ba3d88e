/**
 * The key with its last character replaced by another one, so the result always differs from the key
 * (a fixed replacement is the same key whenever the key already ends in it: a 1-in-62 flake).
 */
export function tamperLastCharacter(key: string): string {
  const last = key.at(-1);
  return `${key.slice(0, -1)}${last === 'x' ? 'y' : 'x'}`;
}
