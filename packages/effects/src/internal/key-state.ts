/**
 * The keyer's state, built once per canvas size (prepare): the option values turned into the
 * weights the passes use, the screen grid turned into per-node terms, and every scratch buffer the
 * passes write per frame, so that apply() never allocates. See chroma-key.ts for the model.
 */
import type { Bounds, Frame, FrameSize } from '@stickerkey/core/effect';
import { createDistanceScratch, type DistanceScratch } from './morphology.js';
import { LUMA_B, LUMA_G, LUMA_R, screenBasis } from './key-basis.js';
import { prepareRefine, type Refine } from './key-refine.js';
import type { ScreenEstimate } from './key-screen-estimate.js';
import { PixelWords } from './pixel-words.js';
import { createTemporalState, type TemporalState } from './key-temporal.js';
import { createWindowColumns, type WindowColumns } from './window-columns.js';
import { createScreenTestKernel, type ScreenTestKernel } from './key-screen-test.js';

/** The option values the state is built from (chroma-key's option table, by name). */
export interface KeySettings {
  readonly similarity: number;
  readonly softness: number;
  readonly screenGain: number;
  readonly screenBalance: number;
  readonly shadows: number;
  readonly despill: number;
  readonly despillBias: number;
  readonly despillProtect: number;
  readonly choke: number;
  readonly feather: number;
  readonly stabilize: boolean;
}

/** Smallest local screen excess (0-255) divided by: a nearly grey "screen" must not blow t up. */
const MIN_SCREEN_EXCESS = 8;
/** Brightness ratios over which shadow keying fades in below its limit (no step in the matte). */
const SHADOW_RAMP = 0.1;
/**
 * With despillProtect 1, interior colours are spared from this share of the opaque limit of t
 * (the screen-likeness, see the header) up, and despilled in full below PROTECT_START of it.
 * Measured on the fixtures (screen auto, t as shares of the opaque limit 0.3): teal props 0.38
 * to 0.7 (#2aa08a 0.38), screen mixed into olive or shadow that the matte kept opaque 0.1 to
 * 0.16, a skin tone with a green cast -0.85 to -1 (despilled), the blue fixture's violet and cyan
 * far below 0. The band between decides little: near the outline everything is despilled anyway.
 */
const PROTECT_FULL = 1 / 3;
const PROTECT_START = 1 / 4;

