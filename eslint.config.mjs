import js from '@eslint/js';
import { readdirSync } from 'node:fs';
import tseslint from 'typescript-eslint';

/**
 * The layers, enforced here rather than in comments (test/lint/boundaries.test.ts proves each rule bites):
 * - lambda/**: the functions. No aws-cdk-lib/constructs/cdk-nag (it is bundled into Lambda), nothing from lib/.
 *   A function's folder imports its own modules and lambda/shared/, never another function's folder.
 * - CDK-free tooling (lib/contract.ts, lib/config, lib/openapi, lib/local, lib/cli, lib/report, lib/stripe-events, bin/tollgate.ts):
 *   runs without CDK, so no CDK packages and no CDK topology module (lib/*.ts other than contract.ts).
 * - lib/*.ts (app, stack, tables, functions, bundling): the CDK topology; may import anything but the CLI.
 * - lib/cli: the command line, imported by bin/tollgate.ts alone.
 */
const CDK_PACKAGES = {
  regex: '^(aws-cdk-lib|constructs|cdk-nag)(/.*)?$',
  message: 'CDK belongs in the topology modules (lib/*.ts): this module must run without aws-cdk-lib.',
};
const LIB_FROM_LAMBDA = {
  regex: '^(\\.\\./)+lib(/.*)?$',
  message: 'lambda/ is bundled into the functions: it must not import from lib/ (move the shared piece under lambda/shared/).',
};
/** lambda/<fn>/ → lambda/<other>/: allowed only for these pairs (the dead-letter function parks what metering could not apply). */
const FUNCTION_IMPORTS = { 'metering-dead-letter': ['metering'] };
const FUNCTIONS = readdirSync(new URL('./lambda/', import.meta.url), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
/** A relative import of another function's folder, seen from a file `depth` folders below lambda/<fn>/. */
const otherFunctionFrom = (fn, depth) => ({
  regex: `^${'\\.\\./'.repeat(depth)}(?!(${['shared', fn, ...(FUNCTION_IMPORTS[fn] ?? [])].join('|')})(/|$))[^./][^/]*(/|$)`,
  message: "functions share code only through lambda/shared/: move what both need there instead of importing another function's folder.",
});
const lambdaFiles = (fn, depth) => ({
  files: [`lambda/${fn}/${'*/'.repeat(depth - 1)}*.ts`],
  rules: restrict(CDK_PACKAGES, LIB_FROM_LAMBDA, otherFunctionFrom(fn, depth)),
});

/** A relative import of a lib/*.ts module other than contract.ts, seen from `depth` folders below lib/. */
const cdkTopologyFrom = (depth) => ({
  regex: `^${'\\.\\./'.repeat(depth)}(?!contract$)[^/.][^/]*$`,
  message: 'lib/*.ts is the CDK topology: CDK-free tooling may import only lib/contract.ts from it.',
});
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

/**
 * The CLI is a leaf: nothing outside lib/cli/ imports it but its entry point, bin/tollgate.ts. Its own
 * rule (typescript-eslint's twin of no-restricted-imports), so it adds to the layer rules above instead
 * of replacing them in the files both cover.
 */
const CLI_MESSAGE = 'lib/cli/ is the command line: only lib/cli/ and bin/tollgate.ts import it (move what others need out of it, as lib/report/ was).';
/** A relative import of lib/cli/**, seen from `depth` folders below lib/. */
const cliFrom = (depth) => ({ regex: `^${depth === 0 ? '\\./' : '\\.\\./'.repeat(depth)}cli(/.*)?$`, message: CLI_MESSAGE });
const restrictCli = (...patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'dist/', '.tollgate/', 'coverage/', 'bench/results/', 'client/dist/', 'test-artifacts/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['lambda/**/*.ts'], rules: restrict(CDK_PACKAGES, LIB_FROM_LAMBDA) },
  ...FUNCTIONS.flatMap((fn) => [1, 2, 3].map((depth) => lambdaFiles(fn, depth))),
  { files: ['lib/contract.ts'], rules: restrict(CDK_PACKAGES) },
  { files: ['lib/{config,openapi,local,cli,stripe-events,report}/*.ts'], rules: restrict(CDK_PACKAGES, cdkTopologyFrom(1)) },
  { files: ['lib/{config,openapi,local,cli,stripe-events,report}/*/*.ts'], rules: restrict(CDK_PACKAGES, cdkTopologyFrom(2)) },
  { files: ['lib/{config,openapi,local,cli,stripe-events,report}/*/*/*.ts'], rules: restrict(CDK_PACKAGES, cdkTopologyFrom(3)) },
  { files: ['bin/tollgate.ts'], rules: restrict(CDK_PACKAGES, { ...cdkTopologyFrom(0), regex: '^\\.\\./lib/(?!contract$)[^/]+$' }) },
  ...[0, 1, 2, 3].map((depth) => ({ files: [`lib/${'*/'.repeat(depth)}*.ts`], ignores: ['lib/cli/**'], rules: restrictCli(cliFrom(depth)) })),
  { files: ['bin/app.ts', 'bench/**/*.ts'], rules: restrictCli({ regex: '^(\\.\\./)+lib/cli(/.*)?$', message: CLI_MESSAGE }) },
  {
    // Tests read synthesized templates and HTTP bodies: untyped JSON by nature.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
