/**
 * chroma-key: removes a green, blue or any-colour screen, leaving straight-alpha RGBA.
 *
 * Model: a colour-difference keyer (Keylight, Ultimatte, Vlahos) rather than ffmpeg's chroma
 * distance. Colours are rotated about the grey axis so the screen's hue becomes green, and the
 * matte comes from the "screen excess" `e = G - ref(R, B)` (ref: between max and mean of the other
 * two, `screenBalance`). The excess is divided by the excess of the *local* screen colour, taken
 * from a coarse grid estimated from the clip (see internal/key-screen-estimate.ts), so a dark
 * corner and a hot spot both key to 0:
 *   t = screenGain * e / e_screen(x, y)    (1 on the screen, 0 on greys, < 0 on other hues)
 *   alpha = clamp((1 - similarity - t) / softness, 0, 1)
 * Colour, where alpha > 0:
 * - edge pixels (0 < alpha < 1) are unmixed: the local screen colour's share is subtracted,
 *   `F = (P - (1 - alpha) S) / alpha`, so the edge keeps the character's colour instead of
 *   a green cast (what a straight despill turns grey);
 * - despill then limits the screen channel to `ref(R, B)` (bias between mean and max of the two
 *   others), moving the removed amount along the screen axis and adding back its luma as grey,
 *   so spill goes without darkening, and hues next to the screen's (yellow-greens, teals) keep
 *   their hue at bias 1 instead of turning grey or orange.
 * Then optional matte refinement: choke/grow (px, min/max filter) and feather (gaussian sigma,
 * px); pixels the matte grows into get the colour of the nearby character (premultiplied blur).
 * Existing alpha multiplies the result, so canvas padding (alpha 0) stays transparent.
 * Units: similarity, softness, despill, biases 0..1; choke, feather px.
 */
import {
  InvalidOptionError,
  computeAlphaBounds,
  defineEffect,
  parseColor,
  type Bounds,
  type Frame,
  type FrameSize,
  type OptionsOf,
} from '@stickerkey/core';
import { blurChannel, blurReach, blurRgba, boxRadiiForSigma, createBlurScratch, type BlurScratch } from './internal/blur.js';
import { createSquareScratch, dilateSquare, erodeSquare, type SquareScratch } from './internal/morphology.js';
import { LUMA_B, LUMA_G, LUMA_R, screenBasis } from './internal/key-basis.js';
import { estimateScreen, uniformScreen, type ScreenEstimate } from './internal/key-screen-estimate.js';

