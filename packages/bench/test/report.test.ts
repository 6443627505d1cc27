import { describe, expect, it } from 'vitest';
import { renderSvg, runChartSpec, combinedChartSpec } from '../src/charts.js';
import { ffmpegInfo } from '@stickerkey/core';
import { benchFfmpeg, profileTable, summaryMarkdown, summaryTable } from '../src/report.js';
import { summarize } from '../src/summary.js';
import { defineCase } from '../src/cases.js';
import type { RunMeasure } from '../src/types.js';

const MB = 1024 * 1024;
const c = defineCase({ height: 720, seconds: 5, screen: 'green', posterize: 12, format: 'webm' });

function run(kind: RunMeasure['kind'], repeat: number, fps: number, peakMb: number): RunMeasure {
  const labels = [
    'start',
    'before posterize time',
    'after keying',
    'frame 10/60',
    'frame 20/60',
    'frame 30/60',
    'frame 60/60',
    'after encoding',
    'after cleanup',
  ];
  return {
    kind,
    caseId: c.id,
    attempt: 1,
    repeat,
    frames: 60,
    wallSeconds: 60 / fps,
    processWallSeconds: 60 / fps + 0.3,
    cpuSeconds: 90 / fps,
    fps,
    sourceSecondsPerSecond: 5 / (60 / fps),
    outputSeconds: 5,
    outputBytes: kind === 'ours' ? 2e6 : 1.5e6,
    setupSeconds: kind === 'ours' ? 0.6 : null,
    peakNodeRss: kind === 'ours' ? 150 * MB : null,
    peakTreeRss: peakMb * MB,
    hwmSum: peakMb * MB * 1.1,
    processes: [],
    samples: Array.from({ length: 40 }, (_, i) => ({ t: i * 50, treeRss: (peakMb - 40 + i) * MB, rootRss: 100 * MB })),
    milestones: kind === 'ours' ? labels.map((label, i) => ({ t: i * 200, label, treeRss: (300 + i * 10) * MB, processRss: 120 * MB })) : [],
  };
}

const batch = [
  run('ours', 1, 10, 500),
  run('pipe', 1, 20, 400),
  run('filtergraph', 1, 5, 450),
  run('ours', 2, 11, 510),
  run('pipe', 2, 20, 400),
  run('filtergraph', 2, 5, 450),
];

describe('summarize', () => {
  it('computes medians and same-repeat ratios', () => {
    const s = summarize(c, batch, 5, 1);
    expect(s.runs).toBe(2);
    expect(s.fps).toBeCloseTo(10.5);
    expect(s.throughputRatio).toBeCloseTo((10 / 20 + 11 / 20) / 2);
    expect(s.memoryRatio.pipe).toBeCloseTo(505 / 400);
    expect(s.timeRatio.filtergraph).toBeCloseTo((6 + 60 / 11) / 2 / 12);
    // What a 1-CPU container pays: CPU s per second of output, and the floor's CPU per frame as the gated ratio.
    expect(s.cpuPerOutputSecond).toBeCloseTo((90 / 10 + 90 / 11) / 2 / 5);
    expect(s.refs.pipe!.cpuPerOutputSecond).toBeCloseTo(90 / 20 / 5);
    expect(s.floorCpuRatio).toBeCloseTo((20 / 10 + 20 / 11) / 2);
    expect(s.setupShare).toBeCloseTo((0.6 / 6 + 0.6 / (60 / 11)) / 2);
    expect(s.outputBytes).toBe(2e6);
    expect(s.refused).toBeNull();
    // seed milestones and the last frame only
    expect(s.profile.map((r) => r.label)).toEqual([
      'start',
      'before posterize time',
      'after keying',
      'frame 10/60',
      'frame 20/60',
      'frame 60/60',
      'after encoding',
      'after cleanup',
    ]);
  });
  it('writes a Markdown table with one row per case and the profile by stage', () => {
    const s = summarize(c, batch, 5, 1);
    const table = summaryTable([s]);
    expect(table.split('\n')).toHaveLength(3);
    expect(table).toContain('| 720p-5s-green-p12-webm | 60 |');
    expect(table).toContain('1.26x'); // memory vs decode+encode
    expect(profileTable([s])).toContain('| frame 20 | 340 (Node 120) |');
    const md = summaryMarkdown({
      createdAt: 'now',
      machine: { node: 'v20', cpus: 2, cpuModel: 'cpu', totalMemMb: 1 },
      mode: 'run',
      options: {},
      thresholds: { memoryIncrease: 0.1, cpuIncrease: 0.15, budgetMb: 1536, maxSpread: { memory: 0.1, cpu: 0.15 }, lengthGrowth: 0.1 },
      summaries: [s],
      gates: [],
      verdict: 'pass',
      micro: [],
      runs: batch,
    });
    expect(md).toContain('Expected Memory Profile');
  });
  it('says which ffmpeg ran, and flags the slow bundled build', () => {
    const base = {
      createdAt: 'now',
      machine: { node: 'v20', cpus: 2, cpuModel: 'cpu', totalMemMb: 1 },
      mode: 'run',
      options: {},
      thresholds: { memoryIncrease: 0.1, cpuIncrease: 0.15, budgetMb: 1536, maxSpread: { memory: 0.1, cpu: 0.15 }, lengthGrowth: 0.1 },
      summaries: [],
      gates: [],
      verdict: 'pass',
      micro: [],
      runs: [],
    };
    const ffmpeg = { path: '/usr/bin/ffmpeg', version: '5.1.9', source: 'path', slow: false, ffprobe: '/usr/bin/ffprobe' };
    expect(summaryMarkdown({ ...base, ffmpeg })).toContain('\nffmpeg 5.1.9 (path: `/usr/bin/ffmpeg`)\n');
    expect(summaryMarkdown({ ...base, ffmpeg: { ...ffmpeg, source: 'bundled', slow: true } })).toContain('**the slow bundled 2018 build');
    expect(benchFfmpeg()).toMatchObject({ path: ffmpegInfo().path, version: ffmpegInfo().version, source: ffmpegInfo().source });
  });
});

describe('charts', () => {
  it('renders a run chart with the milestones and the budget as SVG, headless', async () => {
    const svg = await renderSvg(runChartSpec(batch[0]!, 1536, 'test chart'));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('after keying');
    expect(svg).toContain('test chart');
  });
  it('renders the combined chart', async () => {
    const svg = await renderSvg(combinedChartSpec([batch[0]!, batch[3]!], 1536));
    expect(svg).toContain('<svg');
    expect(svg).toContain('720p-5s-green-p12-webm (ours)');
  });
});
