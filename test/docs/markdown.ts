import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Reading the project's Markdown as GitHub renders it: pages, fenced blocks, headings, links, tables. */

export const ROOT = path.join(__dirname, '..', '..');

/** The README, every page under docs/, and the benchmarks' page: the documentation a user reads. */
export const DOC_PAGES: readonly string[] = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
  'bench/README.md',
];

export const readPage = (page: string): string => readFileSync(path.join(ROOT, page), 'utf8');

/** The page's lines outside fenced code blocks, each with its line number (1-based). */
function prose(markdown: string): Array<{ line: string; number: number }> {
  const lines: Array<{ line: string; number: number }> = [];
  let fenced = false;
  markdown.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) lines.push({ line, number: i + 1 });
  });
  return lines;
}

/** The ```sh blocks, each as its command lines (comments and continuations joined). */
export function shellBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
}

/** Words of a command line, as a POSIX shell splits them (quotes, no expansion), without its `# comment`. */
export function words(line: string): { argv: string[]; comment: string } {
  const argv: string[] = [];
  let rest = line;
  for (;;) {
    rest = rest.trimStart();
    if (rest === '' || rest.startsWith('#')) break;
    const m = /^(?:"([^"]*)"|'([^']*)'|([^\s"']+))+/.exec(rest)!;
    argv.push(m[0].replace(/"([^"]*)"|'([^']*)'/g, '$1$2'));
    rest = rest.slice(m[0].length);
  }
  return { argv, comment: rest.replace(/^#\s*/, '') };
}

interface Heading {
  readonly level: number;
  readonly text: string;
  readonly line: number;
}

function headings(markdown: string): Heading[] {
  return prose(markdown).flatMap(({ line, number }) => {
    const m = /^(#{1,6}) (.+)$/.exec(line);
    return m === null ? [] : [{ level: m[1]!.length, text: m[2]!.trim(), line: number }];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text } of headings(markdown)) {
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** The text under a heading (given whole, `## Configuration`) up to the next heading of its level or above. */
export function section(markdown: string, heading: string): string {
  const all = headings(markdown);
  const start = all.find((h) => `${'#'.repeat(h.level)} ${h.text}` === heading);
  if (start === undefined) throw new Error(`no heading "${heading}"`);
  const end = all.find((h) => h.line > start.line && h.level <= start.level);
  return markdown
    .split('\n')
    .slice(start.line - 1, end === undefined ? undefined : end.line - 1)
    .join('\n');
}

/** The targets of the page's inline links, outside code blocks and code spans. */
export function links(markdown: string): string[] {
  return prose(markdown).flatMap(({ line }) => [...line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!));
}

/** The rows of the first table in `markdown`, as cells (`\|` unescaped, code spans unwrapped), header row left out. */
export function tableRows(markdown: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  if (start === -1) throw new Error('no table');
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim().replace(/\\\|/g, '|')),
    );
  }
  return rows;
}

/** A cell that is one code span, unwrapped: `` `keys list` `` is `keys list`. */
export const codeSpan = (cell: string): string | undefined => /^`([^`]+)`$/.exec(cell)?.[1];
