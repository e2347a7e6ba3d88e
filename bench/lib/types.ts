/** What every figure module returns; run.ts prints it as a table and writes it as JSON. */

export type FigureId = 'B1' | 'B2' | 'B3' | 'B4' | 'B5' | 'B6' | 'B7' | 'B8' | 'B9' | 'B10' | 'B11' | 'B12' | 'B13' | 'B14';
export const FIGURE_IDS: readonly FigureId[] = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B11', 'B12', 'B13', 'B14'];

export type Mode = 'full' | 'quick' | 'smoke';

/** Median of the repetitions with the extremes beside it. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export interface Target {
  readonly op: '<=' | '>=' | '==';
  readonly value: number;
}

/** One ratio A / B of a figure. */
export interface Measure {
  /** e.g. "p50 decision / raw GetItem". */
  readonly name: string;
  readonly ratio: Summary;
  /** The numerator and denominator (medians over repetitions), for reading the ratio. */
  readonly a?: Summary;
  readonly b?: Summary;
  readonly unit?: string;
  readonly target?: Target;
  /** undefined when the measure has no target. */
  readonly met?: boolean;
}

export interface FigureResult {
  readonly id: FigureId;
  readonly title: string;
  readonly available: boolean;
  /** Why the figure could not be measured (available: false). */
  readonly unavailableReason?: string;
  readonly measures: readonly Measure[];
  /** Facts beside the ratios: request counts, exact outcome counts, top bundle contributors. */
  readonly facts: Readonly<Record<string, unknown>>;
  readonly notes: readonly string[];
  readonly seconds: number;
}

export interface FigureContext {
  readonly mode: Mode;
  readonly dynamodbEndpoint: string;
  /** Folder for bundles, metafiles and scratch files of this run. */
  readonly workDir: string;
  /** The project root. */
  readonly root: string;
}

export interface Figure {
  readonly id: FigureId;
  readonly title: string;
  run(context: FigureContext): Promise<Omit<FigureResult, 'id' | 'title' | 'seconds'>>;
}
