/**
 * chroma-key: removes a green, blue or any-colour screen, leaving straight-alpha RGBA.
 *
 * Model: a colour-difference keyer (Keylight, Ultimatte, Vlahos) rather than ffmpeg's chroma
 * distance. Colours are rotated about the grey axis so the screen's hue becomes green, and the
 * matte comes from the "screen excess" `e = G - ref(R, B)`, ref = mean of the other two plus
 * `screenBalance` times half their difference (1: their max, the classic key; 2, the default,
 * also keeps teal/violet props 30-40 degrees off the screen hue opaque). The excess is divided by
 * the excess of the *local* screen colour, from a coarse grid estimated from the clip (see
 * internal/key-screen-estimate.ts), so a dark corner and a hot spot both key to 0:
 *   t = screenGain * e / e_screen(x, y)    (1 on the screen, 0 on greys, < 0 on other hues)
 *   alpha = clamp((1 - similarity - t) / softness, 0, 1)
 * A shadow cast on the screen is a darker copy of it: where a pixel is darker than the local
 * screen (down to `shadows`), t is judged per unit of brightness, so shadows key out too.
 * Edge pixels (0 < alpha < 1) get a second pass: where opaque pixels are near, alpha becomes the
 * pixel's position between the local screen colour S and their colour F, measured mostly in luma
 * (sharp in 4:2:0 video, unlike chroma); then their colour is unmixed, F = (P - (1 - a) S) / a,
 * so edges keep the character's colour instead of a screen cast.
 * Despill limits the screen channel to `mean + despillBias * |difference| / 2` of the other two,
 * moves the removed amount along the screen axis and adds its luma back as grey: spill goes
 * without darkening. Spill lives at the outline (screen light wrapping round the silhouette), a
 * teal prop inside the character is a real colour: so away from the outline, colours near the
 * screen's are spared (despillProtect), and within a few px of any pixel with alpha < 255 all
 * are despilled in full, fading inward (distance transform on a coarse grid, around the spared
 * pixels only).
 * Then optional matte refinement: choke/grow (px, min/max filter) and feather (gaussian sigma,
 * px); pixels the matte grows into get the colour of the nearby character (premultiplied blur).
 * Existing alpha multiplies the result, so canvas padding (alpha 0) stays transparent.
 * Units: similarity, softness, shadows, despill, bias 0..1; balance 0..3; choke, feather px.
 */
import {
  InvalidOptionError,
  defineEffect,
  parseColor,
  type Bounds,
  type Frame,
  type FrameSize,
  type OptionsOf,
} from '@stickerkey/core';
import { blurChannel, blurReach, blurRgba, boxRadiiForSigma, createBlurScratch, type BlurScratch } from './internal/blur.js';
import {
  createDistanceScratch,
  createSquareScratch,
  dilateSquare,
  erodeSquare,
  squaredDistance,
  type DistanceScratch,
  type SquareScratch,
} from './internal/morphology.js';
import { LUMA_B, LUMA_G, LUMA_R, screenBasis } from './internal/key-basis.js';
import { estimateScreen, uniformScreen, type ScreenEstimate } from './internal/key-screen-estimate.js';

const options = [
  {
    name: 'screen',
    type: 'color',
    default: 'auto',
    auto: true,
    help: 'Screen colour; auto finds it in the clip. A colour given is taken as the hue to look for (see localScreen)',
  },
  {
    name: 'localScreen',
    type: 'boolean',
    default: true,
    help: 'Measure the screen colour across the frame from the clip (uneven lighting); false uses one colour everywhere',
  },
  {
    name: 'similarity',
    type: 'number',
    default: 0.2,
    min: 0,
    max: 1,
    help: 'How close to the local screen colour a pixel must be to become fully transparent',
  },
  {
    name: 'softness',
    type: 'number',
    default: 0.5,
    min: 0,
    max: 1,
    help: 'Width of the transition from transparent to opaque; 0 gives a hard matte',
  },
  {
    name: 'screenGain',
    type: 'number',
    default: 1,
    min: 0.5,
    max: 2,
    help: 'Scales the screen excess before the matte is taken (Keylight screen gain); above 1 keys more',
  },
  {
    name: 'screenBalance',
    type: 'number',
    default: 2,
    min: 0,
    max: 3,
    help: 'Matte reference: mean of the two other channels plus this times half their difference; 1 is their max (classic), higher keeps hues near the screen opaque',
  },
  {
    name: 'shadows',
    type: 'number',
    default: 0.45,
    min: 0,
    max: 1,
    help: 'Keys out shadows on the screen down to this share of darkening (a darker copy of the local screen colour counts as screen)',
  },
  {
    name: 'despill',
    type: 'number',
    default: 1,
    min: 0,
    max: 1,
    help: 'Strength of spill suppression and edge unmixing; 0 leaves colours as they are',
  },
  {
    name: 'despillBias',
    type: 'number',
    default: 0.5,
    min: 0,
    max: 1,
    help: 'Despill limit: 1 the max of the other two channels (gentlest, keeps hues near the screen), 0 their mean',
  },
  {
    name: 'despillProtect',
    type: 'number',
    default: 1,
    min: 0,
    max: 1,
    help: 'Away from the outline (where spill lives), opaque colours near the screen hue (a teal prop on green) keep their colour; 1 spares them fully, 0 despills all alike',
  },
  {
    name: 'choke',
    type: 'integer',
    default: 0,
    min: -20,
    max: 20,
    unit: 'px',
    help: 'Shrinks the matte by this many pixels; negative grows it',
  },
  {
    name: 'feather',
    type: 'number',
    default: 0,
    min: 0,
    max: 20,
    unit: 'px',
    help: 'Softens the matte edge with a gaussian of this standard deviation',
  },
] as const;

export type ChromaKeyOptions = OptionsOf<typeof options>;

/** How many frames preload decodes to estimate the screen. */
const SAMPLE_FRAMES = 6;
/** Smallest local screen excess (0-255) divided by: a nearly grey "screen" must not blow t up. */
const MIN_SCREEN_EXCESS = 8;
/** Brightness ratios over which shadow keying fades in below its limit (no step in the matte). */
const SHADOW_RAMP = 0.1;
/** Squared RGB distance below which a neighbour colour is too close to the screen to unmix against. */
const MIN_UNMIX_DISTANCE2 = 40 * 40;
/** BT.601 luma (what decoders use for SD and most uploads) and how much more it counts than chroma. */
const LY_R = 0.299;
const LY_G = 0.587;
const LY_B = 0.114;
const LUMA_WEIGHT = 16;
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
/** Opaque pixels (of 25) around a partial pixel with no transparent one that make it interior. */
const INTERIOR_OPAQUE = 12;
/** Frame buffers whose 32-bit views are kept: more than any frame pool holds. */
const MAX_VIEWS = 16;
const NO_CELLS = new Uint8Array(0);
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

