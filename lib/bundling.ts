import { buildSync } from 'esbuild';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ASSET_FILES, ASSETS_DIR, DOCUMENT_FILE } from '../lambda/portal/assets';
import { PORTAL_SCRIPT, scalarStandalone } from './local/portal-assets';

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
  buildSync({ ...PORTAL_SCRIPT, outfile: path.join(assets, ASSET_FILES.get('portal.js')!), logLevel: 'warning' });
}
