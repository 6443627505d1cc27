/**
 * Keying quality against ground truth, ours versus ffmpeg's chromakey + despill.
 *
 * The fixture clips (H.264 yuv420p, as users upload them) come with the exact alpha they were
 * rendered with. On a few frames of the green and the blue clip we score:
 * (a) alpha error: sum over the frame of |alpha - truth| / 255 (pixel equivalents), mean over frames;
 * (b) screen excess left on edge pixels: for the edge pixels (truth strictly between 0 and 255, or
 *     next to a pixel whose truth differs) where the output alpha is > 0, the mean of
 *     max(0, screen channel - max(other two)) of the straight colour (G - max(R, B) for green).
 * Ours runs with default options and `screen: auto`; ffmpeg runs a real ffmpeg over a grid of
 * chromakey similarity x blend x colour (pure and measured), then despill variants at its best
 * matte, and we compare with its best figure on each metric.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createStage, ffmpegBinary, probe, sampleFrames, type Frame } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { chromaKey } from '../src/chroma-key.js';

type Screen = 'green' | 'blue';

const HEIGHT = 360;
const SECONDS = 2;
/** Frames scored: spread over the clip. */
const SCORED = [3, 11, 19, 27, 35, 43];

interface Clip {
  video: string;
  width: number;
  height: number;
  frames: number;
  truth: Uint8Array[];
  /** Per scored frame, 1 where the pixel is an edge pixel by the truth. */
  edges: Uint8Array[];
  /** The scored frames as decoded (yuv420p, raw): every keyer run starts from these same bytes. */
  yuv: Buffer;
}

/** Edge pixels: truth strictly between 0 and 255, or next to a pixel whose truth differs. */
function edgeMask(truth: Uint8Array, w: number, h: number): Uint8Array {
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = truth[y * w + x];
      let edge = t > 0 && t < 255;
      for (let dy = -1; dy <= 1 && !edge; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx,
            yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          if (truth[yy * w + xx] !== t) {
            edge = true;
            break;
          }
        }
      }
      mask[y * w + x] = edge ? 1 : 0;
    }
  }
  return mask;
}

async function loadClip(screen: Screen): Promise<Clip> {
  const fx = await ensureFixture({ screen, height: HEIGHT, seconds: SECONDS });
  const truth: Uint8Array[] = [];
  for (const i of SCORED) truth.push(await fx.readAlpha(i));
  // Decoded once; the grid then feeds these raw frames to ffmpeg instead of decoding H.264 each run.
  const yuv = await runFfmpeg(['-i', fx.video, '-vf', selectScored, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1']);
  const edges = truth.map((t) => edgeMask(t, fx.width, fx.height));
  return { video: fx.video, width: fx.width, height: fx.height, frames: fx.frames, truth, edges, yuv };
}

/** Runs ffmpeg and returns stdout; rejects with the stderr tail when it fails. */
function runFfmpeg(args: string[], stdin?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegBinary(), ['-hide_banner', '-loglevel', 'error', ...args], {
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (stdin) child.stdin!.end(stdin);
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`ffmpeg exited with ${code}: ${err.slice(-800)}`));
    });
  });
}

const selectScored = `select='${SCORED.map((i) => `eq(n\\,${i})`).join('+')}'`;