interface Refine {
  readonly grow: number;
  readonly radii: readonly number[];
  readonly reach: number;
  readonly bleedRadii: readonly number[];
  readonly matte: Uint8Array;
  readonly inAlpha: Uint8Array;
  readonly morph: SquareScratch;
  readonly blur1: BlurScratch;
  /** Premultiplied copy for the colour bleed, and its blur scratch; only when the matte grows. */
  readonly bleed: Uint8Array | null;
  readonly blur4: BlurScratch | null;
  readonly rect: Bounds;
}

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
  /** The grid interpolated to the current row (values and differences to the next node). */
  readonly rowInv: Float64Array;
  readonly rowDInv: Float64Array;
  readonly rowInvL: Float64Array;
  readonly rowDInvL: Float64Array;
  readonly rowRgb: Float64Array;
  /**
   * The row's pixels that keyScreenRow left for keyPixels (neither screen nor plain, see tPlain):
   * their x and local screen term.
   */
  readonly rowKept: Int32Array;
  readonly rowKeptInv: Float64Array;
  /**
   * A pixel with t at most this is plain: opaque, no shadow test, not spared (0, the opaque limit
   * and protectStart, less a margin so that (oneMinusSim - t) * invSoft cannot round below 1).
   * keyScreenRow finishes those itself but for the few with spill, which it lists with their
   * despill amount for despillRow; rowSpan gets the row's first and last plain x and that count.
   */
  readonly tPlain: number;
  readonly rowSpill: Int32Array;
  readonly rowSpillD: Float64Array;
  readonly rowSpan: Int32Array;
  /** Edge pixels found by the keying pass: byte offset, provisional alpha, input alpha, local screen. */
  readonly edgeIdx: Int32Array;
  readonly edgeA: Float32Array;
  readonly edgeAin: Uint8Array;
  readonly edgeS: Float32Array;
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
  /** 32-bit views of the frame buffers seen (see pixelsOf), and an aligned copy for odd offsets. */
  readonly views: Uint32Array[];
  readonly boundsOf: WeakMap<Frame, Bounds>;
  aligned: Uint8Array | undefined;
  readonly estimate: ScreenEstimate;
}

function prepareRefine(o: ChromaKeyOptions, size: FrameSize): Refine | null {
  if (o.choke === 0 && o.feather === 0) return null;
  const grow = -o.choke;
  const radii = boxRadiiForSigma(o.feather);
  const reach = blurReach(radii);
  const outward = grow > 0 || reach > 0;
  // One box wide enough to reach across the grown ring is all the colour fill needs: it only has
  // to find the character's colour nearby, not to look like a gaussian.
  const bleedRadii = outward ? [Math.max(0, grow) + reach + 1] : [];
  return {
    grow,
    radii,
    reach,
    bleedRadii,
    matte: new Uint8Array(size.width * size.height),
    inAlpha: new Uint8Array(size.width * size.height),
    morph: createSquareScratch(size, Math.abs(grow)),
    blur1: createBlurScratch(size, 1),
    bleed: outward ? new Uint8Array(size.width * size.height * 4) : null,
    blur4: outward ? createBlurScratch(size, 4) : null,
    rect: { left: 0, top: 0, right: 0, bottom: 0 },
  };
}