export interface ChromaKeyState {
  readonly width: number;
  readonly height: number;
  readonly basis: Float64Array;
  /** 1 - similarity, 1 / softness. */
  readonly oneMinusSim: number;
  readonly invSoft: number;
  /** Matte reference weights: ref = hi * kHi + lo * kLo. */
  readonly kHi: number;
  readonly kLo: number;
  /** Despill limit weights and strength, and the RGB direction (luma put back) it moves along. */
  readonly dHi: number;
  readonly dLo: number;
  readonly strength: number;
  /**
   * Interior despill (despillProtect): full below t = protectStart, none from protectFull up,
   * linear between; protectStart >= tOpaque (alpha 1) means no protection at all.
   */
  readonly tOpaque: number;
  readonly protectStart: number;
  readonly protectFull: number;
  readonly invProtect: number;
  readonly cr: number;
  readonly cg: number;
  readonly cb: number;
  readonly cols: number;
  readonly rows: number;
  /** Shadow keying: brightness ratios (pixel / local screen) from which t is brightness-normalised. */
  readonly shadowFull: number;
  readonly shadowLo: number;
  readonly invShadowRamp: number;
  /** Per grid node: screenGain / local screen excess, 1 / (R+G+B) of the local screen, its RGB. */
  readonly nodeInv: Float32Array;
  readonly nodeInvL: Float32Array;
  readonly nodeRgb: Float32Array;
  /** Per column, the fraction from its left grid node to the next and its cell; per cell, the column it ends at. */
  readonly fracX: Float32Array;
  readonly cellOf: Int32Array;
  readonly cellEnd: Int32Array;
  /** Grid cells per pixel along x. */
  readonly xStep: number;
  /** The screen test's weights: t = (core - halfBal * |diff|) * inv, core and diff dot products with RGB, then halfBal. */
  readonly screenTest: Float64Array;
  /**
   * The screen test in WebAssembly (key-screen-test.ts): its memory holds fracX, cellEnd, rowInv,
   * rowDInv, the row lists and the source planes, which the fields here are views of.
   */
  readonly kernel: ScreenTestKernel;
  /** The grid interpolated to the current row (values and differences to the next node). */
  readonly rowInv: Float64Array;
  readonly rowDInv: Float64Array;
  readonly rowInvL: Float64Array;
  readonly rowDInvL: Float64Array;
  readonly rowRgb: Float64Array;
  /**
   * The row's pixels that keyScreenRow left for keyKeptRow (neither screen nor plain, see tPlain):
   * their x and screen test t (computed once).
   */
  readonly rowKept: Int32Array;
  readonly rowKeptT: Float64Array;
  /**
   * A pixel with t at most this is plain: opaque, no shadow test, not spared (0, the opaque limit
   * and protectStart, less a margin so that (oneMinusSim - t) * invSoft cannot round below 1).
   * keyScreenRow finishes those itself but for the few with spill, which it lists with their
   * despill amount for despillRow; rowSpan gets the row's first and last plain x and that count
   * (then keyKeptRow's first and last, see key-matte.ts).
   */
  readonly tPlain: number;
  readonly rowSpill: Int32Array;
  readonly rowSpillD: Float64Array;
  readonly rowSpan: Int32Array;
  /** Edge pixels found by the keying pass: byte offset, provisional alpha, input alpha, local screen. */
  readonly edgeIdx: Int32Array;
  readonly edgeA: Float32Array;
  readonly edgeAin: Uint8Array;
  /** 1 for an edge with a transparent pixel in its 5x5 window (on the outline, not inside the character). */
  readonly edgeOutline: Uint8Array;
  readonly edgeS: Float32Array;
  /** The edge alphas the luma pass computes, apart until all are done (see key-edge-luma.ts). */
  readonly edgeLumaA: Float32Array;
  /**
   * Column sums of the edge passes' 5x5 windows (see window-columns.ts): the edge pass's counts of
   * opaque and clear pixels (1 lane) and its opaque colour (2), the luma pass's six (key-edge-luma.ts).
   */
  readonly edgeCountColumns: WindowColumns;
  readonly edgeColourColumns: WindowColumns;
  readonly lumaColumns: WindowColumns;
  /**
   * The frame's pixels as they came in, before keying wrote screen pixels to 0 (for the screen
   * test, their luma and the temporal pass): keyScreenRow copies each row in before testing it.
   * Swapped each frame with the temporal pass's previous one.
   */
  source: Uint32Array;
  /** The temporal pass's history (stabilize), else null. */
  readonly temporal: TemporalState | null;
  /**
   * Near the outline, despill is full whatever the colour. The distance to the nearest pixel with
   * alpha < 255 is taken on a grid of cells of 2^spillShift px (the fade is several px wide, so
   * 1/16 of the pixels at 1080p does); spillWeight is the weight per squared distance in cells: 1
   * up to twice spill's reach, 0 from 3 times. Only when despillProtect spares anything.
   */
  readonly spillShift: number;
  readonly spillWeight: Float32Array | null;
  readonly spillCells: Uint8Array | null;
  /** 1 per cell holding a pixel the keying pass spared; cleared as the near-outline pass reads it. */
  readonly sparedCells: Uint8Array | null;
  readonly spillCols: number;
  readonly spillRows: number;
  readonly spillDist: DistanceScratch | null;
  /** Box of the opaque pixels the keying pass spared (despillProtect); cells the distances cover. */
  readonly spillRect: Bounds;
  readonly spillDistRect: Bounds;
  /**
   * Per row, the columns [visibleLeft, visibleRight) from its first to its last pixel with alpha
   * above 0 after keying (empty when none): all alpha 0 outside, as spillDistances needs to know.
   */
  readonly visibleLeft: Int32Array;
  readonly visibleRight: Int32Array;
  readonly bounds: Bounds;
  readonly refine: Refine | null;
  /** 32-bit words of the frame's pixels (see pixel-words.ts), and bytes over an aligned copy of them. */
  readonly words: PixelWords;
  copyBytes: Uint8Array | null;
  /** One bounds object per frame object (see chroma-key.ts apply). */
  readonly boundsOf: WeakMap<Frame, Bounds>;
  readonly estimate: ScreenEstimate;
  /** The RGB channel the screen peaks in (1 green, 2 blue, ...), or -1 when none clearly does. */
  readonly screenChannel: number;
  /**
   * screenChannel when a colour with no spill about the screen's hue can still have that RGB
   * channel over the other two (a screen lit more than about 13 degrees off the channel's hue), so
   * that the keying pass must test plain pixels for it too (see key-despill.ts); else -1, and it
   * does not (the test cost the keying pass's hottest loop 7% of its instructions).
   */
  readonly plainOverChannel: number;
}

