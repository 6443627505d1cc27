/**
 * Fast separable blur restricted to a rectangle, for mattes (one channel) and premultiplied RGBA.
 *
 * Model: a gaussian approximated by N box blurs (default 3), each a running sum, so the cost per
 * pixel does not depend on the radius (Wells 1986; box sizes from sigma as in Kutskir's "fastest
 * gaussian blur"). Three boxes are within a few percent of a true gaussian.
 *
 * Use:
 * ```ts
 * // prepare (once per frame size): all allocation happens here
 * const radii = boxRadiiForSigma(sigma);            // e.g. sigma 4 -> [3, 4, 4]
 * const reach = blurReach(radii);                   // pixels the blur spreads: sum of radii
 * const scratch = createBlurScratch(size, 1);       // 1 = one channel, 4 = RGBA
 * // apply (per frame): allocation-free, in place
 * blurChannel(matte, width, height, bounds, radii, scratch);   // Uint8Array, w*h
 * blurRgba(rgba, width, height, bounds, radii, scratch4);      // Uint8Array, w*h*4, PREMULTIPLIED
 * blurChannelF32(heights, width, height, bounds, radii, scratchF32); // Float32Array, w*h
 * ```
 * - `bounds` is the rectangle that is read and written (left/top inclusive, right/bottom exclusive,
 *   clamped to the frame here). Pixels outside it are neither read nor changed. Make it the alpha
 *   bounds grown by `blurReach(radii)` so that nothing the blur spreads is cut off.
 * - Edges of the rectangle are clamped (the edge pixel repeats), so a matte that touches the frame
 *   border stays opaque there instead of fading; inside a grown rectangle the edge is 0 anyway.
 * - RGBA must be premultiplied: blurring straight colour drags the colour of transparent pixels
 *   (green garbage from a keyer) into the edge. See `premultiply.ts`.
 * - Uint8 results are rounded after each pass (error of a level or two); use the Float32 variant
 *   when derivatives are taken of the result (bevel height fields).
 */
import type { Bounds, FrameSize } from '@stickerkey/core';

/** Caller-owned buffers for the Uint8 blurs: one plane the size of the frame, one row of sums. */
export interface BlurScratch {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 4;
  readonly plane: Uint8Array;
  readonly sums: Int32Array;
}

/** Caller-owned buffers for `blurChannelF32`. */
export interface BlurScratchF32 {
  readonly width: number;
  readonly height: number;
  readonly plane: Float32Array;
  readonly sums: Float64Array;
}

export function createBlurScratch(size: FrameSize, channels: 1 | 4): BlurScratch {
  return {
    width: size.width,
    height: size.height,
    channels,
    plane: new Uint8Array(size.width * size.height * channels),
    sums: new Int32Array(size.width * channels),
  };
}

export function createBlurScratchF32(size: FrameSize): BlurScratchF32 {
  return {
    width: size.width,
    height: size.height,
    plane: new Float32Array(size.width * size.height),
    sums: new Float64Array(size.width),
  };
}

/**
 * Radii of `passes` box blurs whose succession approximates a gaussian of standard deviation
 * `sigma` (px). Sigma 0 gives no radii (no blur). Call in prepare: it allocates the array.
 */
export function boxRadiiForSigma(sigma: number, passes = 3): number[] {
  if (!(sigma > 0)) return [];
  // Ideal box width for n passes has variance sigma^2/n each: w = sqrt(12 sigma^2 / n + 1).
  const ideal = Math.sqrt((12 * sigma * sigma) / passes + 1);
  let wl = Math.floor(ideal);
  if (wl % 2 === 0) wl--;
  const wu = wl + 2;
  // m passes use the lower odd width, the rest the upper one, to match the variance.
  const m = Math.round((12 * sigma * sigma - passes * wl * wl - 4 * passes * wl - 3 * passes) / (-4 * wl - 4));
  const radii: number[] = [];
  for (let i = 0; i < passes; i++) {
    const r = ((i < m ? wl : wu) - 1) / 2;
    if (r > 0) radii.push(r);
  }
  return radii;
}

/** How far (px) a blur with these radii spreads a pixel: the sum of the radii. */
export function blurReach(radii: readonly number[]): number {
  let reach = 0;
  for (let i = 0; i < radii.length; i++) reach += radii[i]!;
  return reach;
}

/** Standard deviation (px) of the blur these radii make (each box of width w adds (w^2-1)/12). */
export function blurSigma(radii: readonly number[]): number {
  let v = 0;
  for (let i = 0; i < radii.length; i++) {
    const w = 2 * radii[i]! + 1;
    v += (w * w - 1) / 12;
  }
  return Math.sqrt(v);
}