export const chromaKey = defineEffect({
  name: 'chroma-key',
  description: 'Removes a green, blue or any-colour screen (colour-difference key, local screen estimate, unmix, despill)',
  options,
  producesAlpha: true,

  async preload(o, ctx): Promise<ScreenEstimate> {
    const given = o.screen === 'auto' ? undefined : parseColor(o.screen);
    // An exact colour everywhere only when asked for: people write #00ff00 for "a green screen",
    // and a real screen is never that colour, nor one colour across the frame.
    if (given && !o.localScreen) return uniformScreen(given);
    const frames = await ctx.sampleFrames(SAMPLE_FRAMES);
    const found = estimateScreen(frames, given);
    if (given) return found ?? uniformScreen(given);
    const estimate = found && (o.localScreen ? found : uniformScreen(found.global));
    if (!estimate) {
      throw new InvalidOptionError(
        'Expected a clip with a coloured screen for chroma-key.screen auto but found no saturated area; pass screen as #rrggbb',
        'chroma-key.screen',
      );
    }
    return estimate;
  },

  prepare(o, size, preloaded: ScreenEstimate | undefined): ChromaKeyState {
    if (!LITTLE_ENDIAN) throw new Error('chroma-key reads pixels as little-endian 32-bit words; this platform is big-endian');
    let estimate = preloaded;
    if (!estimate) {
      if (o.screen === 'auto') {
        throw new InvalidOptionError(
          'Expected preload() before prepare() for chroma-key.screen auto: the screen is estimated from sample frames',
          'chroma-key.screen',
        );
      }
      estimate = uniformScreen(parseColor(o.screen));
    }
    const { width, height } = size;
    const { cols, rows } = estimate;
    // The basis follows the global screen hue; local nodes differ in brightness and a little in hue,
    // which the per-node excess absorbs.
    const basis = screenBasis(estimate.global);
    const kHi = o.screenBalance + (1 - o.screenBalance) * 0.5;
    const kLo = (1 - o.screenBalance) * 0.5;
    const dHi = o.despillBias + (1 - o.despillBias) * 0.5;
    const dLo = (1 - o.despillBias) * 0.5;
    const nodes = cols * rows;
    const nodeInv = new Float32Array(nodes);
    const nodeRgb = new Float32Array(nodes * 3);
    const nodeInvL = new Float32Array(nodes);
    for (let n = 0; n < nodes; n++) {
      const r = estimate.rgb[n * 3]!, g = estimate.rgb[n * 3 + 1]!, b = estimate.rgb[n * 3 + 2]!;
      const o1 = basis[0]! * r + basis[1]! * g + basis[2]! * b;
      const s = basis[3]! * r + basis[4]! * g + basis[5]! * b;
      const o2 = basis[6]! * r + basis[7]! * g + basis[8]! * b;
      const hi = Math.max(o1, o2), lo = Math.min(o1, o2);
      nodeInv[n] = o.screenGain / Math.max(MIN_SCREEN_EXCESS, s - hi * kHi - lo * kLo);
      nodeInvL[n] = 1 / Math.max(1, r + g + b);
      nodeRgb[n * 3] = r;
      nodeRgb[n * 3 + 1] = g;
      nodeRgb[n * 3 + 2] = b;
    }
    const fracX = new Float32Array(width);
    const cellOf = new Int32Array(width);
    const cellEnd = new Int32Array(cols - 1);
    for (let x = 0; x < width; x++) {
      const fx = width > 1 ? (x * (cols - 1)) / (width - 1) : 0;
      const c = Math.min(cols - 2, Math.floor(fx));
      fracX[x] = fx - c;
      cellOf[x] = c;
      cellEnd[c] = x + 1;
    }
    // Cells no column falls in (a grid finer than the frame) end where the previous one did.
    for (let c = 1; c < cols - 1; c++) if (cellEnd[c]! < cellEnd[c - 1]!) cellEnd[c] = cellEnd[c - 1]!;
    // Despill moves along the screen axis (row 1 of the basis, back in RGB) and puts its luma back as grey.
    // Edges are a thin line around the character (about 0.2% of a 1080p fixture frame); 1/32 of
    // the frame is far more than a clip needs, at 21 bytes each (1.4 MB at 1080p). Past it, edges
    // are finished in the first pass without the refinement: still correct, a little less exact.
    const edgeCap = Math.max(64, (width * height) >> 5);
    const tOpaque = 1 - o.similarity - o.softness;
    // despillProtect p moves the ramp from the opaque limit (p = 0: nothing spared) down to it.
    const protectFull = tOpaque * (1 - o.despillProtect * (1 - PROTECT_FULL));
    const protectStart = tOpaque * (1 - o.despillProtect * (1 - PROTECT_START));
    const protecting = o.despill > 0 && protectStart < tOpaque;
    // Light from the screen wraps a few pixels into the silhouette at 360p, proportionally more
    // at higher resolutions. Despill is full over twice that (the matte's outline is not exactly
    // the silhouette: a sliver of screen keyed opaque has spill beyond it), then fades out over
    // one reach more.
    const spillReach = Math.max(2, Math.round((2.5 * height) / 360));
    const spillShift = spillReach >= 8 ? 2 : spillReach >= 4 ? 1 : 0;
    const cell = 1 << spillShift;
    const spillCols = Math.ceil(width / cell), spillRows = Math.ceil(height / cell);
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
    const luma = LUMA_R * basis[3]! + LUMA_G * basis[4]! + LUMA_B * basis[5]!;
    // A rotation about grey keeps R+G+B, so the two other channels need only their difference:
    // o1 + o2 = sum - s, ref = mean + balance * |o1 - o2| / 2, and s - mean = 1.5 s - 0.5 sum
    // folds into one dot product (core). Six products, not nine. ref = hi * kHi + lo * kLo =
    // mean + (kHi - 0.5) * |o1 - o2|, as a weight of the spread: halfBal.
    // prettier-ignore
    const screenTest = Float64Array.of(
      1.5 * basis[3]! - 0.5, 1.5 * basis[4]! - 0.5, 1.5 * basis[5]! - 0.5,
      basis[0]! - basis[6]!, basis[1]! - basis[7]!, basis[2]! - basis[8]!,
      0.5 * (kHi - kLo),
    );
    const invSoft = 1 / Math.max(1e-4, o.softness);
    const tPlain = Math.min(0, 1 - o.similarity - 1 / invSoft, protectStart) - 1e-6;
    return {
      width,
      height,
      basis,
      oneMinusSim: 1 - o.similarity,
      invSoft,
      kHi,
      kLo,
      dHi,
      dLo,
      strength: o.despill,
      tOpaque,
      protectStart,
      protectFull,
      invProtect: protectFull > protectStart ? 1 / (protectFull - protectStart) : 0,
      cr: basis[3]! - luma,
      cg: basis[4]! - luma,
      cb: basis[5]! - luma,
      cols,
      rows,
      shadowFull: 1 - o.shadows,
      shadowLo: o.shadows > 0 ? 1 - o.shadows - SHADOW_RAMP : 1,
      invShadowRamp: 1 / SHADOW_RAMP,
      nodeInv,
      nodeInvL,
      nodeRgb,
      fracX,
      cellOf,
      cellEnd,
      xStep: width > 1 ? (cols - 1) / (width - 1) : 0,
      screenTest,
      rowInv: new Float64Array(cols),
      rowDInv: new Float64Array(cols),
      rowInvL: new Float64Array(cols),
      rowDInvL: new Float64Array(cols),
      rowRgb: new Float64Array(cols * 3),
      rowKept: new Int32Array(width),
      rowKeptInv: new Float64Array(width),
      tPlain,
      rowSpill: new Int32Array(width),
      rowSpillD: new Float64Array(width),
      rowSpan: new Int32Array(3),
      edgeIdx: new Int32Array(edgeCap),
      edgeA: new Float32Array(edgeCap),
      edgeAin: new Uint8Array(edgeCap),
      edgeS: new Float32Array(edgeCap * 3),
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
      refine: prepareRefine(o, size),
      views: [],
      boundsOf: new WeakMap(),
      aligned: undefined,
      estimate,
    };
  },

  apply(st: ChromaKeyState, frame: Frame): void {
    if (frame.width !== st.width || frame.height !== st.height) {
      throw new InvalidOptionError(
        `Expected a ${st.width}x${st.height} frame for chroma-key but received ${frame.width}x${frame.height}`,
        'chroma-key.size',
      );
    }
    const refine = st.refine;
    key(st, frame);
    if (refine) refineMatte(st, refine, frame);
    // One bounds object per frame object, kept here because the frame pool clears alphaBounds on
    // release: pooled frames get theirs back without allocating, and two frames in flight never
    // share one.
    let out = st.boundsOf.get(frame);
    if (out === undefined) {
      out = { left: 0, top: 0, right: 0, bottom: 0 };
      st.boundsOf.set(frame, out);
    }
    frame.alphaBounds = out;
    out.left = st.bounds.left;
    out.top = st.bounds.top;
    out.right = st.bounds.right;
    out.bottom = st.bounds.bottom;
  },
});