const options = [
  {
    name: 'screen',
    type: 'color',
    default: 'auto',
    auto: true,
    help: 'Screen colour; auto estimates it, and how its lighting varies across the frame, from the clip',
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
  /** Per column: left grid node and the fraction towards the next one. */
  readonly cellX: Int32Array;
  readonly fracX: Float32Array;
  /** The grid interpolated to the current row (values and differences to the next node). */
  readonly rowInv: Float64Array;
  readonly rowDInv: Float64Array;
  readonly rowInvL: Float64Array;
  readonly rowDInvL: Float64Array;
  readonly rowRgb: Float64Array;
  readonly bounds: Bounds;
  readonly refine: Refine | null;
  readonly estimate: ScreenEstimate;
}

function prepareRefine(o: ChromaKeyOptions, size: FrameSize): Refine | null {
  if (o.choke === 0 && o.feather === 0) return null;
  const grow = -o.choke;
  const radii = boxRadiiForSigma(o.feather);
  const reach = blurReach(radii);
  const outward = grow > 0 || reach > 0;
  const bleedRadii = outward ? boxRadiiForSigma(1 + (Math.max(0, grow) + reach) / 2.5) : [];
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
    if (o.screen !== 'auto') return uniformScreen(parseColor(o.screen));
    const frames = await ctx.sampleFrames(SAMPLE_FRAMES);
    const estimate = estimateScreen(frames);
    if (!estimate) {
      throw new InvalidOptionError(
        'Expected a clip with a coloured screen for chroma-key.screen auto but found no saturated area; pass screen as #rrggbb',
        'chroma-key.screen',
      );
    }
    return estimate;
  },

  prepare(o, size, preloaded: ScreenEstimate | undefined): ChromaKeyState {
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
    const cellX = new Int32Array(width);
    const fracX = new Float32Array(width);
    for (let x = 0; x < width; x++) {
      const fx = width > 1 ? (x * (cols - 1)) / (width - 1) : 0;
      const c = Math.min(cols - 2, Math.floor(fx));
      cellX[x] = c;
      fracX[x] = fx - c;
    }
    // Despill moves along the screen axis (row 1 of the basis, back in RGB) and puts its luma back as grey.
    const luma = LUMA_R * basis[3]! + LUMA_G * basis[4]! + LUMA_B * basis[5]!;
    return {
      width,
      height,
      basis,
      oneMinusSim: 1 - o.similarity,
      invSoft: 1 / Math.max(1e-4, o.softness),
      kHi,
      kLo,
      dHi,
      dLo,
      strength: o.despill,
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
      cellX,
      fracX,
      rowInv: new Float64Array(cols),
      rowDInv: new Float64Array(cols),
      rowInvL: new Float64Array(cols),
      rowDInvL: new Float64Array(cols),
      rowRgb: new Float64Array(cols * 3),
      bounds: { left: 0, top: 0, right: 0, bottom: 0 },
      refine: prepareRefine(o, size),
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
    if (refine) {
      const { data } = frame;
      const inAlpha = refine.inAlpha;
      for (let i = 0, p = 3, n = st.width * st.height; i < n; i++, p += 4) inAlpha[i] = data[p]!;
    }
    key(st, frame);
    if (refine) refineMatte(st, refine, frame);
    // Reuse the frame's own bounds object when it has one: pooled frames then never allocate,
    // and two frames in flight never share one.
    const out = frame.alphaBounds ?? (frame.alphaBounds = { left: 0, top: 0, right: 0, bottom: 0 });
    out.left = st.bounds.left;
    out.top = st.bounds.top;
    out.right = st.bounds.right;
    out.bottom = st.bounds.bottom;
  },
});

