import { describe, expect, it } from 'vitest';
import { baselineFloorCpuRatio, decide, defaultThresholds, gateCase, gateLength, gateTable, overall } from '../src/gates.js';
import { baselineFrom, type Baseline } from '../src/baseline.js';
import { defineCase } from '../src/cases.js';
import { median, spread } from '../src/stats.js';
import type { CaseSummary } from '../src/types.js';

/** `cpuRatios`: our CPU per frame over the floor's, per repeat (what the throughput gate reads). */
function summary(id: string, peaks: number[], cpuRatios: number[], overrides: Partial<CaseSummary> = {}): CaseSummary {
  const c = defineCase({ height: 720, seconds: 5, screen: 'green', posterize: 12, format: 'webm' });
  return {
    id,
    case: { ...c, id },
    runs: peaks.length,
    attempts: 1,
    frames: 60,
    sourceSeconds: 5,
    wallSeconds: 5,
    cpuSeconds: 8,
    fps: 12,
    sourceSecondsPerSecond: 1,
    outputSeconds: 5,
    outputBytes: 1e6,
    cpuPerOutputSecond: 1.6,
    setupSeconds: 0.5,
    setupShare: 0.1,
    refused: null,
    canvas: { width: 1300, height: 740 },
    peakNodeMb: 200,
    peakTreeMb: median(peaks),
    hwmSumMb: 0,
    refs: {},
    timeRatio: {},
    cpuRatio: {},
    memoryRatio: {},
    throughputRatio: 1 / median(cpuRatios),
    cpuThroughputRatio: 1 / median(cpuRatios),
    floorCpuRatio: median(cpuRatios),
    peakTreeMbs: peaks,
    throughputRatios: cpuRatios.map((r) => 1 / r),
    cpuThroughputRatios: cpuRatios.map((r) => 1 / r),
    floorCpuRatios: cpuRatios,
    spread: { peakTree: spread(peaks), throughputRatio: spread(cpuRatios), cpuThroughputRatio: spread(cpuRatios), floorCpuRatio: spread(cpuRatios) },
    profile: [],
    ...overrides,
  };
}

function baseline(cases: Baseline['cases']): Baseline {
  return { schema: 1, createdAt: '', machine: { node: 'v20', cpus: 2, cpuModel: 'x', totalMemMb: 1 }, budgetMb: 1536, cases };
}

const t = defaultThresholds;
const base = baseline({ a: { peakTreeMb: 500, throughputRatio: 0.8, cpuThroughputRatio: 0.8, floorCpuRatio: 1.25, fps: 12, frames: 60, runs: 3 } });

describe('stats', () => {
  it('takes the median of odd and even counts and the relative spread', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(spread([90, 100, 110])).toBeCloseTo(0.2);
    expect(spread([5])).toBe(0);
  });
});

describe('decide', () => {
  it('passes when every repeat is within the limit, however noisy', () => {
    expect(decide([100, 300, 500], 550, false, 0.1)).toBe('pass');
  });
  it('fails when every repeat is beyond the limit, however noisy', () => {
    expect(decide([600, 900, 1200], 550, false, 0.1)).toBe('fail');
    expect(decide([0.3, 0.5, 0.6], 0.68, true, 0.1)).toBe('fail');
  });
  it('lets the median decide a mixed, tight batch', () => {
    expect(decide([548, 552, 553], 550, false, 0.1)).toBe('fail');
    expect(decide([547, 549, 552], 550, false, 0.1)).toBe('pass');
  });
  it('calls a mixed, wide batch inconclusive instead of failing it', () => {
    expect(decide([400, 560, 700], 550, false, 0.1)).toBe('inconclusive');
    expect(decide([0.5, 0.7, 0.9], 0.68, true, 0.15)).toBe('inconclusive');
  });
});

