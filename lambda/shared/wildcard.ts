/**
 * IAM resource wildcards as API Gateway evaluates policies: `*` matches any run of characters
 * (slashes included), `?` exactly one. Compiled patterns are cached: policies repeat the same few
 * route patterns on every request, and compiling a RegExp per match dominated the cost.
 */

const MAX_CACHED_PATTERNS = 1024;
const compiled = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    const source = pattern.replace(/[.+^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    regex = new RegExp(`^${source}$`, 's');
    // Patterns come from policies (bounded by the routes and stages), but stay bounded whatever arrives.
    if (compiled.size >= MAX_CACHED_PATTERNS) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}

export function wildcardMatches(pattern: string, value: string): boolean {
  return compile(pattern).test(value);
}