/**
 * A Uint32Array over the frame's bytes (little-endian RGBA: R in the low byte). Views are cached
 * per buffer, so a frame pool that cycles through a few buffers stops allocating after its first
 * round; a buffer at an unaligned offset is keyed through an aligned scratch copy.
 */
function pixelsOf(st: ChromaKeyState, data: Uint8Array): Uint32Array | null {
  if ((data.byteOffset & 3) !== 0) return null;
  const views = st.views;
  for (let i = 0; i < views.length; i++) {
    const v = views[i]!;
    if (v.buffer === data.buffer && v.byteOffset === data.byteOffset && v.length === data.length >> 2) return v;
  }
  const view = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
  if (views.length >= MAX_VIEWS) views.shift();
  views.push(view);
  return view;
}

/** The keying pass: matte, unmix, despill, in place; writes the alpha bounds into st.bounds. */
function key(st: ChromaKeyState, frame: Frame): void {
  let data = frame.data;
  let px = pixelsOf(st, data);
  if (px === null) {
    st.aligned ??= new Uint8Array(data.length);
    st.aligned.set(data);
    data = st.aligned;
    px = pixelsOf(st, data)!;
  }
  keyPixels(st, data, px);
  if (data !== frame.data) frame.data.set(data);
}

/**
 * The screen test for row y, the one part of the keying pass that runs on every pixel: screen
 * pixels become transparent black (so no later filter can pull screen colour into an edge);
 * canvas padding (alpha 0) stays as it is. Plain pixels (see tPlain: most of the character, the
 * bench frame's orange and skin) are finished here too, as they need nothing more than the test
 * already computed: bounds, and spill listed for despillRow (1 in 16 of them has any). The rest
 * are listed in rowKept with their local screen term, for keyPixels to key. Returns how many were
 * listed. A tight loop of its own, with only what the test needs in hand (V8 inlines the function
 * into keyPixels, the loop stays separate): inside keyPixels' loop, among all the edge and despill
 * state, the same test cost half as much again per pixel (measured at 1080p: a frame of screen
 * alone 6.2 -> 4.1 ms, the bench frame at zoom 1 11.3 -> 10.1 ms). Plain pixels listed for
 * keyPixels cost more than the test itself (bench frame, zoom 1.4: 340k of them, 1.3 ms).
 */
function keyScreenRow(st: ChromaKeyState, px: Uint32Array, y: number): number {
  const { width, cols, cellEnd, fracX, rowInv, rowDInv, xStep, rowKept, rowKeptInv, oneMinusSim } = st;
  const { tPlain, strength, rowSpill, rowSpillD } = st;
  const w = st.screenTest;
  const k0 = w[0]!, k1 = w[1]!, k2 = w[2]!, q0 = w[3]!, q1 = w[4]!, q2 = w[5]!, halfBal = w[6]!;
  const halfBias = 0.5 * (st.dHi - st.dLo);
  let kept = 0, spills = 0, first = -1, last = -1;
  // Cell by cell, so the local screen term advances by one addition per pixel.
  for (let cell = 0, x = 0, i = y * width; cell < cols - 1; cell++) {
    const xEnd = cellEnd[cell]!;
    const slope = rowDInv[cell]! * xStep;
    let inv = x < width ? rowInv[cell]! + rowDInv[cell]! * fracX[x]! : 0;
    for (; x < xEnd; x++, i++, inv += slope) {
      // One 32-bit load instead of four byte loads: about twice as fast on the whole loop.
      const v = px[i]!;
      if (v >>> 24 === 0) continue; // canvas padding: stays transparent
      const r = v & 255, g = (v >>> 8) & 255, b = (v >>> 16) & 255;
      const core = k0 * r + k1 * g + k2 * b;
      const diff = q0 * r + q1 * g + q2 * b;
      // Math.abs compiles branch-free: on the screen the sign of diff is noise, and a branch
      // on it mispredicts half the time (measured: a third of the loop's cost).
      const spread = Math.abs(diff);
      const t = (core - halfBal * spread) * inv;
      if (t >= oneMinusSim) {
        px[i] = 0;
        continue;
      }
      if (t <= tPlain) {
        if (first < 0) first = x;
        last = x;
        // keyPixels' despill amount, the same arithmetic (0 with despill 0).
        const d = (core - halfBias * spread) * strength;
        if (d > 0) {
          rowSpill[spills] = x;
          rowSpillD[spills] = d;
          spills++;
        }
        continue;
      }
      rowKept[kept] = x;
      rowKeptInv[kept] = inv;
      kept++;
    }
  }
  const span = st.rowSpan;
  span[0] = first;
  span[1] = last;
  span[2] = spills;
  return kept;
}

/** Despills the plain pixels keyScreenRow listed in row y by their amount (spill to limit). */
function despillRow(st: ChromaKeyState, px: Uint32Array, y: number): void {
  const { rowSpill, rowSpillD, cr, cg, cb } = st;
  const row = y * st.width;
  for (let k = 0, n = st.rowSpan[2]!; k < n; k++) {
    const i = row + rowSpill[k]!;
    const d = rowSpillD[k]!;
    const v = px[i]!;
    const r = v & 255, g = (v >>> 8) & 255, b = (v >>> 16) & 255;
    const nr = r - d * cr, ng = g - d * cg, nb = b - d * cb;
    const r8 = nr <= 0 ? 0 : nr >= 255 ? 255 : (nr + 0.5) | 0;
    const g8 = ng <= 0 ? 0 : ng >= 255 ? 255 : (ng + 0.5) | 0;
    const b8 = nb <= 0 ? 0 : nb >= 255 ? 255 : (nb + 0.5) | 0;
    px[i] = (v & 0xff000000) | (b8 << 16) | (g8 << 8) | r8;
  }
}

