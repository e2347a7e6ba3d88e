import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { LAMBDA_BUNDLING, PREBUILT_PORTAL_SCRIPT } from '../lib/bundling';
import { PROJECT_ROOT } from '../lib/contract';
import { PORTAL_SCRIPT, scalarStandalone } from '../lib/local/portal-assets';
import type { TollgateFunctionProps } from '../lib/tollgate-function';

/**
 * What `npm pack` ships (run by prepack): the construct, the CLI and the local run compiled to dist/
 * with declarations (tsconfig.package.json), each function bundled by esbuild with the stack's own settings
 * (LAMBDA_BUNDLING) into dist/functions/<entry>/, and the portal's static scripts, so a user's
 * `cdk synth` needs neither TypeScript nor esbuild. The stack in this repository bundles at synth,
 * from the sources, as before: dist/ is only read where the compiled code lives (lib/bundling.ts).
 */

/** Every folder of lambda/ with an index.ts is a function (TollgateFunctionProps['entry']): a new one ships without a change here. */
const FUNCTIONS = readdirSync(path.join(PROJECT_ROOT, 'lambda'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(PROJECT_ROOT, 'lambda', d.name, 'index.ts')))
  .map((d) => d.name as TollgateFunctionProps['entry']);
const DIST = path.join(PROJECT_ROOT, 'dist');
/** Where lib/bundling.ts looks in the package: PROJECT_ROOT is dist/ there. */
const inDist = (file: string): string => path.join(DIST, path.relative(PROJECT_ROOT, file));

async function main(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(PROJECT_ROOT, 'tsconfig.package.json')], { stdio: 'inherit' });
  await Promise.all(
    FUNCTIONS.map((entry) =>
      build({
        entryPoints: [path.join(PROJECT_ROOT, 'lambda', entry, 'index.ts')],
        outfile: path.join(DIST, 'functions', entry, 'index.js'),
        bundle: true,
        platform: LAMBDA_BUNDLING.platform,
        format: LAMBDA_BUNDLING.format,
        target: LAMBDA_BUNDLING.target,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        minify: LAMBDA_BUNDLING.minify,
        sourcemap: LAMBDA_BUNDLING.sourceMap,
        sourcesContent: LAMBDA_BUNDLING.sourcesContent,
        logLevel: 'warning',
      }),
    ),
  );
  const portalScript = inDist(PREBUILT_PORTAL_SCRIPT);
  mkdirSync(path.dirname(portalScript), { recursive: true });
  await build({ ...PORTAL_SCRIPT, outfile: portalScript, logLevel: 'warning' });
  const scalar = inDist(scalarStandalone());
  mkdirSync(path.dirname(scalar), { recursive: true });
  copyFileSync(scalarStandalone(), scalar);
  process.stdout.write(`built dist/: the construct, the CLI and the local run, ${FUNCTIONS.length} functions and the portal's scripts\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`build-package: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
