/**
 * bench:keying: our keyer against ffmpeg's best grid-searched chromakey + despill, on the
 * held-out family of @stickerkey/fixtures, per set (tuning, held-out) and screen colour.
 *
 * For each set x screen:
 * 1. its clips are generated (or read from the cache) and decoded once; the truth is recomputed;
 * 2. ours keys every frame with the `key` preset's defaults (keyers.ts: the effect's real code);
 * 3. the ffmpeg oracle: a grid of key colour (pure, or the clip's measured screen) x blend x
 *    similarity, then a finer grid around the best (midpoints to its neighbours); the setting with
 *    the least total SAD over the set's clips on that screen wins (chosen against the truth: no
 *    user could tune it so). Then despill mix x expand at that matte, the one with the least edge
 *    colour error (despill does not touch alpha, and leaves no excess by construction). The search
 *    runs on the scored frames only, the final setting on every frame (flicker);
 * 4. both are scored on the same frames: the matte metrics on the scored frames (odd frames while
 *    the character moves, one held frame), flicker over every consecutive pair of the clip.
 * Figures are means per scored frame over the set's clips (spill and flicker: totals over
 * totals). SAD, gradient and connectivity are shown /1000 as the matting literature does, MSE x1000.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ffmpegInfo } from '@stickerkey/core';
import { KEYING_CLIPS, ensureHeldoutClip, type HeldoutClip, type KeyingSet } from '@stickerkey/fixtures';
import {
  chromakeyAlphas,
  chromakeyDespill,
  decodeNative,
  keyWithOurs,
  measuredScreen,
  selectFrames,
  type DespillSetting,
  type KeyColour,
  type NativeClip,
} from './keyers.js';
import { alphaPlane, edgeColourError, edgeSpill, flicker, gradientMagnitude, matteScores, type MatteScores, type ScreenColour } from './metrics.js';

export interface OracleGrid {
  similarities: readonly number[];
  blends: readonly number[];
  colours: readonly ('pure' | 'measured')[];
  despill: readonly DespillSetting[];
}

/** The coarse grid; the search then refines around its best point (see refine()). */
export const FULL_GRID: OracleGrid = {
  similarities: [0.01, 0.02, 0.04, 0.07, 0.11, 0.17, 0.26],
  blends: [0, 0.03, 0.08, 0.16],
  colours: ['pure', 'measured'],
  despill: [
    { mix: 0.5, expand: 0 },
    { mix: 0.5, expand: 0.5 },
    { mix: 0.8, expand: 0 },
    { mix: 0.8, expand: 0.5 },
  ],
};

export interface KeyingBenchOptions {
  sets: readonly KeyingSet[];
  screens: readonly ScreenColour[];
  /** Clip height; 720 is the figure the targets are stated for. */
  height: number;
  frames: number;
  /** How many clips of each set (in KEYING_CLIPS order); undefined: all. */
  clipsPerSet?: number;
  grid: OracleGrid;
  /** false: ours alone (the oracle's columns empty), for iterating on the keyer. */
  oracle?: boolean;
  cacheDir?: string;
  log?: (line: string) => void;
}

export const FULL_OPTIONS: KeyingBenchOptions = { sets: ['tuning', 'heldout'], screens: ['green', 'blue'], height: 720, frames: 12, grid: FULL_GRID };

/** --quick: 360p, 8 frames, the first two clips of each set (one 4:2:0, one 4:2:2), a coarser grid. */
export const QUICK_OPTIONS: KeyingBenchOptions = {
  ...FULL_OPTIONS,
  height: 360,
  frames: 8,
  clipsPerSet: 2,
  grid: { ...FULL_GRID, similarities: [0.01, 0.03, 0.07, 0.13, 0.22], blends: [0, 0.05, 0.14], despill: FULL_GRID.despill.slice(0, 2) },
};

export interface Scores extends MatteScores {
  /** Mean edge spill, 8-bit levels, and the pixels it is over. */
  spill: number;
  spillPixels: number;
  /** Mean premultiplied colour error on semi-transparent truth pixels, 8-bit levels, and the pixels. */
  edgeColour: number;
  edgeColourPixels: number;
  /** Mean |change of alpha| where the truth holds, 8-bit levels, and the pixels. */
  flicker: number;
  flickerPixels: number;
  /** Scored frames the matte metrics are averaged over. */
  frames: number;
}

