import { describe, expect, it } from 'vitest';
import { decide, defaultThresholds, gateCase, gateLength, gateTable, overall } from '../src/gates.js';
import { baselineFrom, type Baseline } from '../src/baseline.js';
import { defineCase } from '../src/cases.js';
import { median, spread } from '../src/stats.js';
import type { CaseSummary } from '../src/types.js';

function summary(id: string, peaks: number[], ratios: number[], overrides: Partial<CaseSummary> = {}): CaseSummary {
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
    peakNodeMb: 200,
    peakTreeMb: median(peaks),
    hwmSumMb: 0,
    refs: {},
    timeRatio: {},
    cpuRatio: {},
    memoryRatio: {},
    throughputRatio: median(ratios),
    cpuThroughputRatio: median(ratios),
    peakTreeMbs: peaks,
    throughputRatios: ratios,
    cpuThroughputRatios: ratios,
    spread: { peakTree: spread(peaks), throughputRatio: spread(ratios), cpuThroughputRatio: spread(ratios) },
    profile: [],
    ...overrides,
  };
}

function baseline(cases: Baseline['cases']): Baseline {
  return { schema: 1, createdAt: '', machine: { node: 'v20', cpus: 2, cpuModel: 'x', totalMemMb: 1 }, budgetMb: 1536, cases };
}

const t = defaultThresholds;
const base = baseline({ a: { peakTreeMb: 500, throughputRatio: 0.8, cpuThroughputRatio: 0.8, fps: 12, frames: 60, runs: 3 } });

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
    const rows = gateCase(summary('a', [505, 510, 498], [0.79, 0.81, 0.8]), base, t);
    expect(overall(rows)).toBe('pass');
    expect(rows.map((r) => r.metric)).toEqual(['peak tree MB (budget)', 'peak tree MB', 'throughput ratio vs ffmpeg', 'CPU throughput ratio vs ffmpeg']);
  });
  it('fails when peak tree memory rises more than 10%', () => {
    const rows = gateCase(summary('a', [800, 805, 798], [0.8, 0.8, 0.8]), base, t);
    expect(rows.find((r) => r.metric === 'peak tree MB')!.status).toBe('fail');
    expect(overall(rows)).toBe('fail');
  });
  it('fails when the throughput ratio drops more than 15%', () => {
    const rows = gateCase(summary('a', [500, 500, 500], [0.41, 0.4, 0.42]), base, t);
    const row = rows.find((r) => r.metric === 'throughput ratio vs ffmpeg')!;
    expect(row.status).toBe('fail');
    expect(row.change).toBeCloseTo(0.41 / 0.8 - 1);
  });
  it('fails a case over the budget even without a baseline', () => {
    const rows = gateCase(summary('new-case', [1600, 1610, 1620], [1, 1, 1]), null, t);
    expect(rows[0].status).toBe('fail');
    expect(rows[1].status).toBe('new');
  });
  it('is inconclusive, not failed, on a noisy batch straddling the limit', () => {
    const rows = gateCase(summary('a', [520, 560, 600], [0.8, 0.8, 0.8]), base, t);
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
    expect(rows[0].status).toBe('fail');
    const flat = summary(longCase.id, [530], [1], { case: longCase });
    expect(gateLength([short, flat], t)[0].status).toBe('pass');
  });
});

describe('baseline and table', () => {
  it('keeps cases it did not measure and rounds what it did', () => {
    const next = baselineFrom([summary('b', [300.123, 300.2, 299.9], [0.912345, 0.9, 0.91])], 1536, base);
    expect(Object.keys(next.cases).sort()).toEqual(['a', 'b']);
    expect(next.cases.b.peakTreeMb).toBe(300.1);
    expect(next.cases.b.throughputRatio).toBe(0.91);
  });
  it('lists only what regressed when asked', () => {
    const rows = [...gateCase(summary('a', [800, 805, 798], [0.8, 0.8, 0.8]), base, t)];
    const table = gateTable(rows, true);
    expect(table).toContain('**FAIL**');
    expect(table).toContain('+60.0%');
    expect(table.split('\n')).toHaveLength(3);
  });
});

describe('CPU throughput gate', () => {
  it('fails when frames per CPU-second drop more than 15% even if wall-clock throughput held', () => {
    const s = summary('a', [500, 500, 500], [0.8, 0.8, 0.8], { cpuThroughputRatio: 0.5, cpuThroughputRatios: [0.5, 0.52, 0.49] });
    const rows = gateCase(s, base, t);
    expect(rows.find((r) => r.metric === 'throughput ratio vs ffmpeg')!.status).toBe('pass');
    expect(rows.find((r) => r.metric === 'CPU throughput ratio vs ffmpeg')!.status).toBe('fail');
  });
  it('is skipped against a baseline written before it was measured', () => {
    const old = baseline({ a: { peakTreeMb: 500, throughputRatio: 0.8, fps: 12, frames: 60, runs: 3 } });
    const rows = gateCase(summary('a', [500], [0.8]), old, t);
    expect(rows.some((r) => r.metric === 'CPU throughput ratio vs ffmpeg')).toBe(false);
  });
});