function keyPixels(st: ChromaKeyState, data: Uint8Array, px: Uint32Array): void {
  const { width, height, cols, rows, nodeInv, nodeInvL, nodeRgb, fracX, cellOf, rowInv, rowDInv, rowInvL, rowDInvL, rowRgb } = st;
  const { rowKept, rowKeptInv, rowSpan, visibleLeft, visibleRight } = st;
  const { shadowFull, shadowLo, invShadowRamp } = st;
  const inAlpha = st.refine ? st.refine.inAlpha : null;
  const w = st.screenTest;
  const k0 = w[0]!, k1 = w[1]!, k2 = w[2]!, q0 = w[3]!, q1 = w[4]!, q2 = w[5]!, halfBal = w[6]!;
  const { oneMinusSim, invSoft, dHi, dLo, strength, cr, cg, cb } = st;
  const halfBias = 0.5 * (dHi - dLo);
  const { protectStart, protectFull, invProtect } = st;
  const despill = strength > 0;
  const yScale = height > 1 ? (rows - 1) / (height - 1) : 0;
  let left = width, right = 0, top = height, bottom = 0;
  // Box of the opaque pixels despill spared (protected): only they can need despilling near the
  // outline later, everything else is despilled in full already.
  let pLeft = width, pRight = 0, pTop = height, pBottom = 0;
  // Not reached unless protecting, when sparedCells exists (no allocation: a shared empty array).
  const sparedCells = st.sparedCells ?? NO_CELLS;
  const { spillShift: shift, spillCols } = st;
  const { edgeIdx, edgeA, edgeAin, edgeS } = st;
  const edgeCap = edgeIdx.length;
  let edges = 0;

  for (let y = 0; y < height; y++) {
    // The grid, interpolated to this row once: per pixel only a lerp along x remains.
    const fy = y * yScale;
    const j = Math.min(rows - 2, Math.floor(fy));
    const wy = fy - j;
    const n0 = j * cols, n1 = n0 + cols;
    for (let i = 0; i < cols; i++) {
      rowInv[i] = nodeInv[n0 + i]! + (nodeInv[n1 + i]! - nodeInv[n0 + i]!) * wy;
      rowInvL[i] = nodeInvL[n0 + i]! + (nodeInvL[n1 + i]! - nodeInvL[n0 + i]!) * wy;
      for (let c = 0; c < 3; c++) {
        const a = nodeRgb[(n0 + i) * 3 + c]!;
        rowRgb[i * 3 + c] = a + (nodeRgb[(n1 + i) * 3 + c]! - a) * wy;
      }
    }
    for (let i = 0; i < cols - 1; i++) {
      rowDInv[i] = rowInv[i + 1]! - rowInv[i]!;
      rowDInvL[i] = rowInvL[i + 1]! - rowInvL[i]!;
    }

    // The refinement needs the input alpha after keying, to keep the padding transparent.
    if (inAlpha !== null) {
      for (let i = y * width, end = i + width; i < end; i++) inAlpha[i] = px[i]! >>> 24;
    }
    const kept = keyScreenRow(st, px, y);
    despillRow(st, px, y);

    let first = -1, last = -1;
    for (let k = 0; k < kept; k++) {
      const x = rowKept[k]!;
      const inv = rowKeptInv[k]!;
      const cell = cellOf[x]!;
      const p = (y * width + x) * 4;
      const v = px[p >> 2]!;
      const ain = v >>> 24;
      const r = v & 255, g = (v >>> 8) & 255, b = (v >>> 16) & 255;
      // The same arithmetic as keyScreenRow's, which found t below 1 - similarity.
      const core = k0 * r + k1 * g + k2 * b;
      const diff = q0 * r + q1 * g + q2 * b;
      const spread = Math.abs(diff);
      let t = (core - halfBal * spread) * inv;
      if (t > 0) {
        // A shadow on the screen is a darker copy of it: same excess per unit of brightness. Where
        // the pixel is darker than the local screen (by less than the shadow limit), judge the
        // excess relative to the pixel's own brightness, so the shadow keys out like the screen.
        const kb = (r + g + b) * (rowInvL[cell]! + rowDInvL[cell]! * fracX[x]!);
        if (kb < 1 && kb > shadowLo) {
          const tn = t / kb;
          t = kb >= shadowFull ? tn : t + (tn - t) * (kb - shadowLo) * invShadowRamp;
        }
      }
      const af = (oneMinusSim - t) * invSoft;

      if (af <= 0) {
        // Shadow on the screen.
        px[p >> 2] = 0;
        continue;
      }

      if (af >= 1) {
        // Opaque but not plain (near the screen's colour: maybe spared): spill to limit.
        if (first < 0) first = x;
        last = x;
        if (!despill) continue;
        let d = (core - halfBias * spread) * strength;
        if (d <= 0) continue;
        // Away from the outline, spill is a small excess on a colour far from the screen; an
        // opaque colour that is itself close to the screen (teal on green) is a prop's: despill
        // fades out. Near the outline, despillNearOutline despills it in full after all.
        if (t > protectStart) {
          if (x < pLeft) pLeft = x;
          if (x >= pRight) pRight = x + 1;
          if (y < pTop) pTop = y;
          pBottom = y + 1;
          sparedCells[(y >> shift) * spillCols + (x >> shift)] = 1;
          if (t >= protectFull) continue;
          d *= (protectFull - t) * invProtect;
        }
        const nr = r - d * cr, ng = g - d * cg, nb = b - d * cb;
        data[p] = nr <= 0 ? 0 : nr >= 255 ? 255 : (nr + 0.5) | 0;
        data[p + 1] = ng <= 0 ? 0 : ng >= 255 ? 255 : (ng + 0.5) | 0;
        data[p + 2] = nb <= 0 ? 0 : nb >= 255 ? 255 : (nb + 0.5) | 0;
        continue;
      }

      // Edge: the matte is refined and the colour unmixed in a second pass, once every opaque
      // neighbour is known; until then the pixel keeps its source colour and a provisional alpha.
      const alpha = (af * ain + 0.5) | 0;
      if (alpha === 0) {
        data[p] = data[p + 1] = data[p + 2] = data[p + 3] = 0;
        continue;
      }
      if (first < 0) first = x;
      last = x;
      const q = cell * 3;
      const f = fracX[x]!;
      const sr = rowRgb[q]! + (rowRgb[q + 3]! - rowRgb[q]!) * f;
      const sg = rowRgb[q + 1]! + (rowRgb[q + 4]! - rowRgb[q + 1]!) * f;
      const sb = rowRgb[q + 2]! + (rowRgb[q + 5]! - rowRgb[q + 2]!) * f;
      if (edges < edgeCap) {
        edgeIdx[edges] = p;
        edgeA[edges] = af;
        edgeAin[edges] = ain;
        edgeS[edges * 3] = sr;
        edgeS[edges * 3 + 1] = sg;
        edgeS[edges * 3 + 2] = sb;
        edges++;
        // Below 255, so that pass 2 never takes it for an opaque neighbour.
        data[p + 3] = alpha < 255 ? alpha : 254;
      } else {
        finishEdge(st, data, p, af, ain, sr, sg, sb);
      }
    }
    // Plain pixels are opaque: they count for the bounds like those keyed here.
    const plainFirst = rowSpan[0]!, plainLast = rowSpan[1]!;
    if (plainFirst >= 0) {
      if (first < 0 || plainFirst < first) first = plainFirst;
      if (plainLast > last) last = plainLast;
    }
    visibleLeft[y] = first;
    visibleRight[y] = last + 1;
    if (first >= 0) {
      if (first < left) left = first;
      if (last + 1 > right) right = last + 1;
      if (y < top) top = y;
      bottom = y + 1;
    }
  }
  const bounds = st.bounds;
  if (right <= left) {
    bounds.left = bounds.top = bounds.right = bounds.bottom = 0;
  } else {
    bounds.left = left;
    bounds.top = top;
    bounds.right = right;
    bounds.bottom = bottom;
  }
  const spared = st.spillRect;
  spared.left = pLeft;
  spared.top = pTop;
  spared.right = pRight;
  spared.bottom = pBottom;
  refineEdges(st, data, px, edges);
}

