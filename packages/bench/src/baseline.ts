/**
 * packages/bench/baseline.json: the medians the gates compare against. Only ratios and memory
 * are meaningful across machines; fps is kept for people reading the file.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CaseSummary } from './types.js';
import { round } from './stats.js';

export interface BaselineCase {
  peakTreeMb: number;
  throughputRatio: number;
  /** Frames per CPU-second over the floor's; for readers, and the CPU gate's fallback (see baselineFloorCpuRatio). */
  cpuThroughputRatio?: number;
  /** Our CPU per frame over the floor's (decode|encode), the CPU gate's figure; absent in older baselines. */
  floorCpuRatio?: number;
  fps: number;
  frames: number;
  runs: number;
}

export interface Baseline {
  schema: 1;
  createdAt: string;
  machine: { node: string; cpus: number; cpuModel: string; totalMemMb: number };
  budgetMb: number;
  cases: Record<string, BaselineCase>;
}

export const defaultBaselinePath = fileURLToPath(new URL('../baseline.json', import.meta.url));

export function machineInfo(): Baseline['machine'] {
  const cpus = os.cpus();
  return { node: process.version, cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', totalMemMb: Math.round(os.totalmem() / 2 ** 20) };
}

export function baselineFrom(summaries: readonly CaseSummary[], budgetMb: number, previous?: Baseline | null): Baseline {
  // Cases not measured this time keep their previous figures (update --quick must not drop the full set).
  const cases: Record<string, BaselineCase> = { ...(previous?.cases ?? {}) };
  for (const s of summaries) {
    cases[s.id] = {
      peakTreeMb: round(s.peakTreeMb, 1),
      throughputRatio: round(s.throughputRatio, 4),
      cpuThroughputRatio: round(s.cpuThroughputRatio, 4),
      floorCpuRatio: round(s.floorCpuRatio, 4),
      fps: round(s.fps, 2),
      frames: s.frames,
      runs: s.runs,
    };
  }
  return { schema: 1, createdAt: new Date().toISOString(), machine: machineInfo(), budgetMb, cases };
}

export async function readBaseline(path: string): Promise<Baseline | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = JSON.parse(text) as Baseline;
  if (parsed.schema !== 1 || typeof parsed.cases !== 'object') {
    throw new Error(`Expected a bench baseline with schema 1 in ${path} but received ${JSON.stringify(parsed).slice(0, 80)}`);
  }
  return parsed;
}

export async function writeBaseline(path: string, baseline: Baseline): Promise<void> {
  await writeFile(path, JSON.stringify(baseline, null, 2) + '\n');
}