export interface OracleChoice {
  colour: 'pure' | 'measured';
  similarity: number;
  blend: number;
  despill: DespillSetting;
}

export interface GroupResult {
  set: KeyingSet;
  screen: ScreenColour;
  clips: string[];
  ours: Scores;
  oracle: Scores;
  oracleChoice: OracleChoice;
  /** Every setting the oracle tried and its total SAD over the group's scored frames (alpha units). */
  oracleTried: { colour: 'pure' | 'measured'; similarity: number; blend: number; sad: number }[];
  despillTried: { despill: DespillSetting; edgeColour: number; spill: number }[];
  perClip: { id: string; chroma: string; kbps: number; ours: Scores; oracle: Scores }[];
  cpuSeconds: { oursSetup: number; oursFrames: number; oracleFfmpeg: number };
}

export interface KeyingBenchResult {
  createdAt: string;
  ffmpeg: { path: string; version: string };
  options: Omit<KeyingBenchOptions, 'log' | 'cacheDir'>;
  groups: GroupResult[];
}

/** Frames the matte metrics are taken on: odd frames while the character moves, and the second held frame. */
export function scoredFrames(frames: number, hold: number): number[] {
  const out: number[] = [];
  for (let k = 1; k < hold; k += 2) out.push(k);
  if (hold + 1 < frames) out.push(hold + 1);
  else if (hold < frames) out.push(hold);
  return out;
}

interface Accumulator {
  sad: number;
  mse: number;
  gradient: number;
  connectivity: number;
  frames: number;
  spillExcess: number;
  spillPixels: number;
  edgeColourError: number;
  edgeColourPixels: number;
  flickerChange: number;
  flickerPixels: number;
}

const emptyAccumulator = (): Accumulator => ({
  sad: 0,
  mse: 0,
  gradient: 0,
  connectivity: 0,
  frames: 0,
  spillExcess: 0,
  spillPixels: 0,
  edgeColourError: 0,
  edgeColourPixels: 0,
  flickerChange: 0,
  flickerPixels: 0,
});

function addAccumulator(into: Accumulator, from: Accumulator): void {
  for (const key of Object.keys(into) as (keyof Accumulator)[]) into[key] += from[key];
}

function toScores(a: Accumulator): Scores {
  const f = Math.max(1, a.frames);
  return {
    sad: a.sad / f,
    mse: a.mse / f,
    gradient: a.gradient / f,
    connectivity: a.connectivity / f,
    frames: a.frames,
    spill: a.spillPixels ? a.spillExcess / a.spillPixels : 0,
    spillPixels: a.spillPixels,
    edgeColour: a.edgeColourPixels ? a.edgeColourError / a.edgeColourPixels : 0,
    edgeColourPixels: a.edgeColourPixels,
    flicker: a.flickerPixels ? a.flickerChange / a.flickerPixels : 0,
    flickerPixels: a.flickerPixels,
  };
}

interface ClipTruth {
  clip: HeldoutClip;
  /** Truth alpha of every frame. */
  alpha: Uint8Array[];
  /** Truth foreground and gradient magnitude of the scored frames. */
  foreground: Map<number, Uint8Array>;
  gradient: Map<number, Float64Array>;
  scored: number[];
}

/** Adds the spill and edge colour totals of frame `k` (truth index) of `rgba` into `acc`. */
function addEdges(acc: Accumulator, truth: ClipTruth, k: number, rgba: Uint8Array, screen: ScreenColour): void {
  const spill = edgeSpill(rgba, truth.alpha[k]!, truth.foreground.get(k)!, screen);
  acc.spillExcess += spill.excess;
  acc.spillPixels += spill.pixels;
  const colour = edgeColourError(rgba, truth.alpha[k]!, truth.foreground.get(k)!);
  acc.edgeColourError += colour.error;
  acc.edgeColourPixels += colour.pixels;
}