function clampBounds(bounds: Bounds, width: number, height: number, out: Int32Array): boolean {
  out[0] = Math.max(0, bounds.left);
  out[1] = Math.max(0, bounds.top);
  out[2] = Math.min(width, bounds.right);
  out[3] = Math.min(height, bounds.bottom);
  return out[2]! > out[0]! && out[3]! > out[1]!;
}

// Module-level so that apply stays allocation-free; blurs are synchronous, never re-entered.
const rect = new Int32Array(4);

// ---------------------------------------------------------------- one channel, Uint8

function boxRowsU8(src: Uint8Array, dst: Uint8Array, width: number, x0: number, y0: number, x1: number, y1: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  for (let y = y0; y < y1; y++) {
    const first = y * width + x0;
    const last = y * width + x1 - 1;
    let sum = (r + 1) * src[first]!;
    for (let i = 1; i <= r; i++) sum += src[first + i <= last ? first + i : last]!;
    for (let p = first; p <= last; p++) {
      dst[p] = (sum * inv + 0.5) | 0;
      const add = p + r + 1;
      const sub = p - r;
      sum += src[add <= last ? add : last]! - src[sub >= first ? sub : first]!;
    }
  }
}

function boxColumnsU8(
  src: Uint8Array,
  dst: Uint8Array,
  sums: Int32Array,
  width: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  r: number,
): void {
  const inv = 1 / (2 * r + 1);
  // Sums of a whole row of columns advance together, so every access walks memory in order.
  const top = y0 * width;
  for (let x = x0; x < x1; x++) sums[x] = (r + 1) * src[top + x]!;
  for (let i = 1; i <= r; i++) {
    const row = (y0 + i < y1 ? y0 + i : y1 - 1) * width;
    for (let x = x0; x < x1; x++) sums[x] += src[row + x]!;
  }
  for (let y = y0; y < y1; y++) {
    const row = y * width;
    const addRow = (y + r + 1 < y1 ? y + r + 1 : y1 - 1) * width;
    const subRow = (y - r > y0 ? y - r : y0) * width;
    for (let x = x0; x < x1; x++) {
      const s = sums[x]!;
      dst[row + x] = (s * inv + 0.5) | 0;
      sums[x] = s + src[addRow + x]! - src[subRow + x]!;
    }
  }
}

/** Gaussian-like blur of a one-channel Uint8 plane (w*h), in place, inside `bounds`. */
export function blurChannel(
  data: Uint8Array,
  width: number,
  height: number,
  bounds: Bounds,
  radii: readonly number[],
  scratch: BlurScratch,
): void {
  const passes = radii.length;
  if (passes === 0 || !clampBounds(bounds, width, height, rect)) return;
  const x0 = rect[0]!, y0 = rect[1]!, x1 = rect[2]!, y1 = rect[3]!;
  const tmp = scratch.plane;
  // Passes alternate data -> tmp -> data ...; 2*passes is even, so the result lands in data.
  let k = 0;
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxRowsU8(data, tmp, width, x0, y0, x1, y1, radii[i]!);
    else boxRowsU8(tmp, data, width, x0, y0, x1, y1, radii[i]!);
  }
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxColumnsU8(data, tmp, scratch.sums, width, x0, y0, x1, y1, radii[i]!);
    else boxColumnsU8(tmp, data, scratch.sums, width, x0, y0, x1, y1, radii[i]!);
  }
}

// ---------------------------------------------------------------- one channel, Float32

function boxRowsF32(src: Float32Array, dst: Float32Array, width: number, x0: number, y0: number, x1: number, y1: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  for (let y = y0; y < y1; y++) {
    const first = y * width + x0;
    const last = y * width + x1 - 1;
    let sum = (r + 1) * src[first]!;
    for (let i = 1; i <= r; i++) sum += src[first + i <= last ? first + i : last]!;
    for (let p = first; p <= last; p++) {
      dst[p] = sum * inv;
      const add = p + r + 1;
      const sub = p - r;
      sum += src[add <= last ? add : last]! - src[sub >= first ? sub : first]!;
    }
  }
}

function boxColumnsF32(
  src: Float32Array,
  dst: Float32Array,
  sums: Float64Array,
  width: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  r: number,
): void {
  const inv = 1 / (2 * r + 1);
  const top = y0 * width;
  for (let x = x0; x < x1; x++) sums[x] = (r + 1) * src[top + x]!;
  for (let i = 1; i <= r; i++) {
    const row = (y0 + i < y1 ? y0 + i : y1 - 1) * width;
    for (let x = x0; x < x1; x++) sums[x] += src[row + x]!;
  }
  for (let y = y0; y < y1; y++) {
    const row = y * width;
    const addRow = (y + r + 1 < y1 ? y + r + 1 : y1 - 1) * width;
    const subRow = (y - r > y0 ? y - r : y0) * width;
    for (let x = x0; x < x1; x++) {
      const s = sums[x]!;
      dst[row + x] = s * inv;
      sums[x] = s + src[addRow + x]! - src[subRow + x]!;
    }
  }
}

