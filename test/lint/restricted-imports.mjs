// Lints one import statement as if it stood in a given file, with exactly the import restrictions
// eslint.config.mjs gives that file (no-restricted-imports, and typescript-eslint's twin that the CLI
// boundary uses). ESM (ESLint loads its config by import()), so the jest test runs it as a child
// process: node test/lint/restricted-imports.mjs <file> <specifier>...
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import * as path from 'node:path';

const RULES = ['no-restricted-imports', '@typescript-eslint/no-restricted-imports'];
const root = path.resolve(import.meta.dirname, '..', '..');
const [file, ...specifiers] = process.argv.slice(2);
const config = await new ESLint({ cwd: root }).calculateConfigForFile(path.join(root, file));
const rules = Object.fromEntries(RULES.filter((name) => config.rules?.[name] !== undefined).map((name) => [name, config.rules[name]]));
const linter = new Linter({ configType: 'flat' });
const results = specifiers.map((specifier) => {
  const messages = linter.verify(
    `import { x } from '${specifier}';\nexport const y = x;\n`,
    [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { '@typescript-eslint': tseslint.plugin }, rules }],
    { filename: path.join(root, file) },
  );
  return { specifier, errors: messages.map((m) => m.message) };
});
process.stdout.write(JSON.stringify(results));
