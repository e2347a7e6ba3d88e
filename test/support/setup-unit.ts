import type * as ChildProcess from 'node:child_process';

/**
 * The unit project's promise, kept as each of its test files loads: no child process, no DynamoDB
 * Local, no synth. A unit test that reaches for one fails with where it belongs, rather than quietly
 * slowing the suite that must stay under a minute on two cores.
 */
process.env.TOLLGATE_TEST_PROJECT = 'unit';
delete process.env.TOLLGATE_TEST_DYNAMODB_ENDPOINT;
delete process.env.TOLLGATE_TEST_TEMPLATE;

for (const name of ['child_process', 'node:child_process']) {
  jest.mock(name, () => {
    const actual = jest.requireActual<typeof ChildProcess>('node:child_process');
    const refused = (fn: string) => (): never => {
      throw new Error(`child_process.${fn} in a unit test: list this file under integration or e2e in jest.config.js`);
    };
    return { ...actual, ...Object.fromEntries(['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'].map((fn) => [fn, refused(fn)])) };
  });
}
