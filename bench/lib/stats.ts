import type { Measure, Summary, Target } from './types';

/** Nearest-rank percentile of unsorted samples (p in 0..100). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError('percentile of no samples: measure at least one');
  const sorted = [...samples].sort((x, y) => x - y);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (samples: readonly number[]): number => {
  if (samples.length === 0) throw new RangeError('median of no samples: measure at least one');
  const sorted = [...samples].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

export function meets(value: number, target: Target): boolean {
  switch (target.op) {
    case '<=':
      return value <= target.value;
    case '>=':
      return value >= target.value;
    case '==':
      return value === target.value;
  }
}

/**
 * A ratio measured once per repetition: A and B come from the same repetition (interleaved), and
 * the figure is the median of the per-repetition ratios.
 */
export function ratioMeasure(
  name: string,
  reps: readonly { a: number; b: number }[],
  options: { unit?: string; target?: Target } = {},
): Measure {
  const ratio = summarize(reps.map((r) => r.a / r.b));
  return {
    name,
    ratio,
    a: summarize(reps.map((r) => r.a)),
    b: summarize(reps.map((r) => r.b)),
    ...(options.unit === undefined ? {} : { unit: options.unit }),
    ...(options.target === undefined ? {} : { target: options.target, met: meets(ratio.median, options.target) }),
  };
}

/** A single value (a count, a byte ratio) as a measure: min = median = max. */
export function exactMeasure(name: string, value: number, options: { a?: number; b?: number; unit?: string; target?: Target } = {}): Measure {
  const one = (v: number): Summary => ({ median: v, min: v, max: v, n: 1 });
  return {
    name,
    ratio: one(value),
    ...(options.a === undefined ? {} : { a: one(options.a) }),
    ...(options.b === undefined ? {} : { b: one(options.b) }),
    ...(options.unit === undefined ? {} : { unit: options.unit }),
    ...(options.target === undefined ? {} : { target: options.target, met: meets(value, options.target) }),
  };
}
