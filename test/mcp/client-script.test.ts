import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createApiKey } from '../../lambda/shared/customers/keys';
import { startLocalStack, type LocalStack } from '../cli/support';

/** `npm run mcp`, as docs/mcp.md and the npm start banner show it, against a local stack found by its coordinates. */

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const ROOT = path.join(__dirname, '..', '..');
const exec = promisify(execFile);

/** `npm run mcp -- <args>` in a child process; its exit code, stdout and stderr. */
async function npmRunMcp(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('npm', ['run', '--silent', 'mcp', '--', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run mcp', () => {
  let stack: LocalStack;
  let key = '';
  beforeAll(async () => {
    stack = await startLocalStack('mcp-script');
    ({ key } = await createApiKey({ client: stack.tables.client, tables: stack.tables.names }, { customerId: 'cus_mcpscript' }));
  });
  afterAll(() => stack.stop());

  it('lists the tools with their price, calls a free tool, and exits 1 on a 402 tool result', async () => {
    const list = await npmRunMcp(['--key', key], stack.env);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(/^search\s+\{"requires":"subscription","cost":1\}/m);
    const ping = await npmRunMcp(['--key', key, 'ping'], stack.env);
    expect(ping.code).toBe(0);
    expect(JSON.parse(ping.stdout)).toMatchObject({ route: 'GET /v1/ping', customerId: 'cus_mcpscript' });
    const denied = await npmRunMcp(['--key', key, 'search', '{"q":"tollgate"}'], stack.env);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^Payment required \(no_subscription\)/);
  });

  it('says what is missing', async () => {
    const noKey = await npmRunMcp([], stack.env);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--key is missing');
    const badArgs = await npmRunMcp(['--key', key, 'search', '[1]'], stack.env);
    expect([badArgs.code, badArgs.stderr.split('\n')[0]]).toEqual([2, `tollgate mcp: the arguments must be a JSON object, such as '{"q":"tollgate"}'`]);
  });
});
