/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` with bracketed keys
 * (`metadata[plan]=pro`, `line_items[0][price]=price_1`, `expand[0]=customer`), decoded into the nested
 * object the stripe SDK started from. Indexed brackets become arrays; empty brackets (`expand[]=a`) append.
 */
export function decodeForm(encoded: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(encoded)) {
    const head = /^[^[]+/.exec(rawKey)?.[0];
    if (head === undefined) continue;
    const path = [head, ...[...rawKey.slice(head.length).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!)];
    assign(root, path, value);
  }
  return arraysFromIndexes(root) as Record<string, unknown>;
}

function assign(target: Record<string, unknown>, path: readonly string[], value: string): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i += 1) {
    const key = path[i] === '' ? String(Object.keys(node).length) : path[i]!;
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  node[last === '' ? String(Object.keys(node).length) : last] = value;
}

/** `{0: a, 1: b}` → `[a, b]`, recursively. */
function arraysFromIndexes(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, arraysFromIndexes(v)] as const);
  const indexed = entries.length > 0 && entries.every(([k], i) => k === String(i));
  return indexed ? entries.map(([, v]) => v) : Object.fromEntries(entries);
}