/**
 * Pass 2 over the edge pixels. A colour-difference matte over-estimates alpha where the character's
 * colour is far from neutral (an orange edge half over green has a strongly negative excess), so
 * where opaque pixels are near, the alpha is instead the position of the pixel on the line from
 * the local screen colour S to their mean colour F: a = (P - S).(F - S) / |F - S|^2 (as in
 * colour unmixing / Bayesian matting, with F taken from the 5x5 neighbourhood). Then the colour
 * is unmixed and despilled. Alphas are all computed before any is written, so a refined edge
 * never counts as an opaque neighbour.
 */
function refineEdges(st: ChromaKeyState, data: Uint8Array, px: Uint32Array, edges: number): void {
  const { width, height, edgeIdx, edgeA, edgeAin, edgeS } = st;
  for (let k = 0; k < edges; k++) {
    const p = edgeIdx[k]!;
    const i = p >> 2;
    const y = (i / width) | 0;
    const x = i - y * width;
    const x0 = x > 1 ? x - 2 : 0, x1 = x < width - 2 ? x + 2 : width - 1;
    const y0 = y > 1 ? y - 2 : 0, y1 = y < height - 2 ? y + 2 : height - 1;
    // First only count the opaque and the clear neighbours, branch-free on 32-bit words: where
    // screen, edges and character mix, a branch on each alpha mispredicts, and many edges have no
    // opaque neighbour at all (a prop near the screen's colour keyed partly transparent across
    // its whole area: 4 in 5 of the bench frame's 50k edges), so they need nothing more.
    let n = 0, clear = 0;
    for (let yy = y0; yy <= y1; yy++) {
      for (let w = yy * width + x0, end = yy * width + x1; w <= end; w++) {
        const a = px[w]! >>> 24;
        n += (a + 1) >> 8; // 1 for 255 only
        clear += (a - 1) >>> 31; // 1 for 0 only
      }
    }
    if (n === 0) continue;
    // No screen anywhere near and mostly opaque around: a seam between two colours inside the
    // character (4:2:0 chroma makes such seams look screen-ish), not an edge. Keep it opaque.
    if (clear === 0 && n >= INTERIOR_OPAQUE) {
      edgeA[k] = 1;
      continue;
    }
    let fr = 0, fg = 0, fb = 0;
    for (let yy = y0; yy <= y1; yy++) {
      for (let w = yy * width + x0, end = yy * width + x1; w <= end; w++) {
        const v = px[w]!;
        const opaque = -(((v >>> 24) + 1) >> 8); // all ones for alpha 255, else 0
        fr += v & opaque & 255;
        fg += (v >>> 8) & opaque & 255;
        fb += (v >>> 16) & opaque & 255;
      }
    }
    const inv = 1 / n;
    const sr = edgeS[k * 3]!, sg = edgeS[k * 3 + 1]!, sb = edgeS[k * 3 + 2]!;
    // Projection in a luma-weighted space: decoded 4:2:0 video has sharp luma but chroma shared
    // by 2x2 pixels, so the luma difference locates the edge better than the colour.
    const dr = fr * inv - sr, dg = fg * inv - sg, db = fb * inv - sb;
    const dy = LY_R * dr + LY_G * dg + LY_B * db;
    const du = dr - dy, dv = db - dy;
    const dd = LUMA_WEIGHT * dy * dy + du * du + dv * dv;
    // F too close to S: the projection is unreliable, keep the colour-difference alpha.
    if (dd < MIN_UNMIX_DISTANCE2) continue;
    const pr = data[p]! - sr, pg = data[p + 1]! - sg, pb = data[p + 2]! - sb;
    const py = LY_R * pr + LY_G * pg + LY_B * pb;
    const a = (LUMA_WEIGHT * py * dy + (pr - py) * du + (pb - py) * dv) / dd;
    const af = edgeA[k]!;
    edgeA[k] = a < af ? (a > 0 ? a : 0) : af;
  }
  for (let k = 0; k < edges; k++) {
    const p = edgeIdx[k]!;
    finishEdge(st, data, p, edgeA[k]!, edgeAin[k]!, edgeS[k * 3]!, edgeS[k * 3 + 1]!, edgeS[k * 3 + 2]!);
  }
  // Distances to the outline once the edges are written: seams the loop above made opaque are
  // not outline (a teal belly's border with the orange body has them: despilling around them
  // drew a grey ring round the belly).
  if (st.spillWeight !== null && st.spillRect.right > st.spillRect.left) {
    spillDistances(st, px);
    despillNearOutline(st, data);
  }
}

/**
 * Spill lives next to the outline (light from the screen wrapping round the silhouette, 4:2:0
 * chroma bleed), so there opaque pixels are despilled in full, whatever despillProtect spared in
 * the keying pass, fading to that pass's result further in (see spillWeight). The distance is to
 * the nearest pixel with alpha < 255 (edges and screen, holes included), on a grid of small cells
 * (see spillShift), by the distance transform capped at the fade's end. Only pixels the keying
 * pass spared can need it (the rest are despilled in full already), so it runs on their box
 * alone, which is empty for a character with no colour near the screen's. Measured at 1080p: the
 * exact per-pixel transform over the character's box cost 60% more per frame than the whole
 * keyer did before; the cell grid costs a fraction of that.
 * Despill is linear along its axis, so despilling what remains by w gives
 * 1 - (1 - w)(1 - w_interior): full where w is 1, the interior's result where it is 0.
 */