/** Scores a keyer's RGBA frames (every frame of the clip) against the truth. */
function scoreClip(truth: ClipTruth, rgba: Uint8Array[], screen: ScreenColour): Accumulator {
  const { width, height } = truth.clip;
  const acc = emptyAccumulator();
  const alphas = rgba.map((frame) => alphaPlane(frame));
  for (const k of truth.scored) {
    const m = matteScores({ data: alphas[k]!, width, height }, { data: truth.alpha[k]!, width, height }, truth.gradient.get(k));
    acc.sad += m.sad;
    acc.mse += m.mse;
    acc.gradient += m.gradient;
    acc.connectivity += m.connectivity;
    acc.frames++;
    addEdges(acc, truth, k, rgba[k]!, screen);
  }
  for (let k = 1; k < alphas.length; k++) {
    const f = flicker(alphas[k - 1]!, alphas[k]!, truth.alpha[k - 1]!, truth.alpha[k]!);
    acc.flickerChange += f.change;
    acc.flickerPixels += f.pixels;
  }
  return acc;
}

/** SAD of alpha planes of the scored frames only (alphas[j] is truth.scored[j]). */
function sadOverScored(alphas: Uint8Array[], truth: ClipTruth): number {
  let sum = 0;
  truth.scored.forEach((k, j) => {
    const a = alphas[j]!;
    const t = truth.alpha[k]!;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - t[i]!);
  });
  return sum / 255;
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** `best` and the midpoints to its neighbours in `values` (sorted ascending). */
function refine(values: readonly number[], best: number): number[] {
  const i = values.indexOf(best);
  const out = [best];
  if (i > 0) out.push(round4((values[i - 1]! + best) / 2));
  if (i >= 0 && i < values.length - 1) out.push(round4((best + values[i + 1]!) / 2));
  return [...new Set(out)].sort((a, b) => a - b);
}

