/**
 * Regression gates. A gate never decides on one run: each case is repeated, the medians are
 * compared, and the spread of the batch decides whether the comparison can be trusted:
 * - every repeat within the limit: pass, however noisy;
 * - every repeat beyond the limit: fail, however noisy;
 * - mixed: the median decides when the spread is tight, otherwise the case is inconclusive and
 *   the caller reruns it (up to a limit) instead of failing on noise.
 */
import type { CaseSummary } from './types.js';
import type { Baseline } from './baseline.js';
import { median, spread } from './stats.js';
import { lengthPairs } from './cases.js';

export interface GateThresholds {
  /** Peak tree memory may rise this much over the baseline (0.10 = 10%). */
  memoryIncrease: number;
  /**
   * Our CPU seconds per frame over the same repeat's floor (ffmpeg decode|encode) may rise this
   * much over the baseline's (0.15 = 15%). CPU, not wall time: a busy neighbour stretches wall
   * time by any amount, CPU time barely, and one CPU-second is what a 1-CPU container pays.
   */
  cpuIncrease: number;
  /** Absolute cap on peak tree RSS, MB. */
  budgetMb: number;
  /** Above these spreads ((max-min)/median) a mixed batch is inconclusive. */
  maxSpread: { memory: number; cpu: number };
  /** A long clip's peak may exceed the short clip's by this much (memory flat in length). */
  lengthGrowth: number;
}

export const defaultThresholds: GateThresholds = {
  memoryIncrease: 0.1,
  cpuIncrease: 0.15,
  budgetMb: 1536,
  maxSpread: { memory: 0.1, cpu: 0.15 },
  lengthGrowth: 0.1,
};

export type GateStatus = 'pass' | 'fail' | 'inconclusive' | 'new';

export interface GateRow {
  caseId: string;
  metric: string;
  baseline: number | null;
  current: number;
  limit: number;
  /** current / baseline - 1, or null without a baseline. */
  change: number | null;
  spread: number;
  status: GateStatus;
}

/** Decide one metric from its repeats. `higherIsBetter` for ratios where more is better (neither memory nor CPU). */
export function decide(values: readonly number[], limit: number, higherIsBetter: boolean, maxSpread: number): GateStatus {
  const ok = (v: number) => (higherIsBetter ? v >= limit : v <= limit);
  if (values.every(ok)) return 'pass';
  if (!values.some(ok)) return 'fail';
  if (spread(values) > maxSpread) return 'inconclusive';
  return ok(median(values)) ? 'pass' : 'fail';
}

/** Gates of one case against the baseline (if any) and the budget. */
export function gateCase(summary: CaseSummary, baseline: Baseline | null, t: GateThresholds): GateRow[] {
  const rows: GateRow[] = [];
  const base = baseline?.cases[summary.id];
  const peaks = summary.peakTreeMbs;
  rows.push({
    caseId: summary.id,
    metric: 'peak tree MB (budget)',
    baseline: null,
    current: summary.peakTreeMb,
    limit: t.budgetMb,
    change: null,
    spread: spread(peaks),
    status: decide(peaks, t.budgetMb, false, t.maxSpread.memory),
  });
  if (!base) {
    rows.push({
      caseId: summary.id,
      metric: 'peak tree MB',
      baseline: null,
      current: summary.peakTreeMb,
      limit: Number.NaN,
      change: null,
      spread: spread(peaks),
      status: 'new',
    });
    return rows;
  }
  const memLimit = base.peakTreeMb * (1 + t.memoryIncrease);
  rows.push({
    caseId: summary.id,
    metric: 'peak tree MB',
    baseline: base.peakTreeMb,
    current: summary.peakTreeMb,
    limit: memLimit,
    change: summary.peakTreeMb / base.peakTreeMb - 1,
    spread: spread(peaks),
    status: decide(peaks, memLimit, false, t.maxSpread.memory),
  });
  // The wall-time ratios are reported, not gated: on a shared CI runner they move with the load.
  const baseCpu = baselineFloorCpuRatio(base);
  if (summary.floorCpuRatios.length > 0 && baseCpu !== undefined) {
    const limit = baseCpu * (1 + t.cpuIncrease);
    rows.push({
      caseId: summary.id,
      metric: 'CPU s vs floor',
      baseline: baseCpu,
      current: summary.floorCpuRatio,
      limit,
      change: summary.floorCpuRatio / baseCpu - 1,
      spread: spread(summary.floorCpuRatios),
      status: decide(summary.floorCpuRatios, limit, false, t.maxSpread.cpu),
    });
  }
  return rows;
}

/**
 * The baseline's CPU ratio to the floor. Baselines written before it was recorded hold its
 * inverse, the CPU throughput ratio (frames per CPU-second over the floor's): the same figure.
 * Neither: undefined, and the CPU gate is skipped.
 */
export function baselineFloorCpuRatio(base: Baseline['cases'][string]): number | undefined {
  if (base.floorCpuRatio !== undefined && Number.isFinite(base.floorCpuRatio)) return base.floorCpuRatio;
  if (base.cpuThroughputRatio !== undefined && base.cpuThroughputRatio > 0) return 1 / base.cpuThroughputRatio;
  return undefined;
}

/** Memory must not grow with clip length: each long clip against its short twin. */
export function gateLength(summaries: readonly CaseSummary[], t: GateThresholds): GateRow[] {
  const byId = new Map(summaries.map((s) => [s.id, s]));
  return lengthPairs(summaries.map((s) => s.case)).map(([short, long]) => {
    const s = byId.get(short.id)!;
    const l = byId.get(long.id)!;
    const limit = s.peakTreeMb * (1 + t.lengthGrowth);
    // Medians on both sides: one noisy repeat of either clip must not fail it.
    const status: GateStatus = l.peakTreeMb <= limit ? 'pass' : 'fail';
    return {
      caseId: long.id,
      metric: `peak tree MB vs ${short.id}`,
      baseline: s.peakTreeMb,
      current: l.peakTreeMb,
      limit,
      change: l.peakTreeMb / s.peakTreeMb - 1,
      spread: Math.max(s.spread.peakTree, l.spread.peakTree),
      status,
    };
  });
}

/** The worst status of a set of rows: fail > inconclusive > new > pass. */
export function overall(rows: readonly GateRow[]): GateStatus {
  if (rows.some((r) => r.status === 'fail')) return 'fail';
  if (rows.some((r) => r.status === 'inconclusive')) return 'inconclusive';
  if (rows.some((r) => r.status === 'new')) return 'new';
  return 'pass';
}

function fmt(v: number | null, digits = 2): string {
  return v === null || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

/** Markdown table of gate rows (only the failing/inconclusive ones when `onlyProblems`). */
export function gateTable(rows: readonly GateRow[], onlyProblems = false): string {
  const shown = onlyProblems ? rows.filter((r) => r.status === 'fail' || r.status === 'inconclusive') : rows;
  const lines = ['| case | metric | baseline | current | limit | change | spread | status |', '|---|---|---:|---:|---:|---:|---:|---|'];
  for (const r of shown) {
    const change = r.change === null ? '—' : `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)}%`;
    const status = r.status === 'fail' ? '**FAIL**' : r.status === 'inconclusive' ? 'inconclusive (noisy)' : r.status;
    lines.push(
      `| ${r.caseId} | ${r.metric} | ${fmt(r.baseline)} | ${fmt(r.current)} | ${fmt(r.limit)} | ${change} | ${(r.spread * 100).toFixed(1)}% | ${status} |`,
    );
  }
  return lines.join('\n');
}
