import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writePortalAssets } from '../../lib/bundling';
import { bundlePortalScript, scalarStandalone } from '../../lib/local/portal-assets';

/** What the portal function finds beside its bundle (lambda/portal/assets.ts reads it). */
describe('writePortalAssets', () => {
  let output: string;
  beforeAll(() => (output = mkdtempSync(path.join(tmpdir(), 'tollgate-portal-assets-'))));
  afterAll(() => rmSync(output, { recursive: true, force: true }));

  it('writes the public document, the vendored explorer and the portal script the local run serves', async () => {
    const document = { openapi: '3.0.1', info: { title: 'sample', version: '1' }, paths: {} };
    writePortalAssets(output, document);
    const assets = path.join(output, 'assets');
    expect(readdirSync(assets).sort()).toEqual(['openapi.json', 'portal.js', 'scalar.js']);
    expect(JSON.parse(readFileSync(path.join(assets, 'openapi.json'), 'utf8'))).toEqual(document);
    expect(readFileSync(path.join(assets, 'scalar.js')).equals(readFileSync(scalarStandalone()))).toBe(true);
    const script = readFileSync(path.join(assets, 'portal.js'), 'utf8');
    expect(script).toBe(await bundlePortalScript());
    // One IIFE with the client helper inside: nothing left for the browser to resolve.
    expect(script).toContain('PaymentRequiredError');
    expect(script).not.toMatch(/\brequire\(|^import /m);
  });
});

describe('scalarStandalone', () => {
  it('says how to get the explorer when the install step has not run', () => {
    expect(() => scalarStandalone(path.join(tmpdir(), 'no-such-folder', 'standalone.js'))).toThrow(
      "the API reference's script is missing (",
    );
    expect(() => scalarStandalone(path.join(tmpdir(), 'no-such-folder', 'standalone.js'))).toThrow(/\): run npm install, which fetches it at a pinned version$/);
  });
});
