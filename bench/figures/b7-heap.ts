import { getHeapSpaceStatistics } from 'node:v8';
import { decisionBench, outcomeOf } from '../lib/decisions';
import { authorizerEvent, type Credential } from '../lib/authorizer';
import { throughput } from '../lib/interleave';
import { SIZES } from '../lib/sizes';
import { median, ratioMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

const CONCURRENCY = 8;
const READINGS = 5;

interface HeapReading {
  readonly used: number;
  /** Without code space: V8's optimised code grows while the JIT warms up, and is not data. */
  readonly data: number;
}

/** Heap in use after full collections (the worker runs with --expose-gc); the median of READINGS. */
function heapAfterGc(): HeapReading {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('global.gc is missing: run the figure through bench/run.ts (it starts workers with --expose-gc)');
  const used: number[] = [];
  const data: number[] = [];
  for (let i = 0; i < READINGS; i++) {
    gc();
    gc();
    const spaces = getHeapSpaceStatistics();
    const total = spaces.reduce((sum, space) => sum + space.space_used_size, 0);
    const code = spaces.filter((space) => space.space_name.startsWith('code')).reduce((sum, space) => sum + space.space_used_size, 0);
    used.push(total);
    data.push(total - code);
  }
  return { used: median(used), data: median(data) };
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** B7: the authorizer's heap after many decisions against after a few (a leak grows with decisions). */
export const figure: Figure = {
  id: 'B7',
  title: 'authorizer heap after 100,000 decisions / after 1,000',
  async run(context) {
    const sizes = SIZES[context.mode];
    const bench = await decisionBench(context, sizes.customers);
    try {
      // Allow, 402 and 401 in turn, each a fresh event: every path the authorizer has.
      const credentials: { credential: Credential; kind: string }[] = [];
      for (let i = 0; i < bench.customers.allow.length; i++) {
        credentials.push({ credential: bench.customers.allow[i]!, kind: 'allow' });
        credentials.push({ credential: bench.customers.deny[i]!, kind: 'deny' });
        credentials.push({ credential: bench.customers.unknown[i]!, kind: 'unauthorized' });
      }
      const outcomes: Record<string, number> = {};
      let done = 0;
      let deciding = 0;
      const decideMany = async (count: number): Promise<void> => {
        deciding += (
          await throughput(count, CONCURRENCY, async () => {
          const { credential } = credentials[done++ % credentials.length]!;
          const event = authorizerEvent(credential.key);
          const outcome = await outcomeOf(bench.handler(event), event.methodArn);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          })
        ).seconds;
      };
      await decideMany(sizes.heapBaseDecisions);
      const base = heapAfterGc();
      const checkpoints = [{ x: done, y: base.used, data: base.data }];
      const steps = 5;
      const perStep = Math.ceil((sizes.heapDecisions - sizes.heapBaseDecisions) / steps);
      while (done < sizes.heapDecisions) {
        await decideMany(Math.min(perStep, sizes.heapDecisions - done));
        const reading = heapAfterGc();
        checkpoints.push({ x: done, y: reading.used, data: reading.data });
      }
      const last = checkpoints[checkpoints.length - 1]!;
      // The readings at every checkpoint are the repetitions: each against the first reading.
      const reps = checkpoints.slice(1).map((c) => ({ a: c.y, b: base.used }));
      const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 100) / 100;
      const measure = ratioMeasure(`heap after ${done} / after ${sizes.heapBaseDecisions} decisions`, [{ a: last.y, b: base.used }], { target: { op: '<=', value: 1.05 } });
      const dataMeasure = ratioMeasure(`heap without code space after ${done} / after ${sizes.heapBaseDecisions}`, [{ a: last.data, b: base.data }]);
      return {
        available: true,
        measures: [
          { ...measure, a: { ...measure.a!, median: mib(last.y), min: mib(last.y), max: mib(last.y) }, b: { ...measure.b!, median: mib(base.used), min: mib(base.used), max: mib(base.used) }, unit: 'MiB' },
          { ...dataMeasure, a: { ...dataMeasure.a!, median: mib(last.data), min: mib(last.data), max: mib(last.data) }, b: { ...dataMeasure.b!, median: mib(base.data), min: mib(base.data), max: mib(base.data) }, unit: 'MiB' },
          ratioMeasure(`heap at each checkpoint / after the first ${sizes.heapBaseDecisions}`, reps),
        ],
        facts: {
          decisions: done,
          outcomes,
          concurrency: CONCURRENCY,
          decisionsPerSecond: Math.round(done / deciding),
          heapMiBAtCheckpoints: checkpoints.map((c) => ({ decisions: c.x, heapMiB: mib(c.y), withoutCodeMiB: mib(c.data) })),
          bytesPerThousandDecisions: Math.round(slope(checkpoints) * 1000),
          // After the first checkpoint past the base: the JIT has warmed up, what remains is growth.
          bytesPerThousandDecisionsAfterWarmUp: Math.round(slope(checkpoints.slice(1)) * 1000),
        },
        notes: [
          `Real handler, reader and client against DynamoDB Local, ${CONCURRENCY} decisions in flight; heap read after two full collections, median of ${READINGS} readings per checkpoint.`,
          'The first measure compares the last checkpoint with the first; the second summarises every checkpoint, and the slope says how the heap moves per 1,000 decisions.',
        ],
      };
    } finally {
      bench.destroy();
    }
  },
};
