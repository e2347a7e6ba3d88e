import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { killGroup, npmStart, ROOT, survivors, type NpmStart } from '../support/npm-start';
import { waitFor } from '../support/processes';

/**
 * `npm start` reloads the gateway in place when the OpenAPI document, cdk.json or lambda/ change, as
 * `sam local` reloads code: new routes answer, data and keys stay, a broken document keeps the last
 * good version serving.
 */

describe('npm start reloads', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-reload-'));
  const document = path.join(dir, 'openapi.json');
  let run: NpmStart | undefined;
  beforeAll(() => copyFileSync(path.join(ROOT, 'api', 'openapi.json'), document));
  afterAll(() => {
    killGroup(run?.pgid);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Output written after `mark`, once it contains `text`. */
  const printed = async (mark: number, text: string | RegExp): Promise<string> => {
    const seen = await waitFor(() => {
      const tail = run!.output().slice(mark);
      return typeof text === 'string' ? tail.includes(text) : text.test(tail);
    }, 30_000);
    const tail = run!.output().slice(mark);
    if (!seen) throw new Error(`npm start did not print ${String(text)}; it printed:\n${tail}`);
    return tail;
  };

  it('serves an edited document at once, keeps data and keys, and keeps the last good version when the document breaks', async () => {
    run = await npmStart({ stateDir: path.join(dir, 'state'), args: ['--in-memory', '-c', `tollgate:openApiDocument=${document}`] });
    const paying = /paying {2}(tg_test_\S+)/.exec(run.output())![1]!;
    const get = (route: string) => fetch(`${run!.apiUrl}${route}`, { headers: { Authorization: `Bearer ${paying}` } });
    expect((await get('v1/hello')).status).toBe(403);

    const edited = JSON.parse(readFileSync(document, 'utf8'));
    edited.paths['/v1/hello'] = { get: { operationId: 'hello', 'x-tollgate': { requires: 'key' }, responses: { 200: { description: 'hi' } } } };
    let mark = run.output().length;
    writeFileSync(document, JSON.stringify(edited, null, 2));
    const reloaded = await printed(mark, 'reloaded:');
    expect(reloaded).toContain(`changed: ${document}`);
    // The sample's 6 routes, POST, GET and DELETE /mcp (it marks operations as MCP tools), PUT and DELETE /tollgate/budget, and the new one.
    expect(reloaded).toMatch(/reloaded: 12 routes \(\+GET \/v1\/hello\); data and keys kept/);
    const hello = await get('v1/hello');
    expect(hello.status).toBe(200);
    expect(await hello.json()).toMatchObject({ route: 'GET /v1/hello', customerId: 'cus_tollgate_demo_paying' });
    expect((await get('v1/reports/r1')).status).toBe(200);

    mark = run.output().length;
    writeFileSync(document, '{"openapi": "3.0.3", "paths": ');
    const refused = await printed(mark, 'not reloaded');
    expect(refused).toMatch(/tollgate: not reloaded: the OpenAPI document ".*openapi\.json" is not valid JSON: .* \(still serving the last good version\)\n/);
    expect((await get('v1/hello')).status).toBe(200);

    mark = run.output().length;
    writeFileSync(document, JSON.stringify(edited, null, 2));
    expect(await printed(mark, 'reloaded:')).toMatch(/reloaded: 12 routes; data and keys kept/);

    // A handler source saved (same text, new time): the gateway is rebuilt from fresh modules.
    mark = run.output().length;
    const source = path.join(ROOT, 'lambda', 'backend', 'index.ts');
    const now = new Date();
    utimesSync(source, now, now);
    const handlers = await printed(mark, 'reloaded:');
    expect(handlers).toContain(`changed: ${path.join('lambda', 'backend', 'index.ts')}\n`);
    expect((await get('v1/hello')).status).toBe(200);

    const members = run.members();
    process.kill(-run.pgid, 'SIGINT');
    await run.exited;
    expect(await survivors(members)).toEqual([]);
  }, 180_000);

  it('loads changed modules afresh and keeps the ones it is told to keep', () => {
    const modules = mkdtempSync(path.join(tmpdir(), 'tollgate-fresh-'));
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', path.join('test', 'support', 'require-fresh-probe.ts'), modules], { cwd: ROOT, encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual({ first: { dep: 1, kept: 1 }, second: { dep: 2, kept: 1 } });
    } finally {
      rmSync(modules, { recursive: true, force: true });
    }
  });
});
