import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { run, startLocalStack, type LocalStack } from '../cli/support';
import { DOC_PAGES, readPage, ROOT, shellBlocks, words } from './markdown';

/**
 * The documentation's commands as a user runs them. The CLI walk-through (docs/cli.md) runs line by line
 * against a local stack; every other command block, in the README, docs/ and bench/README.md, names only
 * commands that a test or .ci/run executes.
 */

const WALK_THROUGH = 'A walk-through against `npm start`';

describe('README', () => {
  it('has the two set-up commands on its first screen', () => {
    const firstScreen = readPage('README.md').split('\n').slice(0, 40).join('\n');
    expect(firstScreen).toContain('npm install && npm start');
    expect(firstScreen).toContain('npm test');
    expect(firstScreen).toMatch(/402 Payment Required/);
    expect(firstScreen).toMatch(/protect your own API/i);
  });
});

describe('the documentation', () => {
  it.each(DOC_PAGES)('%s names only commands that the tests or .ci/run execute, or that need AWS or Stripe', (page) => {
    // Where each kind of command is run: a test file and the text it must contain.
    const runBy: Array<[RegExp, string, string]> = [
      [/^npm (install && npm start|start)\b/, 'test/local/e2e.test.ts', "spawn('npm', ['start'"],
      [/^(PORT|TOLLGATE_STATE_DIR|STRIPE_WEBHOOK_SECRET)=\S+ .*npm start\b/, 'test/local/lifecycle.test.ts', 'TOLLGATE_STATE_DIR'],
      [/^npm test$/, '.ci/run', 'npm test'],
      [/^npm run bench\b/, 'test/bench/smoke.test.ts', "'bench'"],
      [/^npm run mcp\b/, 'test/mcp/client-script.test.ts', "'mcp'"],
      [/^npx jest\b/, 'package.json', '"jest"'],
      [/^STRIPE_API_KEY=\S+ npx tollgate stripe setup\b/, 'test/cli/stripe-setup.test.ts', "'stripe', 'setup'"],
      [/^npx tollgate cost\b/, 'test/report/cost.test.ts', "'cost'"],
      [/^npx tollgate\b/, 'test/docs/readme.test.ts', 'walk-through'],
      [/^curl -i http:\/\/127\.0\.0\.1:3000\/prod\//, 'test/docs/readme.test.ts', "argv[0] === 'curl'"],
      [/^npx cdk synth\b/, 'test/stack/app-entry.test.ts', 'bin'],
      [/^node scripts\/mppx-buy\.mjs\b/, 'test/agents/mppx.integration.test.ts', 'mppx-buy.mjs'],
      [/^node scripts\/x402-buy\.mjs\b/, 'test/agents/x402.integration.test.ts', 'x402-buy.mjs'],
    ];
    // Need an AWS account or a Stripe account: documented, not runnable here.
    const external = /^(npx cdk (deploy|bootstrap)|aws |stripe )/;
    const unknown: string[] = [];
    for (const line of shellBlocks(readPage(page)).flat().map((l) => l.replace(/\s+#.*$/, ''))) {
      const covered = runBy.find(([pattern]) => pattern.test(line));
      if (covered !== undefined) {
        expect(readFileSync(path.join(ROOT, covered[1]), 'utf8')).toContain(covered[2]);
        // A test file named to run alone must exist.
        for (const file of words(line).argv.filter((word) => word.endsWith('.test.ts'))) expect({ line, exists: existsSync(path.join(ROOT, file)) }).toEqual({ line, exists: true });
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

    it('answers as docs/cli.md says, line by line', async () => {
      expect(DOC_PAGES.filter((page) => readPage(page).includes(WALK_THROUGH))).toEqual(['docs/cli.md']);
      const cli = readPage('docs/cli.md');
      const block = shellBlocks(cli.slice(cli.indexOf(WALK_THROUGH))).at(0)!;
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
