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
