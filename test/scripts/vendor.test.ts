import { createHash } from 'node:crypto';
import { fileInTar, sri, VENDORED } from '../../scripts/vendor';

/** A tar entry as node-tar writes one: a 512-byte ustar header, the body padded to 512. */
function entry(name: string, body: string, type = '0', prefix = ''): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write(Buffer.byteLength(body).toString(8).padStart(11, '0'), 124, 'utf8');
  header.write(type, 156, 'utf8');
  header.write('ustar\u000000', 257, 'utf8');
  header.write(prefix, 345, 'utf8');
  const padded = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
  padded.write(body, 0, 'utf8');
  return Buffer.concat([header, padded]);
}
const pax = (records: Record<string, string>): string =>
  Object.entries(records)
    .map(([key, value]) => {
      const line = ` ${key}=${value}\n`;
      let length = line.length;
      while (`${length}${line}`.length !== length) length = `${length}${line}`.length;
      return `${length}${line}`;
    })
    .join('');
const END = Buffer.alloc(1024);

describe('fileInTar', () => {
  it('finds a file by its full path among others, and nothing that is not there', () => {
    const tar = Buffer.concat([entry('package/package.json', '{}'), entry('package/dist/browser/standalone.js', 'x'.repeat(700)), entry('package/README.md', 'read me'), END]);
    expect(fileInTar(tar, 'package/dist/browser/standalone.js')?.toString()).toBe('x'.repeat(700));
    expect(fileInTar(tar, 'package/README.md')?.toString()).toBe('read me');
    expect(fileInTar(tar, 'package/dist/browser/other.js')).toBeUndefined();
  });

  it('reads long paths from the ustar prefix, a pax header and a GNU long-name record', () => {
    const long = `package/${'d'.repeat(120)}/file.js`;
    expect(fileInTar(Buffer.concat([entry('file.js', 'prefixed', '0', `package/${'d'.repeat(120)}`), END]), long)?.toString()).toBe('prefixed');
    expect(fileInTar(Buffer.concat([entry('PaxHeader', pax({ path: long }), 'x'), entry('truncated', 'pax'), END]), long)?.toString()).toBe('pax');
    expect(fileInTar(Buffer.concat([entry('././@LongLink', `${long}\0`, 'L'), entry('truncated', 'gnu'), END]), long)?.toString()).toBe('gnu');
  });

  it('does not take a folder or a link for the file', () => {
    expect(fileInTar(Buffer.concat([entry('package/dist/', '', '5'), entry('package/dist/a.js', '', '2'), END]), 'package/dist/a.js')).toBeUndefined();
  });
});

describe('the pins', () => {
  it('are exact versions with a sha512 integrity, each to its own git-ignored place', () => {
    for (const pin of VENDORED) {
      expect(pin.spec).toMatch(/^(@[a-z0-9-]+\/)?[a-z0-9.-]+@\d+\.\d+\.\d+$/);
      expect(pin.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
      expect(pin.to).toMatch(/^vendor\//);
    }
    expect(new Set(VENDORED.map((pin) => pin.to)).size).toBe(VENDORED.length);
  });

  it('states integrity as the registry does (SRI: sha512, base64)', () => {
    const bytes = Buffer.from('tarball');
    expect(sri(bytes)).toBe(`sha512-${createHash('sha512').update(bytes).digest('base64')}`);
  });
});
