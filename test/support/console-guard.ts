import { format } from 'node:util';

/**
 * `npm test` prints no console.error or console.warn: a test during which code writes one fails, with
 * what was written. A test that expects one captures it (`jest.spyOn(console, 'error')`, which stands
 * in for this guard while it is in place) and asserts on it. Lambda code logs through Powertools to
 * stdout, never through console, so only a library's report or a stray debug line lands here.
 */

/** Records every console.error and console.warn of `target`, still writing them; `take` returns and forgets them. */
export function guardConsole(target: Pick<Console, 'error' | 'warn'>): { take(): string[] } {
  const written: string[] = [];
  for (const level of ['error', 'warn'] as const) {
    const original = target[level].bind(target);
    target[level] = (...args: unknown[]): void => {
      written.push(`console.${level}: ${format(...args)}`);
      original(...args);
    };
  }
  return { take: () => written.splice(0) };
}

// Jest loads this file per test file (setupFilesAfterEnv); a test file that imports guardConsole does not install it twice.
if (typeof afterEach === 'function' && !('tollgateConsoleGuard' in globalThis)) {
  Object.assign(globalThis, { tollgateConsoleGuard: true });
  const guard = guardConsole(console);
  afterEach(() => {
    expect({ unexpectedConsoleOutput: guard.take() }).toEqual({ unexpectedConsoleOutput: [] });
  });
}
