import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Asset, PortalAssets } from '../../lambda/portal/assets';
import { PORTAL_CSS } from '../../lambda/portal/style';
import { PROJECT_ROOT } from '../contract';

/**
 * The portal's assets for the local run, from the same sources the deployed function bundles: Scalar's
 * standalone build from node_modules, the portal script bundled by esbuild from
 * lambda/portal/browser/portal.ts (with the client helper), and the public document the builder made.
 */

export const SCALAR_STANDALONE = path.join(PROJECT_ROOT, 'node_modules', '@scalar', 'api-reference', 'dist', 'browser', 'standalone.js');
export const PORTAL_SCRIPT_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'portal', 'browser', 'portal.ts');

/** The browser bundle of the portal script (esbuild, one IIFE, no dependencies at run time). */
export async function bundlePortalScript(): Promise<string> {
  const result = await build({ entryPoints: [PORTAL_SCRIPT_ENTRY], bundle: true, write: false, format: 'iife', target: 'es2020', minify: true, logLevel: 'silent' });
  return result.outputFiles[0]!.text;
}

export function localPortalAssets(publicDocument: Record<string, unknown>): PortalAssets {
  const cache = new Map<string, Promise<Asset>>();
  const js = 'text/javascript; charset=utf-8';
  const load = (name: string, read: () => Promise<Asset>): Promise<Asset> => {
    let pending = cache.get(name);
    if (pending === undefined) {
      pending = read();
      cache.set(name, pending);
      pending.catch(() => cache.delete(name));
    }
    return pending;
  };
  return {
    asset: async (name) => {
      switch (name) {
        case 'scalar.js':
          return load(name, async () => ({ body: await readFile(SCALAR_STANDALONE), contentType: js }));
        case 'portal.js':
          return load(name, async () => ({ body: Buffer.from(await bundlePortalScript(), 'utf8'), contentType: js }));
        case 'portal.css':
          return { body: Buffer.from(PORTAL_CSS, 'utf8'), contentType: 'text/css; charset=utf-8' };
        default:
          return undefined;
      }
    },
    document: () => Promise.resolve(publicDocument),
  };
}
