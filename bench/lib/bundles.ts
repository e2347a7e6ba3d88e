import { build, type Metafile, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LAMBDA_BUNDLING } from '../../lib/bundling';

/** The bundles B2 and B3 compare; each differs from the deployed one only in what its figure names. */
export const BUNDLES = {
  authorizer: { entry: 'lambda/authorizer/index.ts', defaultMainFields: false },
  authorizerDefaultMainFields: { entry: 'lambda/authorizer/index.ts', defaultMainFields: true },
  bareDynamoDb: { entry: 'bench/entries/bare-dynamodb.ts', defaultMainFields: false },
  bareDynamoDbPowertools: { entry: 'bench/entries/dynamodb-powertools.ts', defaultMainFields: false },
  webhook: { entry: 'lambda/webhook/index.ts', defaultMainFields: false },
  dynamoDbStripe: { entry: 'bench/entries/dynamodb-stripe.ts', defaultMainFields: false },
  /** B11: the authorizer with its token modules replaced by bench/entries/no-tokens.ts. */
  authorizerWithoutTokens: { entry: 'lambda/authorizer/index.ts', defaultMainFields: false, withoutTokens: true },
} as const;
export type BundleName = keyof typeof BUNDLES;

export interface Contributor {
  /** An npm package, or "tollgate" for the project's own code. */
  readonly name: string;
  readonly bytes: number;
}

export interface BuiltBundle {
  readonly name: BundleName;
  readonly file: string;
  readonly bytes: number;
  readonly sourceMapBytes: number;
  readonly metafile: string;
  readonly top: readonly Contributor[];
}

/** `node_modules/@aws-sdk/client-dynamodb/dist-es/…` → `@aws-sdk/client-dynamodb`. */
export function packageOf(input: string): string {
  const parts = input.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return 'tollgate';
  const first = parts[at + 1] ?? 'unknown';
  return first.startsWith('@') ? `${first}/${parts[at + 2] ?? ''}` : first;
}

export function topContributors(metafile: Metafile, outputFile: string, count = 8): Contributor[] {
  const output = Object.entries(metafile.outputs).find(([file]) => path.resolve(file) === path.resolve(outputFile))?.[1];
  if (output === undefined) throw new Error(`the metafile has no output ${outputFile}: bundle again`);
  const bytes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = packageOf(input);
    bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
  }
  return [...bytes.entries()]
    .map(([name, b]) => ({ name, bytes: b }))
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, count);
}

/** Resolves the authorizer's token modules to the stub that refuses every JWT (B11's baseline). */
function withoutTokens(root: string): Plugin {
  const authorizerDir = path.join(root, 'lambda', 'authorizer');
  return {
    name: 'tollgate-without-tokens',
    setup(builder) {
      builder.onResolve({ filter: /^\.\/(token-auth|jwt|jwks)$/ }, (args) =>
        path.dirname(args.importer) === authorizerDir ? { path: path.join(root, 'bench', 'entries', 'no-tokens.ts') } : undefined,
      );
    },
  };
}

/**
 * Bundles with the stack's settings (lib/bundling.ts, esbuild's JS API), writes the metafile beside
 * the bundle, and re-uses a bundle already built in this run's work dir (B2 and B3 share them).
 */
export async function bundle(name: BundleName, root: string, workDir: string): Promise<BuiltBundle> {
  const spec = BUNDLES[name];
  const dir = path.join(workDir, 'bundles', name);
  const file = path.join(dir, 'index.js');
  const metafileFile = path.join(dir, 'meta.json');
  if (!existsSync(file) || !existsSync(metafileFile)) {
    mkdirSync(dir, { recursive: true });
    const result = await build({
      entryPoints: [path.join(root, spec.entry)],
      outfile: file,
      bundle: true,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: root,
      minify: LAMBDA_BUNDLING.minify,
      sourcemap: LAMBDA_BUNDLING.sourceMap,
      sourcesContent: LAMBDA_BUNDLING.sourcesContent,
      target: LAMBDA_BUNDLING.target,
      platform: LAMBDA_BUNDLING.platform,
      format: LAMBDA_BUNDLING.format,
      // The only difference B3 measures: esbuild's default (main before module on node) or the stack's.
      ...(spec.defaultMainFields ? {} : { mainFields: [...LAMBDA_BUNDLING.mainFields] }),
      ...('withoutTokens' in spec ? { plugins: [withoutTokens(root)] } : {}),
    });
    writeFileSync(metafileFile, JSON.stringify(result.metafile));
  }
  const metafile = JSON.parse(readFileSync(metafileFile, 'utf8')) as Metafile;
  const outputKey = Object.keys(metafile.outputs).find((key) => key.endsWith('index.js'));
  return {
    name,
    file,
    bytes: statSync(file).size,
    sourceMapBytes: existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0,
    metafile: metafileFile,
    top: topContributors(metafile, path.resolve(root, outputKey ?? file)),
  };
}
