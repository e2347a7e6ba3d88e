import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CATALOG_FILE } from '../../lambda/mcp/catalog';
import { freePort } from '../../lib/local/dynamodb-local';
import { run as runCli } from '../cli/support';
import { killGroup } from '../support/npm-start';
import { alive, run, waitFor } from '../support/processes';
import { synthesize } from '../support/synth';
import { expectTollgateTemplate } from '../support/template-assertions';

/**
 * The package as a CDK user gets it: `npm pack` (after scripts/build-package.ts, which prepack runs),
 * a fresh CDK app in a temporary folder with the tarball unpacked as node_modules/tollgate, plain
 * JavaScript adding `new Tollgate(...)` to its own stack, and `node app.js` synthesizing it with
 * cdk-nag's checks and with esbuild made unresolvable: the functions ship built. Then `tollgate start`
 * in that app serves its construct's settings and document locally, and the package's CLI acts on it,
 * with neither esbuild, TypeScript nor tsx resolvable: the CLI and the local run ship compiled.
 *
 * The tarball's dependencies are linked from this checkout's node_modules, not installed: npm's cache
 * here does not hold them (`npm install --offline` of the tarball fails with ENOTCACHED), and an online
 * install of aws-cdk-lib and the AWS SDK is not for CI.
 */

const exec = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
let work: string;
let app: string;
let tarball: string;
const timings: Record<string, number> = {};

async function timed<T>(name: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await step();
  } finally {
    timings[name] = Date.now() - started;
  }
}