/** Everything the passes need for frames of `size` keyed against `estimate`. */
export function createKeyState(settings: KeySettings, size: FrameSize, estimate: ScreenEstimate): ChromaKeyState {
  const { width, height } = size;
  const { cols, rows } = estimate;
  // The basis follows the global screen hue; local nodes differ in brightness and a little in hue,
  // which the per-node excess absorbs.
  const basis = screenBasis(estimate.global);
  const kHi = settings.screenBalance + (1 - settings.screenBalance) * 0.5;
  const kLo = (1 - settings.screenBalance) * 0.5;
  const dHi = settings.despillBias + (1 - settings.despillBias) * 0.5;
  const dLo = (1 - settings.despillBias) * 0.5;
  const nodes = cols * rows;
  const nodeInv = new Float32Array(nodes);
  const nodeRgb = new Float32Array(nodes * 3);
  const nodeInvL = new Float32Array(nodes);
  for (let n = 0; n < nodes; n++) {
    const r = estimate.rgb[n * 3],
      g = estimate.rgb[n * 3 + 1],
      b = estimate.rgb[n * 3 + 2];
    const o1 = basis[0] * r + basis[1] * g + basis[2] * b;
    const s = basis[3] * r + basis[4] * g + basis[5] * b;
    const o2 = basis[6] * r + basis[7] * g + basis[8] * b;
    const hi = Math.max(o1, o2),
      lo = Math.min(o1, o2);
    nodeInv[n] = settings.screenGain / Math.max(MIN_SCREEN_EXCESS, s - hi * kHi - lo * kLo);
    nodeInvL[n] = 1 / Math.max(1, r + g + b);
    nodeRgb[n * 3] = r;
    nodeRgb[n * 3 + 1] = g;
    nodeRgb[n * 3 + 2] = b;
  }
  const cellOf = new Int32Array(width);
  // The screen test's weights: a rotation about grey keeps R+G+B, so the two other channels need
  // only their difference: o1 + o2 = sum - s, ref = mean + balance * |o1 - o2| / 2, and s - mean
  // = 1.5 s - 0.5 sum folds into one dot product (core). Six products, not nine. ref = hi * kHi +
  // lo * kLo = mean + (kHi - 0.5) * |o1 - o2|, as a weight of the spread: halfBal.
  // prettier-ignore
  const screenTest = Float64Array.of(
    1.5 * basis[3] - 0.5, 1.5 * basis[4] - 0.5, 1.5 * basis[5] - 0.5,
    basis[0] - basis[6], basis[1] - basis[7], basis[2] - basis[8],
    0.5 * (kHi - kLo),
  );
  const invSoft = 1 / Math.max(1e-4, settings.softness);
  const tOpaque = 1 - settings.similarity - settings.softness;
  // despillProtect p moves the ramp from the opaque limit (p = 0: nothing spared) down to it.
  const protectFull = tOpaque * (1 - settings.despillProtect * (1 - PROTECT_FULL));
  const protectStart = tOpaque * (1 - settings.despillProtect * (1 - PROTECT_START));
  const tPlain = Math.min(0, 1 - settings.similarity - 1 / invSoft, protectStart) - 1e-6;
  const screenChannel = peakChannel(estimate.global);
  const xStep = width > 1 ? (cols - 1) / (width - 1) : 0;
  const plainOverChannel = settings.despill > 0 && screenChannel >= 0 && !spillCoversChannel(basis, dHi, dLo, screenChannel) ? screenChannel : -1;
  const kernel = createScreenTestKernel(width, height, cols, settings.stabilize ? 2 : 1, {
    screenTest,
    oneMinusSim: 1 - settings.similarity,
    tPlain,
    halfBias: 0.5 * (dHi - dLo),
    strength: settings.despill,
    xStep,
    listAll: plainOverChannel >= 0,
  });
  const { fracX, cellEnd } = kernel;
  for (let x = 0; x < width; x++) {
    const fx = width > 1 ? (x * (cols - 1)) / (width - 1) : 0;
    const c = Math.min(cols - 2, Math.floor(fx));
    fracX[x] = fx - c;
    cellOf[x] = c;
    cellEnd[c] = x + 1;
  }
  // Cells no column falls in (a grid finer than the frame) end where the previous one did.
  for (let c = 1; c < cols - 1; c++) if (cellEnd[c] < cellEnd[c - 1]) cellEnd[c] = cellEnd[c - 1]!;
  // Despill moves along the screen axis (row 1 of the basis, back in RGB) and puts its luma back as grey.
  // Edges are a thin line around the character (about 0.2% of a 1080p fixture frame); 1/32 of
  // the frame is far more than a clip needs, at 21 bytes each (1.4 MB at 1080p). Past it, edges
  // are finished in the first pass without the refinement: still correct, a little less exact.
  const edgeCap = Math.max(64, (width * height) >> 5);
  const protecting = settings.despill > 0 && protectStart < tOpaque;
  // Light from the screen wraps a few pixels into the silhouette at 360p, proportionally more
  // at higher resolutions. Despill is full over twice that (the matte's outline is not exactly
  // the silhouette: a sliver of screen keyed opaque has spill beyond it), then fades out over
  // one reach more.
  const spillReach = Math.max(2, Math.round((2.5 * height) / 360));
  const spillShift = spillReach >= 5 ? 2 : spillReach >= 4 ? 1 : 0;
  const cell = 1 << spillShift;
  const spillCols = Math.ceil(width / cell),
    spillRows = Math.ceil(height / cell);
  let spillWeight: Float32Array | null = null;
  if (protecting) {
    const full = 2 * spillReach;
    const fadeEnd = 3 * spillReach;
    const capCells = Math.ceil(fadeEnd / cell);
    spillWeight = new Float32Array(capCells * capCells);
    for (let d2 = 0; d2 < spillWeight.length; d2++) {
      const d = Math.sqrt(d2) * cell;
      spillWeight[d2] = d <= full ? 1 : d >= fadeEnd ? 0 : (fadeEnd - d) / spillReach;
    }
  }
  const luma = LUMA_R * basis[3] + LUMA_G * basis[4] + LUMA_B * basis[5];
  return {
    width,
    height,
    basis,
    oneMinusSim: 1 - settings.similarity,
    invSoft,
    kHi,
    kLo,
    dHi,
    dLo,
    strength: settings.despill,
    tOpaque,
    protectStart,
    protectFull,
    invProtect: protectFull > protectStart ? 1 / (protectFull - protectStart) : 0,
    cr: basis[3] - luma,
    cg: basis[4] - luma,
    cb: basis[5] - luma,
    cols,
    rows,
    shadowFull: 1 - settings.shadows,
    shadowLo: settings.shadows > 0 ? 1 - settings.shadows - SHADOW_RAMP : 1,
    invShadowRamp: 1 / SHADOW_RAMP,
    nodeInv,
    nodeInvL,
    nodeRgb,
    fracX,
    cellOf,
    cellEnd,
    xStep,
    screenTest,
    kernel,
    rowInv: kernel.rowInv,
    rowDInv: kernel.rowDInv,
    rowInvL: new Float64Array(cols),
    rowDInvL: new Float64Array(cols),
    rowRgb: new Float64Array(cols * 3),
    rowKept: kernel.rowKept,
    rowKeptT: kernel.rowKeptT,
    tPlain,
    rowSpill: kernel.rowSpill,
    rowSpillD: kernel.rowSpillD,
    rowSpan: new Int32Array(5),
    edgeIdx: new Int32Array(edgeCap),
    edgeA: new Float32Array(edgeCap),
    edgeAin: new Uint8Array(edgeCap),
    edgeOutline: new Uint8Array(edgeCap),
    edgeS: new Float32Array(edgeCap * 3),
    edgeLumaA: new Float32Array(edgeCap),
    edgeCountColumns: createWindowColumns(width, 1),
    edgeColourColumns: createWindowColumns(width, 2),
    lumaColumns: createWindowColumns(width, 6),
    source: kernel.planes[0],
    // It carries over every pixel it looked at (this frame's edges, last frame's partly
    // transparent ones): twice the edge list, and more in case a pose holds a wide haze.
    temporal: settings.stabilize ? createTemporalState(kernel.planes[1], 3 * edgeCap) : null,
    spillShift,
    spillWeight,
    spillCells: protecting ? new Uint8Array(spillCols * spillRows) : null,
    sparedCells: protecting ? new Uint8Array(spillCols * spillRows) : null,
    spillCols,
    spillRows,
    spillDist: protecting ? createDistanceScratch({ width: spillCols, height: spillRows }) : null,
    spillRect: { left: 0, top: 0, right: 0, bottom: 0 },
    spillDistRect: { left: 0, top: 0, right: 0, bottom: 0 },
    visibleLeft: new Int32Array(height),
    visibleRight: new Int32Array(height),
    bounds: { left: 0, top: 0, right: 0, bottom: 0 },
    refine: prepareRefine(settings, size),
    words: new PixelWords(),
    copyBytes: null,
    boundsOf: new WeakMap(),
    estimate,
    screenChannel,
    plainOverChannel,
  };
}

