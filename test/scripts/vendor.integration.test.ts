import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sri, vendor, VENDORED } from '../../scripts/vendor';

/** The install step against the registry (npm's cache answers after the first run). */
const SCALAR = VENDORED[0]!;
let root: string;
beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'tollgate-vendor-test-'))));
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('vendor', () => {
  it('puts the pinned file in place once, stamped with the integrity it was checked against', () => {
    expect(vendor(SCALAR, root)).toBe(true);
    const file = readFileSync(path.join(root, SCALAR.to));
    expect(file.length).toBeGreaterThan(1_000_000);
    expect(file.toString('utf8', 0, 2000)).toMatch(/scalar|Scalar/);
    expect(readFileSync(path.join(root, `${SCALAR.to}.integrity`), 'utf8')).toBe(`${SCALAR.integrity}\n`);
    expect(vendor(SCALAR, root)).toBe(false);
  }, 120_000);

  it('refuses a tarball whose integrity is not the pinned one, and writes nothing', () => {
    const pinned = { ...SCALAR, integrity: sri(Buffer.from('another tarball')) };
    expect(() => vendor(pinned, root)).toThrow(`${SCALAR.spec}: the tarball's integrity is ${SCALAR.integrity}, not the pinned ${pinned.integrity}: refusing to use it`);
    expect(existsSync(path.join(root, SCALAR.to))).toBe(false);
  }, 120_000);

  it('says when the package has no such file', () => {
    expect(() => vendor({ ...SCALAR, file: 'package/dist/browser/gone.js' }, root)).toThrow(`${SCALAR.spec} has no package/dist/browser/gone.js: update the pin in scripts/vendor.ts`);
  }, 120_000);
});
