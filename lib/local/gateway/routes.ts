import type { Operation } from './document';

/**
 * Route match as API Gateway does it on a REST API: literal segments beat `{param}`, `{param}` beats
 * a greedy `{proxy+}`, and a declared method beats `ANY`.
 */

type SegmentKind = 'literal' | 'param' | 'greedy';

export interface RouteMatch {
  readonly operation: Operation;
  /** Decoded values by parameter name; a greedy value joins its segments with `/`. */
  readonly params: Readonly<Record<string, string>>;
  /**
   * The decoded segments each value is made of. A `/` the client encoded (`%2F`) is inside one
   * segment, never between two: substituting a value must keep that boundary.
   */
  readonly paramSegments: Readonly<Record<string, readonly string[]>>;
}

interface TemplateMatch {
  readonly params: Record<string, string>;
  readonly paramSegments: Record<string, readonly string[]>;
  readonly rank: SegmentKind[];
}

function matchTemplate(template: readonly string[], parts: readonly string[]): TemplateMatch | undefined {
  const params: Record<string, string> = {};
  const paramSegments: Record<string, readonly string[]> = {};
  const rank: SegmentKind[] = [];
  for (let i = 0; i < template.length; i++) {
    const segment = template[i]!;
    const greedy = /^\{([^}]+)\+\}$/.exec(segment);
    if (greedy) {
      if (i !== template.length - 1 || parts.length <= i) return undefined;
      paramSegments[greedy[1]!] = parts.slice(i);
      params[greedy[1]!] = parts.slice(i).join('/');
      rank.push('greedy');
      return { params, paramSegments, rank };
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    const param = /^\{([^}]+)\}$/.exec(segment);
    if (param) {
      params[param[1]!] = part;
      paramSegments[param[1]!] = [part];
      rank.push('param');
    } else if (segment === part) {
      rank.push('literal');
    } else {
      return undefined;
    }
  }
  return parts.length === template.length ? { params, paramSegments, rank } : undefined;
}

const RANK_ORDER = { literal: 0, param: 1, greedy: 2 } as const;

function compareRanks(a: readonly SegmentKind[], b: readonly SegmentKind[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = RANK_ORDER[a[i]!] - RANK_ORDER[b[i]!];
    if (d !== 0) return d;
  }
  return b.length - a.length;
}

/** The operation serving `method` on the decoded resource segments, or undefined (403 on a REST API). */
export function matchRoute(operations: readonly Operation[], method: string, segments: readonly string[]): RouteMatch | undefined {
  let best: (TemplateMatch & { operation: Operation }) | undefined;
  for (const operation of operations) {
    if (operation.method !== method && operation.method !== 'ANY') continue;
    const match = matchTemplate(operation.segments, segments);
    if (match === undefined) continue;
    const order = best === undefined ? -1 : compareRanks(match.rank, best.rank);
    if (order < 0 || (order === 0 && best!.operation.method === 'ANY' && operation.method !== 'ANY')) best = { operation, ...match };
  }
  return best === undefined ? undefined : { operation: best.operation, params: best.params, paramSegments: best.paramSegments };
}