const USER_APP = `const { App, Stack, Validations } = require('aws-cdk-lib');
const { AwsSolutionsChecks } = require('cdk-nag');
const { Tollgate } = require('tollgate');

// No outdir: cdk (and tollgate start) choose where the assembly goes, through CDK_OUTDIR.
const app = new App();
const stack = new Stack(app, 'UserApi');
new Tollgate(stack, 'Paywall', {
  openApiDocument: 'openapi.json',
  plans: { pro: { name: 'Pro' }, sample_metered: { name: 'Metered', quota: 100, overage: 'block' } },
  creditPacks: [{ id: 'credits_100', name: '100 credits', credits: 100, price: 'credits_100', amount: 1000, currency: 'usd' }],
  // Sold to agents too, as this repository's cdk.json does: the same functions (the purchase function included).
  agentPayments: { mpp: { networkId: 'profile_test_tollgate' } },
  // Alerts too, as this repository's cdk.json sets them: the same alerts function.
  alerts: { quota: [80, 100], budget: [100], paymentRecovered: true },
  stageName: 'live',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

/** Loaded first: esbuild, TypeScript and tsx cannot be resolved, as in a project that never installed them. */
const NO_ESBUILD = `const Module = require('node:module');
const resolve = Module._resolveFilename;
const absent = ['esbuild', 'typescript', 'tsx'];
Module._resolveFilename = function (request, ...rest) {
  if (absent.some((name) => request === name || request.startsWith(name + '/'))) throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
`;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'tollgate-pack-'));
  await timed('build', async () => {
    await exec(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'client', 'tsconfig.json')], { cwd: ROOT });
    await exec(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'build-package.ts')], { cwd: ROOT });
  });
  // prepack built it just now; the other lifecycle scripts (prepare: the vendored explorer) ran at install.
  const { stdout } = await timed('pack', () => exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }));
  tarball = path.join(work, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);

  app = path.join(work, 'user-app');
  const modules = path.join(app, 'node_modules');
  mkdirSync(modules, { recursive: true });
  await timed('install', async () => {
    await exec('tar', ['-xzf', tarball, '-C', work]);
    renameSync(path.join(work, 'package'), path.join(modules, 'tollgate'));
    const own = path.join(ROOT, 'node_modules');
    for (const entry of readdirSync(own)) if (entry !== 'tollgate' && entry !== '.bin') symlinkSync(path.join(own, entry), path.join(modules, entry));
  });
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'user-app', private: true, dependencies: { tollgate: `file:${tarball}` } }));
  copyFileSync(path.join(ROOT, 'api', 'openapi.json'), path.join(app, 'openapi.json'));
  writeFileSync(path.join(app, 'app.js'), USER_APP);
  writeFileSync(path.join(app, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));
  writeFileSync(path.join(app, 'no-esbuild.js'), NO_ESBUILD);
}, 600_000);

afterAll(() => {
  process.stdout.write(`package test timings (ms): ${JSON.stringify(timings)}\n`);
  rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('ships the construct built, the client, the changelog: no sources, tests or state', async () => {
    const { stdout } = await exec('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'client/dist/index.js', 'dist/functions/authorizer/index.js', 'dist/functions/portal-assets/portal.js']));
    expect(files.filter((f) => /^(test|bench|lambda|lib|api|scripts)\/|\.tollgate|cdk\.out|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(app, 'node_modules', 'tollgate', 'package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.exports)).toEqual(['.', './client', './package.json']);
  });

  it('exports the construct, its prop names and its errors, nothing else', async () => {
    const { stdout } = await exec(process.execPath, ['-e', "console.log(JSON.stringify(Object.keys(require('tollgate')).sort()))"], { cwd: app });
    expect(JSON.parse(stdout)).toEqual(['ApiDocumentError', 'ConfigError', 'OpenApiError', 'TOLLGATE_PROP_NAMES', 'Tollgate']);
  });

  it("synthesizes a fresh app's stack with the construct, cdk-nag clean, without esbuild or TypeScript", async () => {
    await timed('synth', () => exec(process.execPath, ['--require', './no-esbuild.js', 'app.js'], { cwd: app, env: { PATH: process.env.PATH ?? '', CDK_OUTDIR: 'cdk.out' }, maxBuffer: 16 * 1024 * 1024 }));
    const template = JSON.parse(readFileSync(path.join(app, 'cdk.out', 'UserApi.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: any }> };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    const ours = synthesize().template.toJSON().Resources as Record<string, { Type: string }>;
    // As many as this repository's stack builds from the same document (every one shipped prebuilt).
    expect(functions).toHaveLength(Object.values(ours).filter((r) => r.Type === 'AWS::Lambda::Function').length);
    // Each function's code is an asset folder cdk synth staged (the manifest names it by the zip's hash): the prebuilt bundle.
    const manifest = JSON.parse(readFileSync(path.join(app, 'cdk.out', 'UserApi.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
    const folderOf = (fn: { Properties: any }): string => {
      const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
      return path.join(app, 'cdk.out', manifest.files[hash]!.source.path);
    };
    for (const fn of functions) {
      expect(existsSync(path.join(folderOf(fn), 'index.js'))).toBe(true);
      expect(fn.Properties.Handler).toBe('index.handler');
    }
    const folderOfService = (service: string): string => folderOf(functions.find((fn) => fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === service)!);
    const portal = folderOfService('tollgate-portal');
    expect(readdirSync(portal).some((entry) => existsSync(path.join(portal, entry, 'portal.js')))).toBe(true);
    // The MCP function's tools, written beside its prebuilt bundle by its afterBundling: the document's "mcp" operations.
    const catalog = JSON.parse(readFileSync(path.join(folderOfService('tollgate-mcp'), CATALOG_FILE), 'utf8')) as { tools: Array<{ name: string }> };
    expect(catalog.tools.length).toBeGreaterThan(0);

    // The same resources as this repository's stack, and its cost estimate from the repository's CLI.
    // The same template assertions as the stack tests (exact policies, gateway responses, secrets, the layout migration), on the fresh app's template.
    expectTollgateTemplate(template.Resources, { prefix: 'Paywall', stage: 'live' });
    const count = (resources: Record<string, { Type: string }>) => Object.values(resources).reduce<Record<string, number>>((n, r) => ({ ...n, [r.Type]: (n[r.Type] ?? 0) + 1 }), {});
    expect(count(template.Resources)).toEqual(count(ours));
    const cost = await runCli(['cost', '--template', path.join(app, 'cdk.out', 'UserApi.template.json')]);
    expect(cost).toMatchObject({ code: 0, stderr: '' });
    expect(cost.stdout).toMatch(/^idle: \$5\.57 a month$/m);
  });

  it("runs tollgate start on the app's construct: a 402 and a 200 through the local gateway, and the package's CLI against it", async () => {
    const port = await freePort();
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_OPTIONS: `--require ${path.join(app, 'no-esbuild.js')}`, STRIPE_WEBHOOK_SECRET: '', TMPDIR: tmpdir() };
    const bin = path.join(app, 'node_modules', 'tollgate', 'bin', 'tollgate.js');
    const started = run(process.execPath, [bin, 'start', '--in-memory', '--port', String(port)], { cwd: app, env, detached: true });
    try {
      const ready = await timed('start', () => waitFor(() => started.output().includes('manage it:') || started.child.exitCode !== null, 240_000));
      expect({ ready, output: ready ? '' : started.output() }).toEqual({ ready: true, output: '' });
      // The construct's stage and document, the state in the app's folder.
      const apiUrl = /tollgate is running on (\S+)/.exec(started.output())![1]!;
      expect(apiUrl).toBe(`http://127.0.0.1:${port}/live/`);
      const keys = JSON.parse(readFileSync(path.join(app, '.tollgate', 'demo-keys.json'), 'utf8')) as Record<string, { key: string }>;
      const quotes = (key: string) => fetch(`${apiUrl}v1/quotes`, { headers: { authorization: `Bearer ${key}` } });
      const paid = await quotes(keys.paying!.key);
      expect(paid.status).toBe(200);
      const refused = await quotes(keys.free!.key);
      expect(refused.status).toBe(402);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await refused.json()) as { type: string }).type).toMatch(/\/no_subscription$/);
      // The CLI finds the run in the app's folder and reads the construct's plan (quota 100, not cdk.json's 20).
      const usage = await timed('cli', () => exec(process.execPath, [bin, 'usage', 'show', 'cus_tollgate_demo_metered', '--json'], { cwd: app, env }));
      expect(JSON.parse(usage.stdout)).toMatchObject({ limit: 100, plan: { key: 'sample_metered' } });
    } finally {
      if (started.child.pid !== undefined && alive(started.child.pid)) {
        process.kill(-started.child.pid, 'SIGINT');
        await waitFor(() => started.child.exitCode !== null || started.child.signalCode !== null, 20_000);
      }
      killGroup(started.child.pid);
    }
  }, 360_000);

  it('stops the synth with the configuration problem, before anything is built', async () => {
    writeFileSync(path.join(app, 'bad.js'), USER_APP.replace("stageName: 'live'", "stageName: 'a b', gracePeriodHour: 1"));
    const failed = await exec(process.execPath, ['bad.js'], { cwd: app }).then(
      () => ({ stderr: '' }),
      (err: { stderr: string }) => err,
    );
    expect(failed.stderr).toMatch(/Tollgate has no prop "gracePeriodHour"/);
  });
});
