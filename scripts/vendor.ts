import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Browser files the project serves but never imports, taken from their npm package at a pinned version
 * and integrity instead of installing the package: Scalar's API reference is one 4.9 MB file, while
 * `@scalar/api-reference` installs 271 packages, 39 of them requiring Node >= 22. Runs at `npm install`
 * and `npm ci` (the `prepare` script); once a file is in place it does nothing, and npm's cache keeps
 * the tarball, so a reinstall needs no network.
 */
export interface VendoredFile {
  /** The package and exact version, as `npm pack` takes it. */
  readonly spec: string;
  /** The registry's `dist.integrity` for that version (`npm view <spec> dist.integrity`): the tarball is checked against it. */
  readonly integrity: string;
  /** The file inside the tarball. */
  readonly file: string;
  /** Where it goes, from the project root (git-ignored). */
  readonly to: string;
}

export const VENDORED: readonly VendoredFile[] = [
  {
    spec: '@scalar/api-reference@1.76.0',
    integrity: 'sha512-pjqwnzmA9YK3ZX+IZSICMsywm4qI6HLSngR2py9H6TvFApHHuJjkTAd+gFJfnqJDzJuro8k7ji6JCtJ2U+Byng==',
    file: 'package/dist/browser/standalone.js',
    to: 'vendor/scalar/standalone.js',
  },
];

const ROOT = path.join(__dirname, '..');

/** The stamp beside a vendored file: the integrity of the tarball it came from. */
const stampOf = (target: string): string => `${target}.integrity`;

/** An SRI string (`sha512-<base64>`) for the bytes. */
export const sri = (bytes: Buffer): string => `sha512-${createHash('sha512').update(bytes).digest('base64')}`;

/**
 * One file of a tar archive (ustar, with the pax and GNU long-name records npm and node-tar write), or
 * undefined when the archive has no such file.
 */
export function fileInTar(tar: Buffer, wanted: string): Buffer | undefined {
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) return undefined;
    const field = (start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const name = longName ?? (prefix === '' ? field(0, 100) : `${prefix}/${field(0, 100)}`);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    longName = undefined;
    if (type === 'x') {
      longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
    } else if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '');
    } else if ((type === '0' || type === '') && name === wanted) {
      return Buffer.from(body);
    }
  }
  return undefined;
}

/** `npm pack <spec>` into `dir` (through the npm running this install, when there is one); returns the tarball's path. */
function pack(spec: string, dir: string): string {
  const npmCli = process.env.npm_execpath;
  const args = ['pack', spec, '--pack-destination', dir, '--prefer-offline', '--ignore-scripts', '--silent'];
  const [command, argv] = npmCli !== undefined && /npm-cli\.[cm]?js$/.test(npmCli) ? [process.execPath, [npmCli, ...args]] : ['npm', args];
  const result = spawnSync(command, argv, { encoding: 'utf8', shell: command === 'npm' && process.platform === 'win32' });
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
  if (result.status !== 0 || tarball === undefined) {
    throw new Error(`could not fetch ${spec} from the npm registry (npm pack failed): ${(result.stderr || String(result.error ?? '')).trim()}`);
  }
  return path.join(dir, tarball);
}

/** Puts one vendored file in place, unless it already is (same pinned integrity); returns whether it fetched. */
export function vendor(entry: VendoredFile, root = ROOT): boolean {
  const target = path.join(root, entry.to);
  if (existsSync(target) && existsSync(stampOf(target)) && readFileSync(stampOf(target), 'utf8').trim() === entry.integrity) return false;
  const work = mkdtempSync(path.join(tmpdir(), 'tollgate-vendor-'));
  try {
    const tarball = readFileSync(pack(entry.spec, work));
    const actual = sri(tarball);
    if (actual !== entry.integrity) {
      throw new Error(`${entry.spec}: the tarball's integrity is ${actual}, not the pinned ${entry.integrity}: refusing to use it`);
    }
    const file = fileInTar(gunzipSync(tarball), entry.file);
    if (file === undefined) throw new Error(`${entry.spec} has no ${entry.file}: update the pin in scripts/vendor.ts`);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(`${target}.partial`, file);
    renameSync(`${target}.partial`, target);
    writeFileSync(stampOf(target), `${entry.integrity}\n`);
    return true;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  try {
    for (const entry of VENDORED) {
      if (vendor(entry)) process.stdout.write(`vendored ${entry.file.replace(/^package\//, '')} of ${entry.spec} (integrity checked) into ${entry.to}\n`);
    }
  } catch (err) {
    process.stderr.write(`tollgate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