/** The keying pass: matte, unmix, despill, in place; writes the alpha bounds into st.bounds. */
function key(st: ChromaKeyState, frame: Frame): void {
  const data = frame.data;
  const { width, height, basis, cols, rows, nodeInv, nodeInvL, nodeRgb, cellX, fracX, rowInv, rowDInv, rowInvL, rowDInvL, rowRgb } = st;
  const { shadowFull, shadowLo, invShadowRamp } = st;
  const m0 = basis[0]!, m1 = basis[1]!, m2 = basis[2]!;
  const m3 = basis[3]!, m4 = basis[4]!, m5 = basis[5]!;
  const m6 = basis[6]!, m7 = basis[7]!, m8 = basis[8]!;
  const { oneMinusSim, invSoft, kHi, kLo, dHi, dLo, strength, cr, cg, cb } = st;
  const despill = strength > 0;
  const yScale = height > 1 ? (rows - 1) / (height - 1) : 0;
  let left = width, right = 0, top = height, bottom = 0;

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

    let first = -1, last = -1;
    for (let x = 0, p = y * width * 4; x < width; x++, p += 4) {
      const ain = data[p + 3]!;
      if (ain === 0) continue; // canvas padding: stays transparent
      const r = data[p]!, g = data[p + 1]!, b = data[p + 2]!;
      const o1 = m0 * r + m1 * g + m2 * b;
      const s = m3 * r + m4 * g + m5 * b;
      const o2 = m6 * r + m7 * g + m8 * b;
      const hi = o1 > o2 ? o1 : o2;
      const lo = o1 > o2 ? o2 : o1;
      const c = cellX[x]!;
      const f = fracX[x]!;
      let t = (s - hi * kHi - lo * kLo) * (rowInv[c]! + rowDInv[c]! * f);
      if (t > 0) {
        // A shadow on the screen is a darker copy of it: same excess per unit of brightness. Where
        // the pixel is darker than the local screen (by less than the shadow limit), judge the
        // excess relative to the pixel's own brightness, so the shadow keys out like the screen.
        const kb = (r + g + b) * (rowInvL[c]! + rowDInvL[c]! * f);
        if (kb < 1 && kb > shadowLo) {
          const tn = t / kb;
          t = kb >= shadowFull ? tn : t + (tn - t) * (kb - shadowLo) * invShadowRamp;
        }
      }
      const af = (oneMinusSim - t) * invSoft;

      if (af <= 0) {
        // Screen: transparent black, so no later filter can pull screen colour into an edge.
        data[p] = data[p + 1] = data[p + 2] = data[p + 3] = 0;
        continue;
      }

      if (af >= 1) {
        // Opaque: only spill to limit; most pixels have none and are left untouched.
        if (first < 0) first = x;
        last = x;
        if (!despill) continue;
        const d = (s - hi * dHi - lo * dLo) * strength;
        if (d <= 0) continue;
        const nr = r - d * cr, ng = g - d * cg, nb = b - d * cb;
        data[p] = nr <= 0 ? 0 : nr >= 255 ? 255 : (nr + 0.5) | 0;
        data[p + 1] = ng <= 0 ? 0 : ng >= 255 ? 255 : (ng + 0.5) | 0;
        data[p + 2] = nb <= 0 ? 0 : nb >= 255 ? 255 : (nb + 0.5) | 0;
        continue;
      }

      // Edge: unmix the local screen colour, then despill what is left.
      const alpha = (af * ain + 0.5) | 0;
      if (alpha === 0) {
        data[p] = data[p + 1] = data[p + 2] = data[p + 3] = 0;
        continue;
      }
      if (first < 0) first = x;
      last = x;
      data[p + 3] = alpha;
      if (!despill) continue;
      const q = c * 3;
      const sr = rowRgb[q]! + (rowRgb[q + 3]! - rowRgb[q]!) * f;
      const sg = rowRgb[q + 1]! + (rowRgb[q + 4]! - rowRgb[q + 1]!) * f;
      const sb = rowRgb[q + 2]! + (rowRgb[q + 5]! - rowRgb[q + 2]!) * f;
      const k = (1 - af) * strength;
      const inv = 1 / (1 - k);
      let fr = (r - k * sr) * inv, fg = (g - k * sg) * inv, fb = (b - k * sb) * inv;
      fr = fr <= 0 ? 0 : fr >= 255 ? 255 : fr;
      fg = fg <= 0 ? 0 : fg >= 255 ? 255 : fg;
      fb = fb <= 0 ? 0 : fb >= 255 ? 255 : fb;
      const u1 = m0 * fr + m1 * fg + m2 * fb;
      const us = m3 * fr + m4 * fg + m5 * fb;
      const u2 = m6 * fr + m7 * fg + m8 * fb;
      const uhi = u1 > u2 ? u1 : u2;
      const ulo = u1 > u2 ? u2 : u1;
      const d = (us - uhi * dHi - ulo * dLo) * strength;
      if (d > 0) {
        fr -= d * cr;
        fg -= d * cg;
        fb -= d * cb;
      }
      data[p] = fr <= 0 ? 0 : fr >= 255 ? 255 : (fr + 0.5) | 0;
      data[p + 1] = fg <= 0 ? 0 : fg >= 255 ? 255 : (fg + 0.5) | 0;
      data[p + 2] = fb <= 0 ? 0 : fb >= 255 ? 255 : (fb + 0.5) | 0;
    }
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
  computeAlphaBounds(frame, st.bounds);
}
