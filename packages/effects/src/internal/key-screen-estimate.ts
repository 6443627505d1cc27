/**
 * Estimates the screen colour of a clip from a few sample frames, as a coarse grid of local
 * colours: a real screen is lit unevenly (hot spot in the middle, dark corners, a gradient from
 * one lamp), and a single colour — what ffmpeg's chromakey takes — is too bright for the corners
 * and too dark for the hot spot. The keyer interpolates the grid bilinearly.
 *
 * Steps, all robust to the character covering part of the screen (a character that barely moves
 * covers the same cells in every sample frame, and hides the screen there), the way a keyer
 * builds a clean plate:
 * 1. the dominant hue: a circular histogram of the hue of saturated pixels, smoothed, its peak;
 * 2. the global screen colour: per-channel medians of the pixels near that hue;
 * 3. local colours: per grid node, the pixels of its cell that are the screen under some lighting
 *    (the global colour's chromaticity, see screenTest: props near the screen's hue and outline
 *    mixes are not), over all sample frames; medians of their brighter half, since the screen
 *    beside the character is often in its cast shadow. A node with few such pixels, or much
 *    darker than its neighbours (shadowed), is unknown;
 * 4. unknown nodes take their brightest known neighbour, growing inward: an estimate too bright
 *    keys the screen there as a shadow, one too dark keys near-screen props partly transparent.
 * Pixels with alpha 0 (canvas padding) are ignored. Runs once per job: it may allocate.
 */
import type { Frame, Rgb } from '@stickerkey/core/effect';
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
/** Chromaticity distance from the global screen's, as a share of its distance from grey (see screenTest). */
const SCREEN_CHROMA_TOLERANCE = 0.2;
/** Below this share of the global screen's brightness, chromaticity is too noisy to judge. */
const MIN_SCREEN_BRIGHTNESS = 0.25;
/** Share of a cell's pixels that must be screen for its node to be trusted. */
const MIN_NODE_SHARE = 0.02;
/** A node darker (in screen excess) than this share of its brightest known neighbour is shadowed. */
const SHADOWED_NODE = 0.8;

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

function medianOf(hist: Uint32Array, offset: number, count: number, bins = 256): number {
  const half = count / 2;
  let acc = 0;
  for (let v = 0; v < bins; v++) {
    acc += hist[offset + v];
    if (acc >= half) return v;
  }
  return bins - 1;
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
        const r = data[p],
          g = data[p + 1],
          b = data[p + 2];
        const hi = Math.max(r, g, b);
        const chroma = hi - Math.min(r, g, b);
        if (chroma < MIN_CHROMA) continue;
        // Weight by chroma: the screen is the most saturated large area, a grey-ish set is not.
        hueHist[Math.floor((hueOf(r, g, b) / (2 * Math.PI)) * HUE_BINS) % HUE_BINS] += chroma;
      }
    }
  }
  let peak = -1;
  let best = 0;
  for (let i = 0; i < HUE_BINS; i++) {
    let sum = 0;
    for (let k = -2; k <= 2; k++) sum += hueHist[(i + k + HUE_BINS) % HUE_BINS];
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
    sx += hueHist[bin] * Math.cos(angle);
    sy += hueHist[bin] * Math.sin(angle);
  }
  return Math.atan2(sy, sx);
}