function spillDistances(st: ChromaKeyState, px: Uint32Array): void {
  const { width, height, spillShift: shift, spillCols: cols, spillRows: rows } = st;
  const cells = st.spillCells!;
  const weight = st.spillWeight!;
  const s = st.spillRect;
  const r = st.spillDistRect; // in cells
  // Every pixel with alpha < 255 nearer to a spared pixel than the fade's end lies in the spared
  // box grown by that much (plus a cell for rounding), so distances inside it are right.
  const grow = Math.ceil(Math.sqrt(weight.length)) + 1;
  const cl = s.left >> shift, ct = s.top >> shift;
  const cr = ((s.right - 1) >> shift) + 1, cb = ((s.bottom - 1) >> shift) + 1;
  r.left = cl > grow ? cl - grow : 0;
  r.top = ct > grow ? ct - grow : 0;
  r.right = cr < cols - grow ? cr + grow : cols;
  r.bottom = cb < rows - grow ? cb + grow : rows;
  // A cell is a feature (255) when any of its pixels has alpha < 255.
  for (let cy = r.top; cy < r.bottom; cy++) cells.fill(0, cy * cols + r.left, cy * cols + r.right);
  const x0 = r.left << shift, x1 = Math.min(width, r.right << shift);
  const y0 = r.top << shift, y1 = Math.min(height, r.bottom << shift);
  const cell = 1 << shift;
  const { visibleLeft, visibleRight } = st;
  for (let y = y0; y < y1; y++) {
    const row = (y >> shift) * cols;
    // Outside the row's visible span every alpha is 0: cells reaching out of it are features
    // without reading them (at 1080p zoom 1.4 the spared box is the character's, half of it
    // screen around the character).
    const vl = visibleLeft[y]!, vr = visibleRight[y]!;
    let ca = r.right, cb = r.right;
    if (vr > vl) {
      ca = (vl + cell - 1) >> shift; // first cell starting in the span
      cb = vr >= x1 ? r.right : vr >> shift; // cells before cb end in it
      if (ca < r.left) ca = r.left;
      if (cb > r.right) cb = r.right;
      if (cb < ca) cb = ca;
    }
    for (let cx = r.left; cx < ca; cx++) cells[row + cx] = 255;
    for (let cx = cb; cx < r.right; cx++) cells[row + cx] = 255;
    const i1 = y * width + x1;
    // The AND of a cell's words has alpha 255 only if all of them do: one test per cell, not per
    // pixel (per-pixel tests cost twice as much). A cell already found in an earlier row of it is
    // not read again (measured at 1080p zoom 1.4: this function 2.0 -> 1.5 ms).
    let cx = ca, i = y * width + (ca << shift);
    if (cell === 4) {
      // The usual cell at 1080p, in four loads of its own: with the loop over a cell's words the
      // function took half as long again (profile, 1080p zoom 1.4: 0.75 against 0.47 ms).
      for (; cx < cb && i + 4 <= i1; cx++, i += 4) {
        if (cells[row + cx] !== 0) continue;
        if ((px[i]! & px[i + 1]! & px[i + 2]! & px[i + 3]!) >>> 24 !== 255) cells[row + cx] = 255;
      }
    }
    for (; cx < cb; cx++, i += cell) {
      if (cells[row + cx] !== 0) continue;
      const end = i + cell < i1 ? i + cell : i1;
      let all = 0xffffffff;
      for (let w = i; w < end; w++) all &= px[w]!;
      if (all >>> 24 !== 255) cells[row + cx] = 255;
    }
  }
  squaredDistance(cells, cols, rows, r, 128, false, st.spillDist!, Math.sqrt(weight.length));
}

function despillNearOutline(st: ChromaKeyState, data: Uint8Array): void {
  const weight = st.spillWeight!;
  const { width, spillShift: shift, spillCols: cols } = st;
  const s = st.spillRect;
  const cap = weight.length; // squared distance (cells) at which the weight reaches 0
  const dist = st.spillDist!.dist;
  const cl = s.left >> shift, ct = s.top >> shift;
  const cr = ((s.right - 1) >> shift) + 1, cb = ((s.bottom - 1) >> shift) + 1;
  const spared = st.sparedCells!;
  // Cell by cell, only cells holding a spared pixel: the rest of the character is despilled in
  // full already, and the interior of a belly (far from any edge) is skipped a cell at a time.
  for (let cy = ct; cy < cb; cy++) {
    const y0 = cy << shift > s.top ? cy << shift : s.top;
    const y1 = (cy + 1) << shift < s.bottom ? (cy + 1) << shift : s.bottom;
    for (let cx = cl; cx < cr; cx++) {
      const c = cy * cols + cx;
      if (spared[c] === 0) continue;
      spared[c] = 0;
      const d2 = dist[c]!;
      if (d2 >= cap) continue;
      const w = weight[d2]!;
      if (w === 0) continue;
      const x0 = cx << shift > s.left ? cx << shift : s.left;
      const x1 = (cx + 1) << shift < s.right ? (cx + 1) << shift : s.right;
      for (let y = y0; y < y1; y++) {
        for (let x = x0, p = (y * width + x0) * 4; x < x1; x++, p += 4) {
          // Edges, seams and screen are finished (finishEdge despilled them in full).
          if (data[p + 3] === 255) despillBy(st, data, p, w);
        }
      }
    }
  }
}

/** Despill one opaque pixel by `w` of its spill (1: down to the limit), no protection. */
function despillBy(st: ChromaKeyState, data: Uint8Array, p: number, w: number): void {
  const b = st.basis;
  const r = data[p]!, g = data[p + 1]!, bl = data[p + 2]!;
  const u1 = b[0]! * r + b[1]! * g + b[2]! * bl;
  const us = b[3]! * r + b[4]! * g + b[5]! * bl;
  const u2 = b[6]! * r + b[7]! * g + b[8]! * bl;
  const uhi = u1 > u2 ? u1 : u2;
  const ulo = u1 > u2 ? u2 : u1;
  const d = (us - uhi * st.dHi - ulo * st.dLo) * st.strength * w;
  if (d <= 0) return;
  const nr = r - d * st.cr, ng = g - d * st.cg, nb = bl - d * st.cb;
  data[p] = nr <= 0 ? 0 : nr >= 255 ? 255 : (nr + 0.5) | 0;
  data[p + 1] = ng <= 0 ? 0 : ng >= 255 ? 255 : (ng + 0.5) | 0;
  data[p + 2] = nb <= 0 ? 0 : nb >= 255 ? 255 : (nb + 0.5) | 0;
}

