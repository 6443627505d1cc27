/**
 * Estimates the screen colour of a clip from a few sample frames, as a coarse grid of local
 * colours: a real screen is lit unevenly (hot spot in the middle, dark corners, a gradient from
 * one lamp), and a single colour — what ffmpeg's chromakey takes — is too bright for the corners
 * and too dark for the hot spot. The keyer interpolates the grid bilinearly.
 *
 * Steps, all robust to the character covering part of the screen:
 * 1. the dominant hue: a circular histogram of the hue of saturated pixels, smoothed, its peak;
 * 2. the global screen colour: per-channel medians of the pixels near that hue;
 * 3. local colours: per grid node, medians of the pixels that look like screen (same hue, a
 *    clear share of the global excess) in the node's cell, over all sample frames; then again,
 *    keeping only pixels close to the local estimate, so edges and screen-coloured props count less;
 * 4. nodes never seen (covered by the character in every sample) are filled from their neighbours.
 * Pixels with alpha 0 (canvas padding) are ignored. Runs once per job: it may allocate.
 */
import type { Frame, Rgb } from '@stickerkey/core';
import { excessOf, hueOf, screenBasis } from './key-basis.js';

export interface ScreenEstimate {
  /** Grid nodes across and down; node (i, j) sits at x = i/(cols-1), y = j/(rows-1) of the frame. */
  readonly cols: number;
  readonly rows: number;
  /** Node colours, row-major, 3 floats (0-255) per node. */
  readonly rgb: Float32Array;
  /** The single colour of the whole screen (median of all screen pixels). */
  readonly global: Rgb;
}

const HUE_BINS = 72;
/** Below this max-min spread (0-255) a pixel is too grey to vote for a hue. */
const MIN_CHROMA = 24;
/** Pixels within this hue distance of the peak count as screen candidates. */
const HUE_WINDOW = (25 / 180) * Math.PI;
/** Samples a node needs before its median is trusted. */
const MIN_NODE_SAMPLES = 24;

/** A screen estimate that is the same colour everywhere (an explicit `#rrggbb`). */
export function uniformScreen(color: Rgb): ScreenEstimate {
  const rgb = new Float32Array(2 * 2 * 3);
  for (let i = 0; i < 4; i++) {
    rgb[i * 3] = color.r;
    rgb[i * 3 + 1] = color.g;
    rgb[i * 3 + 2] = color.b;
  }
  return { cols: 2, rows: 2, rgb, global: { ...color } };
}

function hueDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % (2 * Math.PI);
  return d > Math.PI ? 2 * Math.PI - d : d;
}

function medianOf(hist: Uint32Array, offset: number, count: number): number {
  const half = count / 2;
  let acc = 0;
  for (let v = 0; v < 256; v++) {
    acc += hist[offset + v]!;
    if (acc >= half) return v;
  }
  return 255;
}

/** Step in pixels between the samples read: about 250k samples per frame is plenty for medians. */
function strideFor(frame: Frame): number {
  return Math.max(1, Math.round(Math.sqrt((frame.width * frame.height) / 250_000)));
}

/**
 * `hint`: a colour the user gave (`#00ff00` for "a green screen"); its hue replaces step 1, so
 * only pixels near that hue are taken, and the local colours come from the clip as usual.
 */
export function estimateScreen(frames: readonly Frame[], hint?: Rgb): ScreenEstimate | undefined {
  const peakHue = hint ? hueOf(hint.r, hint.g, hint.b) : dominantHue(frames);
  if (peakHue === undefined) return undefined;
  return estimateAround(frames, peakHue);
}

function dominantHue(frames: readonly Frame[]): number | undefined {
  // 1. Dominant hue.
  const hueHist = new Float64Array(HUE_BINS);
  for (const frame of frames) {
    const { data, width, height } = frame;
    const step = strideFor(frame);
    for (let y = 0; y < height; y += step) {
      for (let x = 0, p = y * width * 4; x < width; x += step, p += 4 * step) {
        if (data[p + 3] === 0) continue;
        const r = data[p]!, g = data[p + 1]!, b = data[p + 2]!;
        const hi = Math.max(r, g, b);
        const chroma = hi - Math.min(r, g, b);
        if (chroma < MIN_CHROMA) continue;
        // Weight by chroma: the screen is the most saturated large area, a grey-ish set is not.
        hueHist[Math.floor((hueOf(r, g, b) / (2 * Math.PI)) * HUE_BINS) % HUE_BINS]! += chroma;
      }
    }
  }
  let peak = -1;
  let best = 0;
  for (let i = 0; i < HUE_BINS; i++) {
    let sum = 0;
    for (let k = -2; k <= 2; k++) sum += hueHist[(i + k + HUE_BINS) % HUE_BINS]!;
    if (sum > best) {
      best = sum;
      peak = i;
    }
  }
  if (peak < 0) return undefined;
  // Refine the peak to the weighted mean hue of its neighbourhood (bins are 5° wide).
  let sx = 0;
  let sy = 0;
  for (let k = -2; k <= 2; k++) {
    const bin = (peak + k + HUE_BINS) % HUE_BINS;
    const angle = ((bin + 0.5) / HUE_BINS) * 2 * Math.PI;
    sx += hueHist[bin]! * Math.cos(angle);
    sy += hueHist[bin]! * Math.sin(angle);
  }
  return Math.atan2(sy, sx);
}

