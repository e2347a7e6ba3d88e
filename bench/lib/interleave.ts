import { percentile } from './stats';

/** A B A B … sampling after a warm-up, so that both sides see the same machine load. */

export type Probe = () => Promise<unknown>;

/** A probe that sends the prepared items in turn, round and round (events, requests built before the timing). */
export function cycling<T>(items: readonly T[], send: (item: T) => Promise<unknown>): Probe {
  let i = 0;
  return () => send(items[i++ % items.length]!);
}

const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** Runs a probe, swallowing the rejection a 401 decision ends with: its latency counts the same. */
async function timed(probe: Probe): Promise<number> {
  const start = process.hrtime.bigint();
  try {
    await probe();
  } catch {
    // The probe's outcome is checked by the figure; only its latency is sampled here.
  }
  return elapsedMs(start);
}

/**
 * Latency samples of several probes, one at a time, round-robin (A B C A B C …) after `warmup`
 * rounds that are discarded. Returns one sample list per probe, in probe order.
 */
export async function interleavedLatencies(probes: readonly Probe[], options: { warmup: number; samples: number }): Promise<number[][]> {
  for (let i = 0; i < options.warmup; i++) for (const probe of probes) await timed(probe);
  const samples = probes.map((): number[] => []);
  for (let i = 0; i < options.samples; i++) {
    // Alternate which side goes first so neither always follows the other.
    const order = i % 2 === 0 ? probes.map((_, k) => k) : probes.map((_, k) => probes.length - 1 - k);
    for (const k of order) samples[k]!.push(await timed(probes[k]!));
  }
  return samples;
}

/** Operations per second of `operation(i)` for `total` operations with `concurrency` in flight. */
export async function throughput(total: number, concurrency: number, operation: (i: number) => Promise<unknown>): Promise<{ perSecond: number; seconds: number }> {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    for (let i = next++; i < total; i = next++) await operation(i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = elapsedMs(start) / 1000;
  return { perSecond: total / seconds, seconds };
}

/** p50 and p99 of each side, one pair per repetition, for a ratio measure (stats.ts ratioMeasure). */
export interface PairedPercentiles {
  readonly p50: Array<{ a: number; b: number }>;
  readonly p99: Array<{ a: number; b: number }>;
  /** Calls made on each side, warm-ups included. */
  readonly callsPerSide: number;
}

/**
 * A against B, interleaved, over `repetitions`: a full warm-up before the first and a short one (10
 * rounds) before each other, `samples` of each side per repetition.
 */
export async function pairedLatencies(
  [a, b]: readonly [Probe, Probe],
  sizes: { readonly repetitions: number; readonly latencyWarmup: number; readonly latencySamples: number },
): Promise<PairedPercentiles> {
  return (await latenciesAgainst([a], b, sizes))[0]!;
}

/**
 * Each probe against one baseline, all interleaved (A B C A B C …) so that every side sees the same
 * load: one PairedPercentiles per probe, its `b` the baseline's, as pairedLatencies over `repetitions`.
 */
export async function latenciesAgainst(
  probes: readonly Probe[],
  baseline: Probe,
  sizes: { readonly repetitions: number; readonly latencyWarmup: number; readonly latencySamples: number },
): Promise<PairedPercentiles[]> {
  const pairs = probes.map(() => ({ p50: [] as Array<{ a: number; b: number }>, p99: [] as Array<{ a: number; b: number }> }));
  let callsPerSide = 0;
  for (let rep = 0; rep < sizes.repetitions; rep++) {
    const warmup = rep === 0 ? sizes.latencyWarmup : 10;
    const samples = await interleavedLatencies([...probes, baseline], { warmup, samples: sizes.latencySamples });
    const base = samples[probes.length]!;
    callsPerSide += warmup + sizes.latencySamples;
    pairs.forEach((pair, k) => {
      pair.p50.push({ a: percentile(samples[k]!, 50), b: percentile(base, 50) });
      pair.p99.push({ a: percentile(samples[k]!, 99), b: percentile(base, 99) });
    });
  }
  return pairs.map((pair) => ({ ...pair, callsPerSide }));
}