/** The scored frames as RGBA, optionally through a filter chain that ends in rgba. */
async function decode(clip: Clip, chain: string | null): Promise<Uint8Array[]> {
  const input = ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${clip.width}x${clip.height}`, '-i', 'pipe:0'];
  const raw = await runFfmpeg([...input, '-vf', chain ?? 'format=rgba', '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'], clip.yuv);
  const size = clip.width * clip.height * 4;
  expect(raw.length).toBe(size * SCORED.length);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < SCORED.length; k++) frames.push(new Uint8Array(raw.buffer, raw.byteOffset + k * size, size));
  return frames;
}

interface Score {
  alphaError: number;
  edgeExcess: number;
}

function score(screen: Screen, clip: Clip, frames: Uint8Array[]): Score {
  const { width: w, height: h } = clip;
  // Channel offsets: the screen channel and the two others.
  const [sc, o1, o2] = screen === 'green' ? [1, 0, 2] : [2, 0, 1];
  let alphaError = 0;
  let excess = 0;
  let edgeCount = 0;
  for (let k = 0; k < frames.length; k++) {
    const data = frames[k];
    const truth = clip.truth[k];
    const edges = clip.edges[k];
    let sum = 0;
    for (let i = 0, n = w * h; i < n; i++) {
      const a = data[i * 4 + 3];
      sum += Math.abs(a - truth[i]);
      if (a === 0 || edges[i] === 0) continue;
      const p = i * 4;
      excess += Math.max(0, data[p + sc] - Math.max(data[p + o1], data[p + o2]));
      edgeCount++;
    }
    alphaError += sum / 255;
  }
  return { alphaError: alphaError / frames.length, edgeExcess: edgeCount ? excess / edgeCount : 0 };
}

/** The median colour of the true screen pixels: the best single colour ffmpeg could be given. */
function measuredScreen(clip: Clip, frames: Uint8Array[]): string {
  const hist = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  let n = 0;
  for (let k = 0; k < frames.length; k++) {
    const data = frames[k];
    const truth = clip.truth[k];
    for (let i = 0; i < truth.length; i++) {
      if (truth[i] !== 0) continue;
      for (let c = 0; c < 3; c++) hist[c][data[i * 4 + c]]++;
      n++;
    }
  }
  const median = (hs: Uint32Array): number => {
    let acc = 0;
    for (let v = 0; v < 256; v++) if ((acc += hs[v]) >= n / 2) return v;
    return 255;
  };
  return hist.map((hs) => median(hs).toString(16).padStart(2, '0')).join('');
}

async function ours(clip: Clip, source: Uint8Array[]): Promise<Uint8Array[]> {
  const size = { width: clip.width, height: clip.height };
  const stage = createStage(chromaKey, {});
  // Preload samples the clip's keyframes exactly as the pipeline does (the fixtures have one).
  const input = await probe(clip.video);
  await stage.setup({ size, sampleFrames: async (count) => (await sampleFrames({ input, canvas: size, count })).frames });
  return source.map((data, k) => {
    const frame: Frame = { data: data.slice(), ...size, index: k, pts: 0 };
    stage.process(frame);
    return frame.data;
  });
}

/**
 * Composites straight RGBA over white and over black and returns the share of edge pixels that
 * show a screen-coloured fringe (screen channel above both others by more than 6 levels) in
 * either. A straight/premultiplied mix-up or a missing despill shows up here.
 */
function fringeShare(screen: Screen, clip: Clip, frames: Uint8Array[]): number {
  const [sc, o1, o2] = screen === 'green' ? [1, 0, 2] : [2, 0, 1];
  let fringe = 0;
  let total = 0;
  for (let k = 0; k < frames.length; k++) {
    const data = frames[k];
    const edges = clip.edges[k];
    for (let i = 0; i < edges.length; i++) {
      if (edges[i] === 0) continue;
      const p = i * 4;
      const a = data[p + 3] / 255;
      if (a === 0) continue;
      total++;
      for (const bg of [0, 255]) {
        const over = (c: number) => a * data[p + c] + (1 - a) * bg;
        if (over(sc) - Math.max(over(o1), over(o2)) > 6) {
          fringe++;
          break;
        }
      }
    }
  }
  return fringe / Math.max(1, total);
}

const fringes = new Map<Screen, number>();

interface Row {
  screen: Screen;
  keyer: string;
  alphaError: number;
  edgeExcess: number;
}

async function compare(screen: Screen): Promise<Row[]> {
  const clip = await loadClip(screen);
  const source = await decode(clip, null);
  const rows: Row[] = [];
  const keyed = await ours(clip, source);
  const mine = score(screen, clip, keyed);
  rows.push({ screen, keyer: 'stickerkey defaults, screen auto', ...mine });
  fringes.set(screen, fringeShare(screen, clip, keyed));

  const colours = { pure: screen === 'green' ? '00ff00' : '0000ff', measured: measuredScreen(clip, source) };
  // ffmpeg's despill scales the green channel by default (green=-1) even with type=blue, so a
  // blue screen needs blue=-1:green=0 to be despilled at all: give ffmpeg the right settings.
  const despillType = screen === 'green' ? 'green' : 'blue:green=0:blue=-1';
  let bestAlpha: Row | undefined;
  let bestChroma = '';
  const tried: { row: Row; chroma: string }[] = [];
  for (const [label, colour] of Object.entries(colours)) {
    for (const similarity of [0.06, 0.1, 0.14, 0.2]) {
      for (const blend of [0, 0.04, 0.1, 0.2]) {
        const chroma = `format=yuva420p,chromakey=color=0x${colour}:similarity=${similarity}:blend=${blend}`;
        const result = score(screen, clip, await decode(clip, `${chroma},format=rgba,despill=type=${despillType}`));
        const row = { screen, keyer: `ffmpeg ${label} #${colour} sim ${similarity} blend ${blend}`, ...result };
        tried.push({ row, chroma });
        if (!bestAlpha || row.alphaError < bestAlpha.alphaError) {
          bestAlpha = row;
          bestChroma = chroma;
        }
      }
    }
  }
  // The excess alone rewards keying nothing (no edge left, nothing to despill wrongly), so ffmpeg's
  // best excess is taken among the settings that give a usable matte: within 2x its best alpha error.
  let bestExcess: Row | undefined;
  for (const { row } of tried) {
    if (row.alphaError > 2 * bestAlpha!.alphaError) continue;
    if (!bestExcess || row.edgeExcess < bestExcess.edgeExcess) bestExcess = row;
  }
  // Despill variants on ffmpeg's best matte.
  for (const mix of [0.5, 0.8]) {
    for (const expand of [0, 0.5]) {
      const result = score(screen, clip, await decode(clip, `${bestChroma},format=rgba,despill=type=${despillType}:mix=${mix}:expand=${expand}`));
      const row = { screen, keyer: `${bestAlpha!.keyer} despill mix ${mix} expand ${expand}`, ...result };
      if (row.edgeExcess < bestExcess!.edgeExcess) bestExcess = row;
    }
  }
  rows.push({ ...bestAlpha!, keyer: `ffmpeg best alpha: ${bestAlpha!.keyer}` });
  rows.push({ ...bestExcess!, keyer: `ffmpeg best excess: ${bestExcess!.keyer}` });
  return rows;
}

describe('chroma-key quality against ground truth', () => {
  it('beats the best of a grid of ffmpeg chromakey+despill settings on green and blue', async () => {
    const rows = [...(await compare('green')), ...(await compare('blue'))];
    console.log(
      '\n' + rows.map((r) => `${r.screen.padEnd(6)} ${r.alphaError.toFixed(1).padStart(8)} px  ${r.edgeExcess.toFixed(3).padStart(7)}  ${r.keyer}`).join('\n'),
    );
    console.log(`edge pixels with a screen-coloured fringe over white or black: green ${fringes.get('green')}, blue ${fringes.get('blue')}`);
    for (const screen of ['green', 'blue'] as const) {
      expect(fringes.get(screen)).toBeLessThan(0.005);
      const [mine, ffAlpha, ffExcess] = rows.filter((r) => r.screen === screen);
      expect(mine.alphaError).toBeLessThan(ffAlpha.alphaError);
      expect(mine.edgeExcess).toBeLessThanOrEqual(ffExcess.edgeExcess);
    }
  });
});
