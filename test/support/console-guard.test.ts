import { guardConsole } from './console-guard';

/** The guard every test runs under (jest.config.js setupFilesAfterEnv): what it records, and that a spy stands in for it. */
describe('the console guard', () => {
  it('records console.error and console.warn as written, still writes them, and forgets them once taken', () => {
    const out: unknown[][] = [];
    const fake = { error: (...args: unknown[]) => out.push(['error', ...args]), warn: (...args: unknown[]) => out.push(['warn', ...args]) };
    const guard = guardConsole(fake);
    fake.error('no key for %s', 'cus_1');
    fake.warn({ a: 1 });
    expect(guard.take()).toEqual(['console.error: no key for cus_1', 'console.warn: { a: 1 }']);
    expect(out).toEqual([['error', 'no key for %s', 'cus_1'], ['warn', { a: 1 }]]);
    expect(guard.take()).toEqual([]);
  });

  it('lets a test that captures console.error assert on it, and leaves the run guard nothing to report', () => {
    const captured = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      console.error('expected: %s', 'captured');
      expect(captured).toHaveBeenCalledWith('expected: %s', 'captured');
    } finally {
      captured.mockRestore();
    }
  });
});
