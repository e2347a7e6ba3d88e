import type { MachineInfo } from './machine';
import type { FigureResult, Measure, Summary } from './types';

const fmt = (value: number): string => {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 10) return value.toFixed(2);
  return value.toFixed(3);
};

const range = (s: Summary): string => (s.min === s.max ? '' : `${fmt(s.min)}–${fmt(s.max)}`);
const side = (s: Summary | undefined, unit: string | undefined): string => (s === undefined ? '' : `${fmt(s.median)}${unit === undefined ? '' : ` ${unit}`}`);

function row(id: string, measure: Measure): string {
  const target = measure.target === undefined ? '' : `${measure.target.op} ${measure.target.value}`;
  const met = measure.met === undefined ? '' : measure.met ? 'yes' : '**no**';
  return `| ${id} | ${measure.name} | ${fmt(measure.ratio.median)} | ${range(measure.ratio)} | ${side(measure.a, measure.unit)} | ${side(measure.b, measure.unit)} | ${target} | ${met} |`;
}

/** The results as a markdown table (what the README shows), with the machine they came from. */
export function renderTable(results: readonly FigureResult[], machine: MachineInfo, mode: string): string {
  const lines = [
    `mode ${mode} · ${machine.cpuModel} · nproc ${machine.nproc} · ${machine.memoryGiB} GiB · node ${machine.node} · ${machine.java} · load at start ${machine.loadAverageAtStart.join(' ')} · commit ${machine.commit}`,
    '',
    '| id | ratio A / B | median | min–max | A | B | target | met |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const result of results) {
    if (!result.available) {
      lines.push(`| ${result.id} | ${result.title} | not available: ${result.unavailableReason ?? 'unknown'} | | | | | |`);
      continue;
    }
    for (const measure of result.measures) lines.push(row(result.id, measure));
  }
  return lines.join('\n');
}

/** Facts beside the ratios (request counts, outcome counts, bundle contributors), one block per figure. */
export function renderFacts(results: readonly FigureResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${result.id} (${result.seconds.toFixed(1)} s): ${JSON.stringify(result.facts)}`);
  }
  return lines.join('\n');
}
