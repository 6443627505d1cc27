/**
 * bench-results/: results.json (everything, for tools), summary.md (for people and the CI job
 * summary) and the charts. Written at the repo root by default; git-ignored.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ffmpegInfo } from '@stickerkey/core';
import { machineInfo } from './baseline.js';
import { combinedChartSpec, renderSvg, runChartSpec } from './charts.js';
import { gateTable, type GateRow, type GateThresholds } from './gates.js';
import type { MicroResult } from './micro.js';
import { targetTable, type TargetRow } from './targets.js';
import type { CaseSummary, RunMeasure } from './types.js';

export const defaultResultsDir = fileURLToPath(new URL('../../../bench-results/', import.meta.url));

export interface BenchReport {
  createdAt: string;
  machine: ReturnType<typeof machineInfo>;
  mode: string;
  options: Record<string, unknown>;
  thresholds: GateThresholds;
  summaries: CaseSummary[];
  gates: GateRow[];
  verdict: string;
  micro: MicroResult[];
  runs: RunMeasure[];
  /** Which ffmpeg every run used (ours and the references); writeReport fills it in. */
  ffmpeg?: BenchFfmpeg;
  /** Issue 8's targets, for `target` runs (targets.ts). */
  targets?: TargetRow[];
}

export interface BenchFfmpeg {
  path: string;
  version: string;
  source: string;
  slow: boolean;
  ffprobe: string;
}

/** This process's ffmpeg, as the report records it: the bench's children inherit the same answer. */
export function benchFfmpeg(): BenchFfmpeg {
  const info = ffmpegInfo();
  return { path: info.path, version: info.version, source: info.source, slow: info.slow, ffprobe: info.ffprobe.path };
}