function estimateAround(frames: readonly Frame[], peakHue: number): ScreenEstimate | undefined {
  // 2. Global colour: medians of the candidates.
  const globalHist = new Uint32Array(3 * 256);
  let globalCount = 0;
  for (const frame of frames) {
    const { data, width, height } = frame;
    const step = strideFor(frame);
    for (let y = 0; y < height; y += step) {
      for (let x = 0, p = y * width * 4; x < width; x += step, p += 4 * step) {
        if (data[p + 3] === 0) continue;
        const r = data[p]!, g = data[p + 1]!, b = data[p + 2]!;
        if (Math.max(r, g, b) - Math.min(r, g, b) < MIN_CHROMA) continue;
        if (hueDistance(hueOf(r, g, b), peakHue) > HUE_WINDOW) continue;
        globalHist[r]!++;
        globalHist[256 + g]!++;
        globalHist[512 + b]!++;
        globalCount++;
      }
    }
  }
  if (globalCount === 0) return undefined;
  const global: Rgb = {
    r: medianOf(globalHist, 0, globalCount),
    g: medianOf(globalHist, 256, globalCount),
    b: medianOf(globalHist, 512, globalCount),
  };
  const basis = screenBasis(global);
  const globalExcess = Math.max(1, excessOf(basis, global.r, global.g, global.b, 1));

  // 3. Local colours on a grid of about 6 cells across the short side.
  const { width, height } = frames[0]!;
  const cell = Math.max(16, Math.min(width, height) / 6);
  const cols = Math.max(2, Math.round((width - 1) / cell) + 1);
  const rows = Math.max(2, Math.round((height - 1) / cell) + 1);
  const nodes = cols * rows;
  const hist = new Uint32Array(nodes * 3 * 256);
  const counts = new Uint32Array(nodes);
  const rgb = new Float32Array(nodes * 3);
  const known = new Uint8Array(nodes);

  const gather = (accept: (r: number, g: number, b: number, node: number) => boolean): void => {
    hist.fill(0);
    counts.fill(0);
    for (const frame of frames) {
      const { data, width: w, height: h } = frame;
      const step = strideFor(frame);
      const sxn = (cols - 1) / Math.max(1, w - 1);
      const syn = (rows - 1) / Math.max(1, h - 1);
      for (let y = 0; y < h; y += step) {
        const rowNode = Math.round(y * syn) * cols;
        for (let x = 0, p = y * w * 4; x < w; x += step, p += 4 * step) {
          if (data[p + 3] === 0) continue;
          const r = data[p]!, g = data[p + 1]!, b = data[p + 2]!;
          const node = rowNode + Math.round(x * sxn);
          if (!accept(r, g, b, node)) continue;
          const o = node * 768;
          hist[o + r]!++;
          hist[o + 256 + g]!++;
          hist[o + 512 + b]!++;
          counts[node]!++;
        }
      }
    }
    for (let n = 0; n < nodes; n++) {
      known[n] = counts[n]! >= MIN_NODE_SAMPLES ? 1 : 0;
      if (!known[n]) continue;
      rgb[n * 3] = medianOf(hist, n * 768, counts[n]!);
      rgb[n * 3 + 1] = medianOf(hist, n * 768 + 256, counts[n]!);
      rgb[n * 3 + 2] = medianOf(hist, n * 768 + 512, counts[n]!);
    }
    fillUnknown(rgb, known, cols, rows, global);
  };

  // First pass: anything of the screen's hue with at least a fifth of its excess (a screen in
  // a dark corner can be much darker than the median, so the threshold is loose).
  gather((r, g, b) => {
    if (excessOf(basis, r, g, b, 1) < 0.2 * globalExcess) return false;
    return hueDistance(hueOf(r, g, b), peakHue) <= HUE_WINDOW;
  });
  // Second pass: only pixels close to their node's first estimate, which drops edge pixels
  // (screen mixed with the character) and props of a similar hue.
  const first = rgb.slice();
  gather((r, g, b, node) => {
    const nr = first[node * 3]!, ng = first[node * 3 + 1]!, nb = first[node * 3 + 2]!;
    const local = Math.max(1, excessOf(basis, nr, ng, nb, 1));
    const e = excessOf(basis, r, g, b, 1);
    if (e < 0.75 * local || e > 1.3 * local) return false;
    const dr = r - nr, dg = g - ng, db = b - nb;
    return dr * dr + dg * dg + db * db <= 0.25 * local * local;
  });
  return { cols, rows, rgb, global };
}

/** Nodes without samples take the mean of their known neighbours, growing inward; none: global. */
function fillUnknown(rgb: Float32Array, known: Uint8Array, cols: number, rows: number, global: Rgb): void {
  let missing = 0;
  for (let n = 0; n < known.length; n++) if (!known[n]) missing++;
  if (missing === known.length) {
    for (let n = 0; n < known.length; n++) {
      rgb[n * 3] = global.r;
      rgb[n * 3 + 1] = global.g;
      rgb[n * 3 + 2] = global.b;
      known[n] = 1;
    }
    return;
  }
  const next = new Uint8Array(known.length);
  while (missing > 0) {
    next.set(known);
    for (let j = 0; j < rows; j++) {
      for (let i = 0; i < cols; i++) {
        const n = j * cols + i;
        if (known[n]) continue;
        let r = 0, g = 0, b = 0, k = 0;
        for (let dj = -1; dj <= 1; dj++) {
          for (let di = -1; di <= 1; di++) {
            const ii = i + di, jj = j + dj;
            if (ii < 0 || jj < 0 || ii >= cols || jj >= rows) continue;
            const m = jj * cols + ii;
            if (!known[m]) continue;
            r += rgb[m * 3]!;
            g += rgb[m * 3 + 1]!;
            b += rgb[m * 3 + 2]!;
            k++;
          }
        }
        if (k === 0) continue;
        rgb[n * 3] = r / k;
        rgb[n * 3 + 1] = g / k;
        rgb[n * 3 + 2] = b / k;
        next[n] = 1;
        missing--;
      }
    }
    known.set(next);
  }
}