/**
 * Whether every colour whose RGB channel `c` is over the other two has spill about the screen's
 * hue (basis; limit weights dHi, dLo): the spill is concave in the colour and blind to grey, so
 * over the wedge of such colours it is least on its two edges, the colours with `c` and one other
 * channel equal and the third 0 (for blue: magenta and cyan). Above half a level on both: covered.
 */
function spillCoversChannel(basis: Float64Array, dHi: number, dLo: number, c: number): boolean {
  for (const other of [0, 1, 2]) {
    if (other === c) continue;
    const rgb = [0, 0, 0];
    rgb[c] = rgb[other] = 255;
    const o1 = basis[0] * rgb[0] + basis[1] * rgb[1] + basis[2] * rgb[2];
    const s = basis[3] * rgb[0] + basis[4] * rgb[1] + basis[5] * rgb[2];
    const o2 = basis[6] * rgb[0] + basis[7] * rgb[1] + basis[8] * rgb[2];
    if (s - Math.max(o1, o2) * dHi - Math.min(o1, o2) * dLo <= 0.5) return false;
  }
  return true;
}

/** The channel of `c` above the other two by at least a quarter of it, else -1 (a screen of mixed hue). */
function peakChannel(c: { r: number; g: number; b: number }): number {
  const v = [c.r, c.g, c.b];
  for (let k = 0; k < 3; k++) {
    const others = Math.max(v[(k + 1) % 3], v[(k + 2) % 3]);
    if (v[k] - others >= 0.25 * v[k]) return k;
  }
  return -1;
}
