import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => !file.includes(`${path.sep}dist${path.sep}`));
}
const FILES = ['bin', 'lib', 'lambda', 'client', 'scripts', 'bench', 'test'].flatMap(sources);
const RUNTIME_FILES = FILES.filter((file) => /^(bin|lib|lambda|client)\//.test(path.relative(ROOT, file)));

/** The package a bare import specifier names (`@scope/name/sub` → `@scope/name`). */
const packageOf = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

describe('package.json', () => {
  it('declares every package the code imports (none arrives only as another package\'s dependency)', () => {
    const declared = new Set([manifest.name, ...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)]);
    const undeclared = FILES.flatMap((file) =>
      ts
        .preProcessFile(readFileSync(file, 'utf8'), true, true)
        .importedFiles.map((imported) => imported.fileName)
        .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !builtinModules.includes(specifier))
        .map(packageOf)
        .filter((name) => !declared.has(name) && !declared.has(`@types/${name}`))
        .map((name) => `${path.relative(ROOT, file)}: ${name}`),
    );
    expect(undeclared).toEqual([]);
  });

  it('names no runtime dependency the product does not use', () => {
    const text = RUNTIME_FILES.map((file) => readFileSync(file, 'utf8')).join('\n');
    expect(Object.keys(manifest.dependencies).filter((name) => !text.includes(`'${name}`))).toEqual([]);
  });

  it('installs one version of each AWS SDK package (clients released apart share one core)', () => {
    const versions = new Map<string, Set<string>>();
    for (const [location, entry] of Object.entries(lock.packages)) {
      const name = /(?:^|\/)node_modules\/(@(?:aws-sdk|smithy)\/[^/]+)$/.exec(location)?.[1];
      if (name !== undefined && entry.version !== undefined) versions.set(name, (versions.get(name) ?? new Set()).add(entry.version));
    }
    expect(versions.size).toBeGreaterThan(20);
    expect([...versions].filter(([, found]) => found.size > 1).map(([name, found]) => `${name}: ${[...found].join(', ')}`)).toEqual([]);
  });
});
