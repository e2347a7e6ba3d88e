import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT, run, startLocalStack, type LocalStack } from '../cli/support';

/**
 * The README's commands as a user runs them. The CLI walk-through runs line by line against a local
 * stack; every other command block names only commands that a test or .ci/run executes.
 */

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The ```sh blocks, each as its command lines (comments and continuations joined). */
function shellBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
}

/** Words of a command line, as a POSIX shell splits them (quotes, no expansion), without its `# comment`. */
function words(line: string): { argv: string[]; comment: string } {
  const argv: string[] = [];
  let rest = line;
  for (;;) {
    rest = rest.trimStart();
    if (rest === '' || rest.startsWith('#')) break;
    const m = /^(?:"([^"]*)"|'([^']*)'|([^\s"']+))+/.exec(rest)!;
    argv.push(m[0].replace(/"([^"]*)"|'([^']*)'/g, '$1$2'));
    rest = rest.slice(m[0].length);
  }
  return { argv, comment: rest.replace(/^#\s*/, '') };
}

describe('README', () => {
  it('has the two set-up commands on its first screen', () => {
    const firstScreen = README.split('\n').slice(0, 40).join('\n');
    expect(firstScreen).toContain('npm install && npm start');
    expect(firstScreen).toContain('npm test');
    expect(firstScreen).toMatch(/402 Payment Required/);
    expect(firstScreen).toMatch(/protect your own API/i);
  });

  it('names only commands that the tests or .ci/run execute, or that need AWS or Stripe', () => {
    // Where each kind of command is run: a test file and the text it must contain.
    const runBy: Array<[RegExp, string, string]> = [
      [/^npm (install && npm start|start)\b/, 'test/local/e2e.test.ts', "spawn('npm', ['start'"],
      [/^(PORT|TOLLGATE_STATE_DIR|STRIPE_WEBHOOK_SECRET)=\S+ .*npm start\b/, 'test/local/lifecycle.test.ts', 'TOLLGATE_STATE_DIR'],
      [/^npm test$/, '.ci/run', 'npm test'],
      [/^npm run bench\b/, 'test/bench/smoke.test.ts', "'bench'"],
      [/^npx jest\b/, 'package.json', '"jest"'],
      [/^npx tollgate\b/, 'test/docs/readme.test.ts', 'walk-through'],
      [/^curl -i http:\/\/127\.0\.0\.1:3000\/prod\//, 'test/docs/readme.test.ts', "argv[0] === 'curl'"],
      [/^npx cdk synth\b/, 'test/stack/app-entry.test.ts', 'bin'],
    ];
    // Need an AWS account or a Stripe account: documented, not runnable here.
    const external = /^(npx cdk (deploy|bootstrap)|aws |stripe )/;
    const unknown: string[] = [];
    for (const line of shellBlocks(README).flat().map((l) => l.replace(/\s+#.*$/, ''))) {
      const covered = runBy.find(([pattern]) => pattern.test(line));
      if (covered !== undefined) {
        expect(readFileSync(path.join(ROOT, covered[1]), 'utf8')).toContain(covered[2]);
      } else if (!external.test(line)) {
        unknown.push(line);
      }
    }
    expect(unknown).toEqual([]);
  });

  describe('the CLI walk-through', () => {
    let stack: LocalStack;
    beforeAll(async () => {
      stack = await startLocalStack('readme');
    });
    afterAll(() => stack.stop());

    it('answers as the README says, line by line', async () => {
      const block = shellBlocks(README.slice(README.indexOf('A walk-through against `npm start`'))).at(0)!;
      expect(block.length).toBeGreaterThanOrEqual(8);
      let key = '';
      let keyId = '';
      for (const line of block) {
        const { argv, comment } = words(line);
        if (argv[0] === 'npx' && argv[1] === 'tollgate') {
          const args = argv.slice(2).map((a) => (a === '<keyId>' ? keyId : a));
          const result = await run([...args, '--json'], stack.env);
          expect({ line, code: result.code, stderr: result.stderr }).toEqual({ line, code: 0, stderr: '' });
          if (args[0] === 'keys' && args[1] === 'create') ({ key, keyId } = JSON.parse(result.stdout) as { key: string; keyId: string });
        } else if (argv[0] === 'curl') {
          const url = argv.find((a) => a.startsWith('http://127.0.0.1:3000/prod/'))!;
          const response = await stack.get(url.slice('http://127.0.0.1:3000/prod/'.length), key);
          const [status, reason] = comment.split(/\s+/);
          expect({ line, status: response.status }).toEqual({ line, status: Number(status) });
          if (reason !== undefined && /^[a-z]+_[a-z_]+$/.test(reason)) expect(((await response.json()) as { reason: string }).reason).toBe(reason);
        } else {
          throw new Error(`the walk-through has a line this test cannot run: ${line}`);
        }
      }
    });
  });
});