async function runGroup(set: KeyingSet, screen: ScreenColour, options: KeyingBenchOptions): Promise<GroupResult> {
  const log = options.log ?? (() => undefined);
  const params = KEYING_CLIPS.filter((c) => c.set === set).slice(0, options.clipsPerSet);
  const hold = Math.floor(options.frames / 2);
  const truths: ClipTruth[] = [];
  const natives: NativeClip[] = [];
  for (const p of params) {
    const clip = await ensureHeldoutClip({ clip: p, screen, height: options.height, frames: options.frames, hold }, { cacheDir: options.cacheDir });
    const scored = scoredFrames(clip.frames, clip.hold);
    const alpha: Uint8Array[] = [];
    const foreground = new Map<number, Uint8Array>();
    const gradient = new Map<number, Float64Array>();
    for (let k = 0; k < clip.frames; k++) {
      const t = clip.readTruth(k);
      alpha.push(t.alpha);
      if (!scored.includes(k)) continue;
      foreground.set(k, t.foreground);
      gradient.set(k, gradientMagnitude({ data: t.alpha, width: clip.width, height: clip.height }));
    }
    truths.push({ clip, alpha, foreground, gradient, scored });
    natives.push(await decodeNative(clip.video, p.chroma, clip.width, clip.height, clip.frames));
    log(`  ${set} ${screen} ${p.id}: ${clip.source} ${clip.video}`);
  }

  // Ours, default options.
  const oursAcc = emptyAccumulator();
  const perClipOurs: Accumulator[] = [];
  let oursSetup = 0;
  let oursFrames = 0;
  for (const truth of truths) {
    const keyed = await keyWithOurs(truth.clip.video, truth.clip.frames);
    oursSetup += keyed.setupCpuSeconds;
    oursFrames += keyed.frameCpuSeconds;
    const acc = scoreClip(truth, keyed.frames, screen);
    perClipOurs.push(acc);
    addAccumulator(oursAcc, acc);
  }

  if (options.oracle === false) {
    const none = toScores(emptyAccumulator());
    return {
      set,
      screen,
      clips: params.map((p) => p.id),
      ours: toScores(oursAcc),
      oracle: none,
      oracleChoice: { colour: 'pure', similarity: 0, blend: 0, despill: { mix: 0, expand: 0 } },
      oracleTried: [],
      despillTried: [],
      perClip: truths.map((t, i) => ({ id: t.clip.params.id, chroma: t.clip.params.chroma, kbps: t.clip.kbps, ours: toScores(perClipOurs[i]!), oracle: none })),
      cpuSeconds: { oursSetup, oursFrames, oracleFfmpeg: 0 },
    };
  }

  // The oracle's matte: total SAD over the group's scored frames for every colour x blend x
  // similarity of the coarse grid, then of a finer grid around the best.
  const scoredNatives = natives.map((native, i) => selectFrames(native, truths[i]!.scored));
  const measured = natives.map((native, i) => {
    const scoredTruth = new Map(truths[i]!.scored.map((k) => [k, truths[i]!.alpha[k]!]));
    return measuredScreen(native, scoredTruth);
  });
  const colourOf = (kind: 'pure' | 'measured', i: number): KeyColour => (kind === 'pure' ? { kind: 'pure' } : measured[i]!);
  const tried: GroupResult['oracleTried'] = [];
  let oracleCpu = 0;
  const search = async (colour: 'pure' | 'measured', blends: readonly number[], similarities: readonly number[]) => {
    for (const blend of blends) {
      const fresh = similarities.filter((s) => !tried.some((t) => t.colour === colour && t.blend === blend && t.similarity === s));
      if (fresh.length === 0) continue;
      const totals = new Array<number>(fresh.length).fill(0);
      for (let i = 0; i < natives.length; i++) {
        const { alphas, cpuSeconds } = await chromakeyAlphas(scoredNatives[i]!, screen, colourOf(colour, i), blend, fresh);
        oracleCpu += cpuSeconds;
        alphas.forEach((frames, s) => (totals[s]! += sadOverScored(frames, truths[i]!)));
      }
      fresh.forEach((similarity, s) => tried.push({ colour, similarity, blend, sad: totals[s]! }));
    }
  };
  const { similarities, blends, colours } = options.grid;
  for (const colour of colours) await search(colour, blends, similarities);
  const coarse = tried.reduce((a, b) => (b.sad < a.sad ? b : a));
  await search(coarse.colour, refine(blends, coarse.blend), refine(similarities, coarse.similarity));
  const best = tried.reduce((a, b) => (b.sad < a.sad ? b : a));

  // Despill at that matte: the least edge colour error over the group (scored frames).
  const despillTried: GroupResult['despillTried'] = [];
  for (const despill of options.grid.despill) {
    const acc = emptyAccumulator();
    for (let i = 0; i < natives.length; i++) {
      const run = await chromakeyDespill(scoredNatives[i]!, screen, colourOf(best.colour, i), best.similarity, best.blend, despill);
      oracleCpu += run.cpuSeconds;
      truths[i]!.scored.forEach((k, j) => addEdges(acc, truths[i]!, k, run.frames[j]!, screen));
    }
    const scores = toScores(acc);
    despillTried.push({ despill, edgeColour: scores.edgeColour, spill: scores.spill });
  }
  const bestDespill = despillTried.reduce((a, b) => (b.edgeColour < a.edgeColour ? b : a)).despill;

  const oracleAcc = emptyAccumulator();
  const perClip: GroupResult['perClip'] = [];
  for (let i = 0; i < natives.length; i++) {
    const run = await chromakeyDespill(natives[i]!, screen, colourOf(best.colour, i), best.similarity, best.blend, bestDespill);
    oracleCpu += run.cpuSeconds;
    const acc = scoreClip(truths[i]!, run.frames, screen);
    addAccumulator(oracleAcc, acc);
    const clip = truths[i]!.clip;
    perClip.push({ id: clip.params.id, chroma: clip.params.chroma, kbps: clip.kbps, ours: toScores(perClipOurs[i]!), oracle: toScores(acc) });
  }
  return {
    set,
    screen,
    clips: params.map((p) => p.id),
    ours: toScores(oursAcc),
    oracle: toScores(oracleAcc),
    oracleChoice: { colour: best.colour, similarity: best.similarity, blend: best.blend, despill: bestDespill },
    oracleTried: tried,
    despillTried,
    perClip,
    cpuSeconds: { oursSetup, oursFrames, oracleFfmpeg: oracleCpu },
  };
}