/** Writes an edge pixel: alpha `af` times the input alpha, colour unmixed from S and despilled. */
function finishEdge(st: ChromaKeyState, data: Uint8Array, p: number, af: number, ain: number, sr: number, sg: number, sb: number): void {
  const alpha = (af * ain + 0.5) | 0;
  if (alpha === 0) {
    data[p] = data[p + 1] = data[p + 2] = data[p + 3] = 0;
    return;
  }
  data[p + 3] = alpha;
  const strength = st.strength;
  if (strength === 0) return;
  const b = st.basis;
  const k = (1 - af) * strength;
  const inv = 1 / (1 - k);
  let fr = (data[p]! - k * sr) * inv, fg = (data[p + 1]! - k * sg) * inv, fb = (data[p + 2]! - k * sb) * inv;
  fr = fr <= 0 ? 0 : fr >= 255 ? 255 : fr;
  fg = fg <= 0 ? 0 : fg >= 255 ? 255 : fg;
  fb = fb <= 0 ? 0 : fb >= 255 ? 255 : fb;
  const u1 = b[0]! * fr + b[1]! * fg + b[2]! * fb;
  const us = b[3]! * fr + b[4]! * fg + b[5]! * fb;
  const u2 = b[6]! * fr + b[7]! * fg + b[8]! * fb;
  const uhi = u1 > u2 ? u1 : u2;
  const ulo = u1 > u2 ? u2 : u1;
  const d = (us - uhi * st.dHi - ulo * st.dLo) * strength;
  if (d > 0) {
    fr -= d * st.cr;
    fg -= d * st.cg;
    fb -= d * st.cb;
  }
  data[p] = fr <= 0 ? 0 : fr >= 255 ? 255 : (fr + 0.5) | 0;
  data[p + 1] = fg <= 0 ? 0 : fg >= 255 ? 255 : (fg + 0.5) | 0;
  data[p + 2] = fb <= 0 ? 0 : fb >= 255 ? 255 : (fb + 0.5) | 0;
}

/** Choke/grow then feather the keyed matte; pixels it grows into take the nearby character's colour. */
function refineMatte(st: ChromaKeyState, rf: Refine, frame: Frame): void {
  const { width, height } = st;
  const data = frame.data;
  const rect = rf.rect;
  const spread = Math.max(0, rf.grow) + rf.reach + 1;
  rect.left = Math.max(0, st.bounds.left - spread);
  rect.top = Math.max(0, st.bounds.top - spread);
  rect.right = Math.min(width, st.bounds.right + spread);
  rect.bottom = Math.min(height, st.bounds.bottom + spread);
  if (st.bounds.right <= st.bounds.left) return;
  const matte = rf.matte;
  for (let y = rect.top; y < rect.bottom; y++) {
    for (let x = rect.left, i = y * width + x; x < rect.right; x++, i++) matte[i] = data[i * 4 + 3]!;
  }
  if (rf.grow > 0) dilateSquare(matte, width, height, rect, rf.grow, rf.morph);
  else if (rf.grow < 0) erodeSquare(matte, width, height, rect, -rf.grow, rf.morph);
  blurChannel(matte, width, height, rect, rf.radii, rf.blur1);

  const bleed = rf.bleed;
  if (bleed && rf.blur4) {
    // Premultiplied copy blurred wide enough to reach every pixel the matte grew into.
    for (let y = rect.top; y < rect.bottom; y++) {
      for (let x = rect.left, p = (y * width + x) * 4; x < rect.right; x++, p += 4) {
        const a = data[p + 3]!;
        bleed[p] = (data[p]! * a + 127) / 255;
        bleed[p + 1] = (data[p + 1]! * a + 127) / 255;
        bleed[p + 2] = (data[p + 2]! * a + 127) / 255;
        bleed[p + 3] = a;
      }
    }
    blurRgba(bleed, width, height, rect, rf.bleedRadii, rf.blur4);
  }
  const inAlpha = rf.inAlpha;
  for (let y = rect.top; y < rect.bottom; y++) {
    for (let x = rect.left, i = y * width + x, p = i * 4; x < rect.right; x++, i++, p += 4) {
      const keyed = data[p + 3]!;
      const limit = inAlpha[i]!;
      const m = matte[i]! < limit ? matte[i]! : limit;
      if (keyed === 0 && m > 0) {
        if (bleed === null || bleed[p + 3] === 0) {
          data[p + 3] = 0;
          continue;
        }
        const inv = 255 / bleed[p + 3]!;
        const r = bleed[p]! * inv, g = bleed[p + 1]! * inv, b = bleed[p + 2]! * inv;
        data[p] = r >= 255 ? 255 : (r + 0.5) | 0;
        data[p + 1] = g >= 255 ? 255 : (g + 0.5) | 0;
        data[p + 2] = b >= 255 ? 255 : (b + 0.5) | 0;
      }
      data[p + 3] = m;
      if (m === 0) data[p] = data[p + 1] = data[p + 2] = 0;
    }
  }
  // Outside the rectangle everything is transparent already: bounds need only look inside it.
  let left = width, right = 0, top = height, bottom = 0;
  for (let y = rect.top; y < rect.bottom; y++) {
    let first = -1, last = -1;
    for (let x = rect.left, p = (y * width + x) * 4 + 3; x < rect.right; x++, p += 4) {
      if (data[p] === 0) continue;
      if (first < 0) first = x;
      last = x;
    }
    if (first < 0) continue;
    if (first < left) left = first;
    if (last + 1 > right) right = last + 1;
    if (y < top) top = y;
    bottom = y + 1;
  }
  const b = st.bounds;
  if (right <= left) b.left = b.top = b.right = b.bottom = 0;
  else {
    b.left = left;
    b.top = top;
    b.right = right;
    b.bottom = bottom;
  }
}