/** Gaussian-like blur of a one-channel Float32 plane (w*h), in place, inside `bounds`. */
export function blurChannelF32(
  data: Float32Array,
  width: number,
  height: number,
  bounds: Bounds,
  radii: readonly number[],
  scratch: BlurScratchF32,
): void {
  const passes = radii.length;
  if (passes === 0 || !clampBounds(bounds, width, height, rect)) return;
  const x0 = rect[0]!, y0 = rect[1]!, x1 = rect[2]!, y1 = rect[3]!;
  const tmp = scratch.plane;
  let k = 0;
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxRowsF32(data, tmp, width, x0, y0, x1, y1, radii[i]!);
    else boxRowsF32(tmp, data, width, x0, y0, x1, y1, radii[i]!);
  }
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxColumnsF32(data, tmp, scratch.sums, width, x0, y0, x1, y1, radii[i]!);
    else boxColumnsF32(tmp, data, scratch.sums, width, x0, y0, x1, y1, radii[i]!);
  }
}

// ---------------------------------------------------------------- RGBA (premultiplied), Uint8

function boxRowsRgba(src: Uint8Array, dst: Uint8Array, width: number, x0: number, y0: number, x1: number, y1: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  for (let y = y0; y < y1; y++) {
    const first = (y * width + x0) * 4;
    const last = (y * width + x1 - 1) * 4;
    let s0 = (r + 1) * src[first]!;
    let s1 = (r + 1) * src[first + 1]!;
    let s2 = (r + 1) * src[first + 2]!;
    let s3 = (r + 1) * src[first + 3]!;
    for (let i = 1; i <= r; i++) {
      const q = first + 4 * i <= last ? first + 4 * i : last;
      s0 += src[q]!;
      s1 += src[q + 1]!;
      s2 += src[q + 2]!;
      s3 += src[q + 3]!;
    }
    const ahead = 4 * (r + 1);
    const behind = 4 * r;
    for (let p = first; p <= last; p += 4) {
      dst[p] = (s0 * inv + 0.5) | 0;
      dst[p + 1] = (s1 * inv + 0.5) | 0;
      dst[p + 2] = (s2 * inv + 0.5) | 0;
      dst[p + 3] = (s3 * inv + 0.5) | 0;
      const a = p + ahead <= last ? p + ahead : last;
      const b = p - behind >= first ? p - behind : first;
      s0 += src[a]! - src[b]!;
      s1 += src[a + 1]! - src[b + 1]!;
      s2 += src[a + 2]! - src[b + 2]!;
      s3 += src[a + 3]! - src[b + 3]!;
    }
  }
}

function boxColumnsRgba(
  src: Uint8Array,
  dst: Uint8Array,
  sums: Int32Array,
  width: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  r: number,
): void {
  const inv = 1 / (2 * r + 1);
  const stride = width * 4;
  const c0 = x0 * 4;
  const c1 = x1 * 4;
  const top = y0 * stride;
  for (let c = c0; c < c1; c++) sums[c] = (r + 1) * src[top + c]!;
  for (let i = 1; i <= r; i++) {
    const row = (y0 + i < y1 ? y0 + i : y1 - 1) * stride;
    for (let c = c0; c < c1; c++) sums[c] += src[row + c]!;
  }
  for (let y = y0; y < y1; y++) {
    const row = y * stride;
    const addRow = (y + r + 1 < y1 ? y + r + 1 : y1 - 1) * stride;
    const subRow = (y - r > y0 ? y - r : y0) * stride;
    for (let c = c0; c < c1; c++) {
      const s = sums[c]!;
      dst[row + c] = (s * inv + 0.5) | 0;
      sums[c] = s + src[addRow + c]! - src[subRow + c]!;
    }
  }
}

/**
 * Gaussian-like blur of a PREMULTIPLIED RGBA plane (w*h*4), in place, inside `bounds`.
 * `scratch` must have been created with 4 channels.
 */
export function blurRgba(
  data: Uint8Array,
  width: number,
  height: number,
  bounds: Bounds,
  radii: readonly number[],
  scratch: BlurScratch,
): void {
  const passes = radii.length;
  if (passes === 0 || !clampBounds(bounds, width, height, rect)) return;
  const x0 = rect[0]!, y0 = rect[1]!, x1 = rect[2]!, y1 = rect[3]!;
  const tmp = scratch.plane;
  let k = 0;
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxRowsRgba(data, tmp, width, x0, y0, x1, y1, radii[i]!);
    else boxRowsRgba(tmp, data, width, x0, y0, x1, y1, radii[i]!);
  }
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxColumnsRgba(data, tmp, scratch.sums, width, x0, y0, x1, y1, radii[i]!);
    else boxColumnsRgba(tmp, data, scratch.sums, width, x0, y0, x1, y1, radii[i]!);
  }
}