const f = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const x = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(2)}x`);

export function summaryTable(summaries: readonly CaseSummary[]): string {
  const lines = [
    '| case | frames | wall s | fps | src-s/s | peak Node RSS MB | peak tree RSS MB | time vs decode+encode | time vs filtergraph | CPU vs decode+encode | CPU vs filtergraph | memory vs decode+encode | memory vs filtergraph | throughput ratio | CPU throughput ratio | runs |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of summaries) {
    lines.push(
      `| ${s.id} | ${s.frames} | ${f(s.wallSeconds)} | ${f(s.fps)} | ${f(s.sourceSecondsPerSecond)} | ${f(s.peakNodeMb, 0)} | ${f(s.peakTreeMb, 0)} | ` +
        `${x(s.timeRatio.pipe)} | ${x(s.timeRatio.filtergraph)} | ${x(s.cpuRatio.pipe)} | ${x(s.cpuRatio.filtergraph)} | ${x(s.memoryRatio.pipe)} | ${x(s.memoryRatio.filtergraph)} | ${f(s.throughputRatio, 3)} | ${f(s.cpuThroughputRatio, 3)} | ${s.runs}${s.attempts > 1 ? ` (${s.attempts} batches)` : ''} |`,
    );
  }
  return lines.join('\n');
}

/** What each run costs: what a 1-CPU container pays (CPU s per output s), the file, the memory, the set-up. */
export function referenceTable(summaries: readonly CaseSummary[]): string {
  const lines = [
    '| case | run | wall s | CPU s (tree) | CPU s per output s | fps | output MB | peak tree RSS MB | set-up |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const MB = 2 ** 20;
  for (const s of summaries) {
    const ours = s.refused ? `stickerkey (refused [${s.refused.code}])` : 'stickerkey';
    const setup = Number.isFinite(s.setupSeconds) ? `${f(s.setupSeconds)} s (${f(s.setupShare * 100, 1)}%)` : '—';
    lines.push(
      `| ${s.id} | ${ours} | ${f(s.wallSeconds)} | ${f(s.cpuSeconds)} | ${f(s.cpuPerOutputSecond)} | ${f(s.fps)} | ${f(s.outputBytes / MB)} | ${f(s.peakTreeMb, 0)} | ${setup} |`,
    );
    for (const [kind, r] of Object.entries(s.refs)) {
      const name =
        kind === 'pipe'
          ? 'floor: ffmpeg decode \\| encode (2 processes)'
          : kind === 'single'
            ? 'ffmpeg decode+encode (1 process)'
            : 'ffmpeg filtergraph (whole job)';
      lines.push(
        `| ${s.id} | ${name} | ${f(r.wallSeconds)} | ${f(r.cpuSeconds)} | ${f(r.cpuPerOutputSecond)} | ${f(r.fps)} | ${f(r.outputBytes / MB)} | ${f(r.peakTreeMb, 0)} | — |`,
      );
    }
  }
  return lines.join('\n');
}

/** The seed guide's "Expected Memory Profile", measured: milestone -> tree MB per case. */
export function profileTable(summaries: readonly CaseSummary[]): string {
  // Rows in pipeline order: each milestone placed by its mean relative position in the profiles
  // that have it (a 5 s clip's `frame 60` sorts between a 60 s clip's `frame 50` and `frame 100`).
  const position = new Map<string, number[]>();
  for (const s of summaries) {
    s.profile.forEach((row, i) => {
      const key = row.label.startsWith('frame ') && row.label.includes('/') ? row.label.slice(0, row.label.indexOf('/')) : row.label;
      const at = position.get(key) ?? [];
      at.push(i / Math.max(1, s.profile.length - 1));
      position.set(key, at);
    });
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const labels = [...position.keys()].sort((a, b) => mean(position.get(a)!) - mean(position.get(b)!));
  const lookup = (s: CaseSummary, key: string) => s.profile.find((r) => r.label === key || (r.label.startsWith(`${key}/`) && key.startsWith('frame ')));
  const lines = [`| stage | ${summaries.map((s) => s.id).join(' | ')} |`, `|---|${summaries.map(() => '---:').join('|')}|`];
  for (const key of labels) {
    lines.push(
      `| ${key} | ${summaries
        .map((s) => {
          const r = lookup(s, key);
          return r ? `${f(r.treeMb, 0)} (Node ${f(r.nodeMb, 0)})` : '—';
        })
        .join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function microTable(micro: readonly MicroResult[]): string {
  if (micro.length === 0) return '';
  const sizes = [...new Set(micro.map((m) => m.size))];
  const names = [...new Set(micro.map((m) => m.name))];
  // The header says how much of the frame the character covers: cost follows it.
  const header = (size: string): string => {
    const covered = micro.find((m) => m.size === size)?.pixelCoverage;
    return covered === undefined ? `${size} ms/frame` : `${size} ms/frame (character ${f(covered * 100, 0)}% of the pixels)`;
  };
  const lines = [`| effect | ${sizes.map(header).join(' | ')} |`, `|---|${sizes.map(() => '---:').join('|')}|`];
  for (const name of names) {
    lines.push(
      `| ${name} | ${sizes
        .map((size) => {
          const m = micro.find((r) => r.name === name && r.size === size);
          return m ? `${f(m.msPerFrame, 2)} ±${f(m.rme, 1)}%` : '—';
        })
        .join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function summaryMarkdown(report: BenchReport): string {
  const { machine, summaries } = report;
  const parts = [
    `# stickerkey bench (${report.mode})`,
    '',
    `${report.createdAt} · Node ${machine.node} · ${machine.cpus} × ${machine.cpuModel} · ${machine.totalMemMb} MB RAM`,
    '',
    ...(report.ffmpeg
      ? [
          `ffmpeg ${report.ffmpeg.version} (${report.ffmpeg.source}: \`${report.ffmpeg.path}\`)${report.ffmpeg.slow ? ' · **the slow bundled 2018 build: figures are not those of a current ffmpeg**' : ''}`,
          '',
        ]
      : []),
    `**Verdict: ${report.verdict}**`,
    '',
    ...(report.targets ? ['## Targets (issue 8; reported, not gated)', '', targetTable(report.targets), ''] : []),
    '## Runs (medians)',
    '',
    'Ratios are ours ÷ the ffmpeg reference measured in the same run (time: wall; CPU: user+sys of the whole tree; memory: peak tree RSS). ' +
      "They, not seconds, compare across machines. Throughput ratio = our fps ÷ decode|encode fps; CPU throughput ratio = our frames per CPU-second ÷ decode|encode's (the fps of a 1-CPU container); the gates compare both.",
    '',
    summaryTable(summaries),
    '',
    '## Cost per run (medians; CPU s per output s is the real-time factor on one CPU)',
    '',
    referenceTable(summaries),
    '',
    '## Gates',
    '',
    gateTable(report.gates),
    '',
    '## Expected Memory Profile, measured (tree RSS MB at each milestone; Node RSS in brackets)',
    '',
    profileTable(summaries),
    '',
  ];
  if (report.micro.length > 0) parts.push('## Effects, ms per frame (tinybench, in-process)', '', microTable(report.micro), '');
  parts.push('## Charts', '', ...summaries.map((s) => `- ${s.id}: \`charts/${s.id}.svg\``), '- all cases: `charts/combined.svg`', '');
  return parts.join('\n');
}

/** The run with the median peak of each case (what charts and profiles show). */
export function typicalRuns(runs: readonly RunMeasure[], summaries: readonly CaseSummary[]): RunMeasure[] {
  return summaries
    .map((s) => {
      const ours = runs.filter((r) => r.caseId === s.id && r.kind === 'ours' && r.attempt === s.attempts).sort((a, b) => a.peakTreeRss - b.peakTreeRss);
      return ours[(ours.length - 1) >> 1];
    })
    .filter((run) => run !== undefined);
}

export async function writeReport(dir: string, input: BenchReport): Promise<string[]> {
  const report: BenchReport = { ...input, ffmpeg: input.ffmpeg ?? benchFfmpeg() };
  await mkdir(join(dir, 'charts'), { recursive: true });
  const written: string[] = [];
  const write = async (name: string, content: string) => {
    await writeFile(join(dir, name), content);
    written.push(join(dir, name));
  };
  await write('results.json', JSON.stringify(report, null, 1));
  await write('summary.md', summaryMarkdown(report));
  const typical = typicalRuns(report.runs, report.summaries);
  const budget = report.thresholds.budgetMb;
  for (const run of typical) {
    await write(`charts/${run.caseId}.svg`, await renderSvg(runChartSpec(run, budget, `${run.caseId}: memory over time (run ${run.repeat})`)));
    // The references of the same repeat, so a person can see where their memory goes too.
    for (const ref of report.runs.filter((r) => r.caseId === run.caseId && r.kind !== 'ours' && r.attempt === run.attempt && r.repeat === run.repeat)) {
      await write(`charts/${run.caseId}.${ref.kind}.svg`, await renderSvg(runChartSpec(ref, budget, `${run.caseId}: ${ref.kind} reference`)));
    }
  }
  if (typical.length > 0) await write('charts/combined.svg', await renderSvg(combinedChartSpec(typical, budget)));
  return written;
}
