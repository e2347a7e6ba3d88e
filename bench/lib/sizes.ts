import type { Mode } from './types';

/**
 * Sample counts per mode. `full` meets the minimums (≥ 5 repetitions, ≥ 30 cold-start
 * samples, ≥ 3,000 webhook events, 100,000 decisions); `quick` keeps the same shape with fewer
 * samples and 3 repetitions (under two minutes on 2 cores: indicative, not the published figures); `smoke` only proves every figure runs (one repetition).
 */
export interface Sizes {
  readonly repetitions: number;
  /** Latency samples per side per repetition (B1, B6). */
  readonly latencySamples: number;
  readonly latencyWarmup: number;
  /** Cold imports per bundle (B2), interleaved. */
  readonly coldSamples: number;
  /** Webhook events per repetition (B4). */
  readonly webhookEvents: number;
  /** Seconds of load per autocannon run (B5). */
  readonly loadSeconds: number;
  /** B7: decisions before the first and the last heap reading. */
  readonly heapBaseDecisions: number;
  readonly heapDecisions: number;
  /** Customers seeded for the authorizer figures. */
  readonly customers: number;
}

export const SIZES: Readonly<Record<Mode, Sizes>> = {
  full: {
    repetitions: 5,
    latencySamples: 1000,
    latencyWarmup: 300,
    coldSamples: 40,
    webhookEvents: 3000,
    loadSeconds: 4,
    heapBaseDecisions: 1000,
    heapDecisions: 100_000,
    customers: 200,
  },
  quick: {
    repetitions: 3,
    latencySamples: 150,
    latencyWarmup: 50,
    coldSamples: 10,
    webhookEvents: 240,
    loadSeconds: 1,
    heapBaseDecisions: 1000,
    heapDecisions: 5000,
    customers: 20,
  },
  smoke: {
    repetitions: 1,
    latencySamples: 20,
    latencyWarmup: 5,
    coldSamples: 2,
    webhookEvents: 140,
    loadSeconds: 1,
    heapBaseDecisions: 50,
    heapDecisions: 200,
    customers: 6,
  },
};
