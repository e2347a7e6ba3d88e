import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT, run, startLocalStack, type LocalStack } from './support';

/** A project whose document declares an ANY operation, as a user's own API might. */
function projectWithAnyMethod(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'tollgate-any-'));
  const cdkJson = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
  cdkJson.context['tollgate:openApiDocument'] = 'openapi.json';
  writeFileSync(path.join(root, 'cdk.json'), JSON.stringify(cdkJson));
  const document = {
    openapi: '3.0.1',
    info: { title: 'any', version: '1' },
    paths: {
      '/v1/things': { 'x-amazon-apigateway-any-method': { 'x-tollgate': { requires: 'key' }, responses: { 200: { description: 'ok' } } } },
      '/v1/paid': { get: { 'x-tollgate': { requires: 'subscription' }, responses: { 200: { description: 'ok' } } } },
    },
  };
  writeFileSync(path.join(root, 'openapi.json'), JSON.stringify(document));
  return root;
}

describe('tollgate customers show, on a document with an ANY operation', () => {
  let stack: LocalStack;
  let root: string;
  beforeAll(async () => {
    stack = await startLocalStack('cli-any');
    root = projectWithAnyMethod();
  });
  afterAll(async () => {
    await stack.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers the ANY operation by the methods it stands for (a key route: 200, not 402)', async () => {
    expect((await run(['keys', 'create', '--customer', 'cus_cli_any'], stack.env)).code).toBe(0);
    const shown = await run(['customers', 'show', 'cus_cli_any', '--json'], stack.env, { root });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).routes).toEqual([
      { route: 'ANY /v1/things', requires: 'key', status: 200 },
      { route: 'GET /v1/paid', requires: 'subscription', status: 402, reason: 'no_subscription' },
      // The routes tollgate adds to every API: any valid key (the caller's usage, and its own budget).
      { route: 'GET /tollgate/usage', requires: 'key', status: 200 },
      { route: 'PUT /tollgate/budget', requires: 'key', status: 200 },
      { route: 'DELETE /tollgate/budget', requires: 'key', status: 200 },
    ]);
  });
});