describe('gateCase', () => {
  it('passes a case like its baseline', () => {
    const rows = gateCase(summary('a', [505, 510, 498], [1.24, 1.27, 1.25]), base, t);
    expect(overall(rows)).toBe('pass');
    expect(rows.map((r) => r.metric)).toEqual(['peak tree MB (budget)', 'peak tree MB', 'CPU s vs floor']);
  });
  it('fails when peak tree memory rises more than 10%', () => {
    const rows = gateCase(summary('a', [800, 805, 798], [1.25, 1.25, 1.25]), base, t);
    expect(rows.find((r) => r.metric === 'peak tree MB')!.status).toBe('fail');
    expect(overall(rows)).toBe('fail');
  });
  it("fails when our CPU over the floor's rises more than 15%", () => {
    const rows = gateCase(summary('a', [500, 500, 500], [1.5, 1.48, 1.52]), base, t);
    const row = rows.find((r) => r.metric === 'CPU s vs floor')!;
    expect(row.limit).toBeCloseTo(1.25 * 1.15);
    expect(row.status).toBe('fail');
    expect(row.change).toBeCloseTo(1.5 / 1.25 - 1);
  });
  it('fails a case over the budget even without a baseline', () => {
    const rows = gateCase(summary('new-case', [1600, 1610, 1620], [1, 1, 1]), null, t);
    expect(rows[0]!.status).toBe('fail');
    expect(rows[1]!.status).toBe('new');
  });
  it('is inconclusive, not failed, on a noisy batch straddling the limit', () => {
    const rows = gateCase(summary('a', [520, 560, 600], [1.25, 1.25, 1.25]), base, t);
    expect(overall(rows)).toBe('inconclusive');
  });
});

describe('gateLength', () => {
  it('fails a 60 s clip whose peak is more than 10% above its 5 s twin', () => {
    const short = summary('720p-5s-green-p12-webm', [500], [1]);
    const longCase = defineCase({ height: 720, seconds: 60, screen: 'green', posterize: 12, format: 'webm' });
    const long = summary(longCase.id, [600], [1], { case: longCase });
    const rows = gateLength([short, long], t);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('fail');
    const flat = summary(longCase.id, [530], [1], { case: longCase });
    expect(gateLength([short, flat], t)[0]!.status).toBe('pass');
  });
});

describe('baseline and table', () => {
  it('keeps cases it did not measure and rounds what it did', () => {
    const next = baselineFrom([summary('b', [300.123, 300.2, 299.9], [1.912345, 1.9, 1.91])], 1536, base);
    expect(Object.keys(next.cases).sort()).toEqual(['a', 'b']);
    expect(next.cases.b!.peakTreeMb).toBe(300.1);
    expect(next.cases.b!.floorCpuRatio).toBe(1.91);
    expect(next.cases.b!.cpuThroughputRatio).toBe(0.5236);
  });
  it('lists only what regressed when asked', () => {
    const rows = [...gateCase(summary('a', [800, 805, 798], [1.25, 1.25, 1.25]), base, t)];
    const table = gateTable(rows, true);
    expect(table).toContain('**FAIL**');
    expect(table).toContain('+60.0%');
    expect(table.split('\n')).toHaveLength(3);
  });
});

describe('CPU gate against the floor', () => {
  it('gates CPU, not wall time: a collapsed wall-clock ratio alone (a busy machine) does not fail', () => {
    const s = summary('a', [500, 500, 500], [1.25, 1.26, 1.24], { throughputRatio: 0.3, throughputRatios: [0.3, 0.31, 0.29] });
    const rows = gateCase(s, base, t);
    expect(overall(rows)).toBe('pass');
    expect(rows.some((r) => r.metric.startsWith('throughput'))).toBe(false);
  });
  it("reads an older baseline's CPU throughput ratio as the inverse of the CPU ratio", () => {
    const old = baseline({ a: { peakTreeMb: 500, throughputRatio: 0.8, cpuThroughputRatio: 0.4, fps: 12, frames: 60, runs: 3 } });
    expect(baselineFloorCpuRatio(old.cases.a!)).toBeCloseTo(2.5);
    const row = gateCase(summary('a', [500], [3]), old, t).find((r) => r.metric === 'CPU s vs floor')!;
    expect(row.baseline).toBeCloseTo(2.5);
    expect(row.status).toBe('fail'); // 3 > 2.5 * 1.15
  });
  it('is skipped against a baseline with no CPU figure at all', () => {
    const old = baseline({ a: { peakTreeMb: 500, throughputRatio: 0.8, fps: 12, frames: 60, runs: 3 } });
    const rows = gateCase(summary('a', [500], [0.8]), old, t);
    expect(rows.some((r) => r.metric.startsWith('CPU'))).toBe(false);
  });
});
