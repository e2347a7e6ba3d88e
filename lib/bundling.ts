import type * as Esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ASSET_FILES, ASSETS_DIR, DOCUMENT_FILE } from '../lambda/portal/assets';
import { PORTAL_SCRIPT, PREBUILT_PORTAL_SCRIPT, scalarStandalone } from './local/portal-assets';
import { PROJECT_ROOT } from './contract';

/**
 * How every tollgate Lambda is bundled, in one place: the stack hands these to NodejsFunction (local
 * esbuild, no Docker) and the benchmarks bundle with the same settings to measure what deploys.
 * No aws-cdk-lib here.
 */
export const LAMBDA_BUNDLING = {
  /** The AWS SDK's and other packages' ESM builds: smaller bundles, faster cold starts. */
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  target: 'node22',
  platform: 'node',
  format: 'cjs',
} as const;

/**
 * The portal's static files, written beside its bundle (NodejsFunction's afterBundling) so nothing is
 * fetched from a CDN at run time: the public document, Scalar's standalone explorer (vendored at install,
 * scripts/vendor.ts) and the portal script with the client helper, bundled as the local run bundles it.
 */
export function writePortalAssets(output: string, publicDocument: unknown): void {
  const assets = path.join(output, ASSETS_DIR);
  mkdirSync(assets, { recursive: true });
  writeFileSync(path.join(assets, DOCUMENT_FILE), JSON.stringify(publicDocument));
  copyFileSync(scalarStandalone(), path.join(assets, ASSET_FILES.get('scalar.js')!));
  const portalScript = path.join(assets, ASSET_FILES.get('portal.js')!);
  if (existsSync(PREBUILT_PORTAL_SCRIPT)) copyFileSync(PREBUILT_PORTAL_SCRIPT, portalScript);
  else {
    // Required when used: the package ships the script built (scripts/build-package.ts) and has no esbuild.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildSync } = require('esbuild') as typeof Esbuild;
    buildSync({ ...PORTAL_SCRIPT, outfile: portalScript, logLevel: 'warning' });
  }
}

/**
 * The functions as the package ships them, bundled by scripts/build-package.ts with LAMBDA_BUNDLING:
 * `functions/<entry>/index.js` beside the compiled code. Absent in this repository, where the stack
 * bundles lambda/ at synth.
 */
export const PREBUILT_FUNCTIONS = path.join(PROJECT_ROOT, 'functions');
export { PREBUILT_PORTAL_SCRIPT };

/** The folder of a prebuilt function, when the package ships one. */
export function prebuiltFunction(entry: string): string | undefined {
  const dir = path.join(PREBUILT_FUNCTIONS, entry);
  return existsSync(path.join(dir, 'index.js')) ? dir : undefined;
}
