import type { BuildOptions } from 'esbuild';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Asset, PortalAssets } from '../../lambda/portal/assets';
import { PORTAL_CSS } from '../../lambda/portal/style';
import { PROJECT_ROOT } from '../contract';

/**
 * The portal's assets for the local run, from the same sources the deployed function bundles
 * (lib/bundling.ts): Scalar's standalone build, vendored at install (scripts/vendor.ts), the portal
 * script bundled by esbuild from lambda/portal/browser/portal.ts (with the client helper), and the
 * public document the builder made.
 */

const SCALAR_STANDALONE = path.join(PROJECT_ROOT, 'vendor', 'scalar', 'standalone.js');

/** The path of Scalar's standalone build, or an error saying how to get it. */
export function scalarStandalone(file = SCALAR_STANDALONE): string {
  if (!existsSync(file)) {
    throw new Error(`the API reference's script is missing (${path.relative(PROJECT_ROOT, file)}): run npm install, which fetches it at a pinned version`);
  }
  return file;
}

/** The portal script's browser bundle: one IIFE, no dependencies at run time. */
export const PORTAL_SCRIPT: BuildOptions & { entryPoints: string[] } = {
  entryPoints: [path.join(PROJECT_ROOT, 'lambda', 'portal', 'browser', 'portal.ts')],
  bundle: true,
  format: 'iife',
  target: 'es2020',
  minify: true,
};

/** The portal script as the package ships it, built by scripts/build-package.ts; absent in the repository. */
export const PREBUILT_PORTAL_SCRIPT = path.join(PROJECT_ROOT, 'functions', 'portal-assets', 'portal.js');

export async function bundlePortalScript(): Promise<string> {
  if (existsSync(PREBUILT_PORTAL_SCRIPT)) return readFile(PREBUILT_PORTAL_SCRIPT, 'utf8');
  // Loaded when used: the packaged construct ships the script built and has no esbuild.
  const { build } = await import('esbuild');
  const result = await build({ ...PORTAL_SCRIPT, write: false, logLevel: 'silent' });
  return result.outputFiles[0]!.text;
}

/** Fails at once when the vendored explorer is missing, rather than on the first docs page. */
export function localPortalAssets(publicDocument: Record<string, unknown>): PortalAssets {
  const scalar = scalarStandalone();
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
          return load(name, async () => ({ body: await readFile(scalar), contentType: js }));
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
