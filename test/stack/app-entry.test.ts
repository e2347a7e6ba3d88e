import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { cdkJsonContext } from '../support/synth';

const ROOT = path.join(__dirname, '..', '..');
const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-app-'));

/** bin/app.ts as the CDK CLI runs it: context and output folder in the environment. */
function runApp(context: Record<string, unknown>): Promise<{ code: number | null; stderr: string }> {
  const env = {
    ...process.env,
    CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context }),
    CDK_OUTDIR: mkdtempSync(path.join(dir, 'out-')),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/app.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('cdk synth (bin/app.ts)', () => {
  it('says what is wrong in a configuration and where to look, with no stack trace', async () => {
    const { code, stderr } = await runApp({ 'tollgate:authorizerCacheTtlSeconds': '5000' });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'tollgate: invalid tollgate configuration: tollgate:authorizerCacheTtlSeconds is "5000": use a whole number of seconds from 0 to 3600\n' +
        '  (look at the tollgate:* keys of cdk.json "context", or -c tollgate:<name>=<value>)\n',
    );
  });

  it('says what is wrong in the OpenAPI document the same way', async () => {
    const document = JSON.parse(readFileSync(path.join(ROOT, 'api', 'openapi.json'), 'utf8'));
    document.openapi = '3.1.0';
    const file = path.join(dir, 'openapi-31.json');
    writeFileSync(file, JSON.stringify(document));
    const { code, stderr } = await runApp({ 'tollgate:openApiDocument': file });
    expect(code).toBe(1);
    expect(stderr.split('\n')).toEqual([
      'tollgate: the OpenAPI document must declare "openapi": "3.0.x": API Gateway REST APIs import OpenAPI 3.0 only, convert the document to 3.0',
      '  (look at the OpenAPI document named by tollgate:openApiDocument)',
      '',
    ]);
    expect(stderr).not.toMatch(/^\s+at /m);
  });
});