export async function runKeyingBench(options: KeyingBenchOptions): Promise<KeyingBenchResult> {
  const groups: GroupResult[] = [];
  for (const set of options.sets) {
    for (const screen of options.screens) {
      options.log?.(`${set} / ${screen} screen`);
      groups.push(await runGroup(set, screen, options));
    }
  }
  const info = ffmpegInfo();
  const { log: _log, cacheDir: _cache, ...rest } = options;
  return { createdAt: new Date().toISOString(), ffmpeg: { path: info.path, version: info.version }, options: rest, groups };
}

/** Metric rows of the table: label, how to read it from Scores, and the scale shown. */
export const METRIC_ROWS: readonly { key: keyof Scores; label: string; scale: number }[] = [
  { key: 'sad', label: 'SAD /1000', scale: 1e-3 },
  { key: 'mse', label: 'MSE x1000', scale: 1e3 },
  { key: 'gradient', label: 'gradient /1000', scale: 1e-3 },
  { key: 'connectivity', label: 'connectivity /1000', scale: 1e-3 },
  { key: 'spill', label: 'edge spill (levels)', scale: 1 },
  { key: 'edgeColour', label: 'edge colour error (levels)', scale: 1 },
  { key: 'flicker', label: 'flicker (levels)', scale: 1 },
];

function fixed(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(3) : v.toFixed(4);
}

/** ours / oracle; below 1 is better for ours on every metric. */
export function ratio(ours: number, oracle: number): number {
  if (oracle === 0) return ours === 0 ? 1 : Infinity;
  return ours / oracle;
}

/** The table as markdown: one block per set x screen. */
export function keyingTable(result: KeyingBenchResult): string {
  const lines: string[] = [];
  const o = result.options;
  lines.push(
    `Keying quality, ${o.height}p, ${o.frames} frames per clip; ffmpeg ${result.ffmpeg.version} (${result.ffmpeg.path}). Ratio = ours / oracle: below 1, ours is better.`,
  );
  for (const g of result.groups) {
    const c = g.oracleChoice;
    lines.push('');
    lines.push(`### ${g.set} set, ${g.screen} screen (${g.clips.join(', ')})`);
    lines.push(
      `oracle: chromakey ${c.colour} colour, similarity ${c.similarity}, blend ${c.blend}; despill mix ${c.despill.mix} expand ${c.despill.expand}` +
        ` (best of ${g.oracleTried.length} mattes by SAD, ${g.despillTried.length} despills by edge colour error)`,
    );
    const keyedFrames = g.perClip.length * o.frames;
    lines.push(
      `ours: ${((g.cpuSeconds.oursFrames / Math.max(1, keyedFrames)) * 1000).toFixed(1)} ms CPU per frame in-process` +
        ` (set-up ${(g.cpuSeconds.oursSetup / Math.max(1, g.perClip.length)).toFixed(2)} s per clip); the oracle search took ${g.cpuSeconds.oracleFfmpeg.toFixed(1)} ffmpeg CPU s`,
    );
    lines.push('');
    lines.push('| metric | ours | ffmpeg oracle | ratio |');
    lines.push('|---|---:|---:|---:|');
    for (const row of METRIC_ROWS) {
      const ours = g.ours[row.key] * row.scale;
      const oracle = g.oracle[row.key] * row.scale;
      lines.push(`| ${row.label} | ${fixed(ours)} | ${fixed(oracle)} | ${fixed(ratio(ours, oracle))} |`);
    }
  }
  return lines.join('\n');
}

/** Writes keying.json and keying.md into `dir`; returns their paths. */
export async function writeKeyingReport(result: KeyingBenchResult, dir: string): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'keying.json');
  const markdown = join(dir, 'keying.md');
  await writeFile(json, JSON.stringify(result, null, 2));
  await writeFile(markdown, `# bench:keying\n\n${keyingTable(result)}\n`);
  return { json, markdown };
}
