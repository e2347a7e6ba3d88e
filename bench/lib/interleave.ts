/** A B A B … sampling after a warm-up, so that both sides see the same machine load. */

export type Probe = () => Promise<unknown>;

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
