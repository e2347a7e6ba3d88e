import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

/**
 * The client as a caller's project installs it: `tollgate/client` resolves, through the package's
 * exports, to the JavaScript `npm run prepare` compiles into client/dist, which runs in plain Node
 * (no tsx, no TypeScript), required or imported; and its declarations type-check a consumer file.
 */

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
let project: string;

/** A caller's script: a server answering 402 as tollgate does, and the client turning it into a typed error. */
const CONSUMER = (load: string) => `${load}
const http = require('node:http');
const server = http.createServer((req, res) => {
  res.writeHead(402, { 'Content-Type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'https://api.example.com/prod/tollgate/problems/quota_exceeded', title: 'Quota exceeded', status: 402, detail: 'Used up.', reason: 'quota_exceeded', paymentUrl: 'https://pay.example/x', limit: 20, used: 20, auth: req.headers.authorization }));
});
server.listen(0, '127.0.0.1', async () => {
  const api = client.createTollgateClient({ baseUrl: 'http://127.0.0.1:' + server.address().port + '/prod', apiKey: 'tg_test_key' });
  try {
    await api.fetch('/v1/search');
    console.log('no error');
  } catch (err) {
    console.log(JSON.stringify({ typed: err instanceof client.PaymentRequiredError, name: err.name, reason: err.reason, paymentUrl: err.paymentUrl, usage: err.usage }));
  }
  server.close();
});
`;

beforeAll(async () => {
  // The same build npm ci runs (prepare), so the test sees the JavaScript of the current source.
  await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'client', 'tsconfig.json')], { cwd: ROOT });
  project = mkdtempSync(path.join(tmpdir(), 'tollgate-client-consumer-'));
  mkdirSync(path.join(project, 'node_modules'));
  symlinkSync(ROOT, path.join(project, 'node_modules', 'tollgate'), 'dir');
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
}, 120_000);
afterAll(() => rmSync(project, { recursive: true, force: true }));

// Plain Node: no loader a caller would not have.
const plainNode = (file: string) => run(process.execPath, [file], { cwd: project, env: { PATH: process.env.PATH ?? '' } });

const EXPECTED = { typed: true, name: 'PaymentRequiredError', reason: 'quota_exceeded', paymentUrl: 'https://pay.example/x', usage: { limit: 20, used: 20, auth: 'Bearer tg_test_key' } };

describe('the client package export', () => {
  it('resolves to JavaScript that runs in plain Node when required', async () => {
    expect(require.resolve('tollgate/client', { paths: [project] })).toBe(path.join(ROOT, 'client', 'dist', 'index.js'));
    writeFileSync(path.join(project, 'consumer.cjs'), CONSUMER("const client = require('tollgate/client');"));
    const { stdout } = await plainNode('consumer.cjs');
    expect(JSON.parse(stdout)).toEqual(EXPECTED);
  });

  it('resolves to JavaScript that runs in plain Node when imported as an ES module', async () => {
    writeFileSync(path.join(project, 'consumer.mjs'), CONSUMER("import * as client from 'tollgate/client';\nimport { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);"));
    const { stdout } = await plainNode('consumer.mjs');
    expect(JSON.parse(stdout)).toEqual(EXPECTED);
  });

  it("gives a consumer's TypeScript the client's types", async () => {
    writeFileSync(
      path.join(project, 'consumer.ts'),
      [
        "import { createTollgateClient, PaymentRequiredError } from 'tollgate/client';",
        "const api = createTollgateClient({ baseUrl: 'https://api.example.com/prod', apiKey: 'k' });",
        'export async function call(): Promise<string> {',
        "  try { return await (await api.fetch('/v1/quotes')).text(); }",
        '  catch (err) { if (err instanceof PaymentRequiredError) { const reason: string = err.reason; return reason; } throw err; }',
        '}',
        // Were the module untyped (any), this line would compile and the directive itself would fail.
        "// @ts-expect-error: apiKey must be a string",
        "createTollgateClient({ baseUrl: 'https://api.example.com/prod', apiKey: 42 });",
      ].join('\n'),
    );
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'ES2020', lib: ['ES2020', 'DOM'], types: [] }, files: ['consumer.ts'] }),
    );
    const checked = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project }).catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    expect(checked).toEqual({ stdout: '', stderr: '' });
  });
});
