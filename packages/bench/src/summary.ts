/** From a batch of runs of one case to the medians, ratios and stage profile the report shows. */
import type { BenchCase } from './cases.js';
import { mb, median, spread } from './stats.js';
import { referenceKinds, type CaseSummary, type ProfileRow, type ReferenceKind, type RunMeasure } from './types.js';

/** The seed guide's milestones, plus the frame counts it lists; the rest of `frame N/M` is dropped from tables. */
const SEED_FRAMES = new Set([10, 20, 50, 100]);

export function profileOf(run: RunMeasure): ProfileRow[] {
  const rows: ProfileRow[] = [];
  const frames = run.milestones.filter((m) => m.label.startsWith('frame '));
  const lastFrame = frames.at(-1)?.label;
  for (const m of run.milestones) {
    if (m.label.startsWith('frame ')) {
      const n = Number.parseInt(m.label.slice(6), 10);
      if (!SEED_FRAMES.has(n) && m.label !== lastFrame) continue;
    }
    rows.push({ label: m.label, treeMb: mb(m.treeRss), nodeMb: mb(m.processRss) });
  }
  return rows;
}

export function summarize(c: BenchCase, batch: readonly RunMeasure[], sourceSeconds: number, attempts: number): CaseSummary {
  const ours = batch.filter((m) => m.kind === 'ours');
  if (ours.length === 0) throw new Error(`Expected at least one run of our pipeline for ${c.id} but received none`);
  const med = (pick: (m: RunMeasure) => number, runs: readonly RunMeasure[] = ours) => median(runs.map(pick));
  // Figures a refused run does not have (NaN) are left out, not sorted in.
  const medFinite = (pick: (m: RunMeasure) => number, runs: readonly RunMeasure[] = ours) => median(runs.map(pick).filter(Number.isFinite));
  const refs: CaseSummary['refs'] = {};
  const timeRatio: CaseSummary['timeRatio'] = {};
  const cpuRatio: CaseSummary['cpuRatio'] = {};
  const memoryRatio: CaseSummary['memoryRatio'] = {};
  const peakTree = med((m) => m.peakTreeRss);
  const wall = med((m) => m.wallSeconds);
  const cpu = med((m) => m.cpuSeconds);
  const perOutputSecond = (m: RunMeasure) => (m.outputSeconds > 0 ? m.cpuSeconds / m.outputSeconds : Number.NaN);
  for (const kind of referenceKinds) {
    const runs = batch.filter((m) => m.kind === kind);
    if (runs.length === 0) continue;
    const r = {
      wallSeconds: med((m) => m.wallSeconds, runs),
      cpuSeconds: med((m) => m.cpuSeconds, runs),
      cpuPerOutputSecond: medFinite(perOutputSecond, runs),
      fps: med((m) => m.fps, runs),
      peakTreeMb: mb(med((m) => m.peakTreeRss, runs)),
      outputBytes: med((m) => m.outputBytes, runs),
    };
    refs[kind] = r;
    timeRatio[kind] = wall / r.wallSeconds;
    cpuRatio[kind] = cpu / r.cpuSeconds;
    memoryRatio[kind] = mb(peakTree) / r.peakTreeMb;
  }
  // Throughput ratio per repeat, each against the reference run right after it.
  const throughputRatios: number[] = [];
  const cpuThroughputRatios: number[] = [];
  const floorCpuRatios: number[] = [];
  const pipes = batch.filter((m) => m.kind === 'pipe');
  for (const o of ours) {
    const p = pipes.find((m) => m.repeat === o.repeat && m.attempt === o.attempt);
    if (!p || o.frames === 0 || p.frames === 0) continue;
    throughputRatios.push(o.fps / p.fps);
    if (o.cpuSeconds > 0 && p.cpuSeconds > 0) {
      cpuThroughputRatios.push(o.frames / o.cpuSeconds / (p.frames / p.cpuSeconds));
      floorCpuRatios.push(o.cpuSeconds / o.frames / (p.cpuSeconds / p.frames));
    }
  }
  const peakTreeMbs = ours.map((m) => mb(m.peakTreeRss));
  // The profile of the run whose peak is the median one: a typical run, not the luckiest.
  const byPeak = [...ours].sort((a, b) => a.peakTreeRss - b.peakTreeRss);
  const typical = byPeak[(byPeak.length - 1) >> 1];
  return {
    id: c.id,
    case: c,
    runs: ours.length,
    attempts,
    frames: Math.round(med((m) => m.frames)),
    sourceSeconds,
    wallSeconds: wall,
    cpuSeconds: cpu,
    fps: med((m) => m.fps),
    sourceSecondsPerSecond: med((m) => m.sourceSecondsPerSecond),
    outputSeconds: med((m) => m.outputSeconds),
    outputBytes: med((m) => m.outputBytes),
    cpuPerOutputSecond: medFinite(perOutputSecond),
    setupSeconds: medFinite((m) => m.setupSeconds ?? Number.NaN),
    setupShare: medFinite((m) => (m.setupSeconds ?? Number.NaN) / m.wallSeconds),
    refused: ours.every((m) => m.refused) ? (ours[0]?.refused ?? null) : null,
    canvas: ours.find((m) => m.canvas)?.canvas ?? null,
    peakNodeMb: mb(med((m) => m.peakNodeRss ?? 0)),
    peakTreeMb: mb(peakTree),
    hwmSumMb: mb(med((m) => m.hwmSum)),
    refs,
    timeRatio,
    cpuRatio,
    memoryRatio,
    throughputRatio: throughputRatios.length > 0 ? median(throughputRatios) : Number.NaN,
    cpuThroughputRatio: cpuThroughputRatios.length > 0 ? median(cpuThroughputRatios) : Number.NaN,
    floorCpuRatio: floorCpuRatios.length > 0 ? median(floorCpuRatios) : Number.NaN,
    peakTreeMbs,
    throughputRatios,
    cpuThroughputRatios,
    floorCpuRatios,
    spread: {
      peakTree: spread(peakTreeMbs),
      throughputRatio: spread(throughputRatios),
      cpuThroughputRatio: spread(cpuThroughputRatios),
      floorCpuRatio: spread(floorCpuRatios),
    },
    profile: typical ? profileOf(typical) : [], // no run of ours (all refused before a frame): no profile
  };
}

export function referenceLabel(kind: ReferenceKind): string {
  return kind === 'pipe' ? 'floor: ffmpeg decode | encode' : kind === 'single' ? 'ffmpeg decode+encode (1 process)' : 'ffmpeg filtergraph';
}
