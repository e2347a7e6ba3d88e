import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { anchors, DOC_PAGES, links, readPage, ROOT } from './markdown';

/** The README is a front door: short, every reference page behind it, and no link that leads nowhere. */

describe('the documentation', () => {
  it('keeps the README under 400 lines', () => {
    expect(readPage('README.md').split('\n').length).toBeLessThan(400);
  });

  it('links every page under docs/ from the README', () => {
    const fromReadme = new Set(links(readPage('README.md')).map((target) => target.split('#')[0]));
    const pages = DOC_PAGES.filter((page) => page.startsWith('docs/'));
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.filter((page) => !fromReadme.has(page))).toEqual([]);
  });

  it.each(DOC_PAGES)('%s: every relative link reaches a file, and every #anchor a heading of it', (page) => {
    const broken: string[] = [];
    for (const target of links(readPage(page))) {
      if (/^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
      if (!existsSync(path.join(ROOT, resolved))) broken.push(`${target}: no file ${resolved}`);
      else if (anchor !== undefined && (!resolved.endsWith('.md') || !anchors(readPage(resolved)).has(anchor))) broken.push(`${target}: no heading #${anchor} in ${resolved}`);
    }
    expect(broken).toEqual([]);
  });

  it.each(DOC_PAGES)('%s: every source path it names exists', (page) => {
    const text = readPage(page);
    const named = [...text.matchAll(/`((?:\.ci|api|bench|bin|client|docs|lambda|lib|test)\/[^`\s]*)`/g)].map((m) => m[1]!);
    // The layout's tree: the first word of each line of its code block.
    if (page === 'docs/project-layout.md') named.push(...[...text.matchAll(/^((?:api|bench|bin|client|docs|lambda|lib|test)\/\S*)/gm)].map((m) => m[1]!));
    // Placeholders and globs name no one file; bench/results and client/dist are built, not checked in.
    const checkable = named.filter((name) => !/[<*…]/.test(name) && !/^(bench\/results|client\/dist)/.test(name));
    expect(checkable.filter((name) => !existsSync(path.join(ROOT, name)))).toEqual([]);
  });

  it('finds the anchors GitHub makes, so the link check can fail', () => {
    const page = '# Access tokens (OAuth 2.0 / OpenID Connect)\n## `tollgate report`\n```sh\n# not a heading\n```\n## Upgrading from 0.1\n## Upgrading from 0.1\n';
    expect([...anchors(page)]).toEqual(['access-tokens-oauth-20--openid-connect', 'tollgate-report', 'upgrading-from-01', 'upgrading-from-01-1']);
    expect(links('[a](docs/a.md#x) `[b](c.md)`\n```\n[d](e.md)\n```\n[f](https://example.com)')).toEqual(['docs/a.md#x', 'https://example.com']);
  });
});