function estimateAround(frames: readonly Frame[], peakHue: number): ScreenEstimate | undefined {
  // 2. Global colour: medians of the candidates. The same walk over the sampled pixels as
  // dominantHue's, on purpose: this pass needs that one's peak, and both run once per job, where
  // a shared walker with a callback would buy nothing but an indirection.
  const globalHist = new Uint32Array(3 * 256);
  let globalCount = 0;
  for (const frame of frames) {
    const { data, width, height } = frame;
    const step = strideFor(frame);
    for (let y = 0; y < height; y += step) {
      for (let x = 0, p = y * width * 4; x < width; x += step, p += 4 * step) {
        if (data[p + 3] === 0) continue;
        const r = data[p],
          g = data[p + 1],
          b = data[p + 2];
        if (Math.max(r, g, b) - Math.min(r, g, b) < MIN_CHROMA) continue;
        if (hueDistance(hueOf(r, g, b), peakHue) > HUE_WINDOW) continue;
        globalHist[r]++;
        globalHist[256 + g]++;
        globalHist[512 + b]++;
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
  const isScreen = screenTest(global);

  // 3. Local colours on a grid of about 6 cells across the short side.
  const { width, height } = frames[0];
  const cell = Math.max(16, Math.min(width, height) / 6);
  const cols = Math.max(2, Math.round((width - 1) / cell) + 1);
  const rows = Math.max(2, Math.round((height - 1) / cell) + 1);
  const nodes = cols * rows;
  const read = new Uint32Array(nodes);
  const counts = new Uint32Array(nodes);
  const brightnessHist = new Uint32Array(nodes * 766);
  const brightFrom = new Uint16Array(nodes);
  const hist = new Uint32Array(nodes * 3 * 256);

  /** Calls `visit` with every sampled pixel of every frame and its node. */
  const sample = (visit: (r: number, g: number, b: number, node: number) => void): void => {
    for (const frame of frames) {
      const { data, width: w, height: h } = frame;
      const step = strideFor(frame);
      const sxn = (cols - 1) / Math.max(1, w - 1);
      const syn = (rows - 1) / Math.max(1, h - 1);
      for (let y = 0; y < h; y += step) {
        const rowNode = Math.round(y * syn) * cols;
        for (let x = 0, p = y * w * 4; x < w; x += step, p += 4 * step) {
          if (data[p + 3] === 0) continue;
          visit(data[p], data[p + 1], data[p + 2], rowNode + Math.round(x * sxn));
        }
      }
    }
  };

  // 3a. Per cell, the brightness of its screen pixels: the estimate takes the brighter half,
  // since the screen under and beside the character is often in its cast shadow.
  sample((r, g, b, node) => {
    read[node]++;
    if (!isScreen(r, g, b)) return;
    brightnessHist[node * 766 + r + g + b]++;
    counts[node]++;
  });
  for (let n = 0; n < nodes; n++) brightFrom[n] = medianOf(brightnessHist, n * 766, counts[n], 766);
  // 3b. Per-channel medians of the brighter half.
  const bright = new Uint32Array(nodes);
  sample((r, g, b, node) => {
    if (r + g + b < brightFrom[node] || !isScreen(r, g, b)) return;
    const o = node * 768;
    hist[o + r]++;
    hist[o + 256 + g]++;
    hist[o + 512 + b]++;
    bright[node]++;
  });
  const rgb = new Float32Array(nodes * 3);
  const known = new Uint8Array(nodes);
  for (let n = 0; n < nodes; n++) {
    // A cell the character covers in every sample frame still holds a few screen-coloured
    // pixels at its outline; too few to be the screen there.
    if (counts[n] < Math.max(MIN_NODE_SAMPLES, MIN_NODE_SHARE * read[n])) continue;
    known[n] = 1;
    rgb[n * 3] = medianOf(hist, n * 768, bright[n]);
    rgb[n * 3 + 1] = medianOf(hist, n * 768 + 256, bright[n]);
    rgb[n * 3 + 2] = medianOf(hist, n * 768 + 512, bright[n]);
  }
  dropShadowedNodes(rgb, known, cols, rows, basis);
  // 4. Nodes with no trusted estimate.
  fillUnknown(rgb, known, cols, rows, global);
  return { cols, rows, rgb, global };
}

/**
 * Whether a colour is the screen's under some lighting: a lamp scales the screen's colour and
 * keeps its chromaticity (r, g, b over their sum), so a pixel is screen when its chromaticity is
 * within SCREEN_CHROMA_TOLERANCE of the global screen's, measured against how far that is from
 * grey. Props near the screen's hue (a teal belly on green, 55% away) and outline pixels that
 * mix the screen with the character fail; a shadow, a darker copy of the screen, passes.
 */
function screenTest(global: Rgb): (r: number, g: number, b: number) => boolean {
  const sum = Math.max(1, global.r + global.g + global.b);
  const cr = global.r / sum,
    cg = global.g / sum,
    cb = global.b / sum;
  const fromGrey2 = (cr - 1 / 3) ** 2 + (cg - 1 / 3) ** 2 + (cb - 1 / 3) ** 2;
  const tolerance2 = SCREEN_CHROMA_TOLERANCE * SCREEN_CHROMA_TOLERANCE * fromGrey2;
  const minSum = MIN_SCREEN_BRIGHTNESS * sum;
  return (r, g, b) => {
    const s = r + g + b;
    if (s < minSum) return false;
    const dr = r / s - cr,
      dg = g / s - cg,
      db = b / s - cb;
    return dr * dr + dg * dg + db * db <= tolerance2;
  };
}

/**
 * Marks unknown the nodes much darker than their brightest known neighbour: a cell whose
 * visible screen is mostly in the character's cast shadow. A lit screen falls off a few percent
 * per cell; a node wrongly dropped is filled a little too bright, which the keyer takes for a
 * shadow and still keys out, while one left too dark keys the character's own near-screen
 * colours partly transparent.
 */
function dropShadowedNodes(rgb: Float32Array, known: Uint8Array, cols: number, rows: number, basis: Float64Array): void {
  const excess = new Float64Array(known.length);
  for (let n = 0; n < known.length; n++) {
    if (known[n]) excess[n] = excessOf(basis, rgb[n * 3], rgb[n * 3 + 1], rgb[n * 3 + 2], 1);
  }
  const shadowed: number[] = [];
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < cols; i++) {
      const n = j * cols + i;
      if (!known[n]) continue;
      let brightest = 0;
      for (let dj = -1; dj <= 1; dj++) {
        for (let di = -1; di <= 1; di++) {
          const ii = i + di,
            jj = j + dj;
          if ((di === 0 && dj === 0) || ii < 0 || jj < 0 || ii >= cols || jj >= rows) continue;
          const m = jj * cols + ii;
          if (known[m] && excess[m] > brightest) brightest = excess[m]!;
        }
      }
      if (excess[n] < SHADOWED_NODE * brightest) shadowed.push(n);
    }
  }
  for (const n of shadowed) known[n] = 0;
}

function brightnessOf(rgb: Float32Array, node: number): number {
  return rgb[node * 3] + rgb[node * 3 + 1] + rgb[node * 3 + 2];
}

/** Unknown nodes take their brightest known neighbour, growing inward; none known: global. */
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
        let brightest = -1;
        for (let dj = -1; dj <= 1; dj++) {
          for (let di = -1; di <= 1; di++) {
            const ii = i + di,
              jj = j + dj;
            if (ii < 0 || jj < 0 || ii >= cols || jj >= rows) continue;
            const m = jj * cols + ii;
            if (known[m] && (brightest < 0 || brightnessOf(rgb, m) > brightnessOf(rgb, brightest))) brightest = m;
          }
        }
        if (brightest < 0) continue;
        rgb[n * 3] = rgb[brightest * 3]!;
        rgb[n * 3 + 1] = rgb[brightest * 3 + 1]!;
        rgb[n * 3 + 2] = rgb[brightest * 3 + 2]!;
        next[n] = 1;
        missing--;
      }
    }
    known.set(next);
  }
}
