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
 * - A matte that is 0 over most of its rectangle (a character's box around its silhouette) can be
 *   blurred only where it is not: `blurChannelSpans` / `blurChannelF32Spans` take, per row, the
 *   columns where it may be non-zero, and give the same result as the full blur.
 */
import type { Bounds, FrameSize } from '@stickerkey/core/effect';
import { clampToFrame, type RowSpans } from './row-spans.js';

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

/**
 * Caller-owned buffers for the span-restricted blurs. The plane is kept all 0 between calls (each
 * call clears what it wrote), so only a span blur may use it. Per row: the columns each pass
 * writes, and two sets of flat runs (those of a pass's input and of its output).
 */
export interface SpanBlurScratch<Plane extends Uint8Array | Float32Array, Sums extends Int32Array | Float64Array> {
  readonly width: number;
  readonly height: number;
  readonly plane: Plane;
  readonly sums: Sums;
  readonly rowLeft: Int32Array;
  readonly rowRight: Int32Array;
  readonly runs: readonly [Int32Array, Int32Array, Int32Array, Int32Array];
}
// The box passes come in twins, one for Uint8 mattes and one for Float32 height fields, with the
// same body: one function taking either array type would see both at each access and V8 would
// compile it for both (polymorphic loads), which costs the hot loops more than the copy costs us.
export type SpanBlurScratchU8 = SpanBlurScratch<Uint8Array, Int32Array>;
export type SpanBlurScratchF32 = SpanBlurScratch<Float32Array, Float64Array>;

export function createSpanBlurScratchU8(size: FrameSize): SpanBlurScratchU8 {
  return spanScratch(size, new Uint8Array(size.width * size.height), new Int32Array(size.width));
}

export function createSpanBlurScratchF32(size: FrameSize): SpanBlurScratchF32 {
  return spanScratch(size, new Float32Array(size.width * size.height), new Float64Array(size.width));
}

function spanScratch<P extends Uint8Array | Float32Array, S extends Int32Array | Float64Array>(size: FrameSize, plane: P, sums: S): SpanBlurScratch<P, S> {
  const rows = () => new Int32Array(size.height);
  return { width: size.width, height: size.height, plane, sums, rowLeft: rows(), rowRight: rows(), runs: [rows(), rows(), rows(), rows()] };
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
  for (let i = 0; i < radii.length; i++) reach += radii[i];
  return reach;
}

/** Standard deviation (px) of the blur these radii make (each box of width w adds (w^2-1)/12). */
export function blurSigma(radii: readonly number[]): number {
  let v = 0;
  for (let i = 0; i < radii.length; i++) {
    const w = 2 * radii[i] + 1;
    v += (w * w - 1) / 12;
  }
  return Math.sqrt(v);
}

// Module-level so that apply stays allocation-free; blurs are synchronous, never re-entered.
const rect = new Int32Array(4);

// ---------------------------------------------------------------- one channel, Uint8

function boxRowsU8(src: Uint8Array, dst: Uint8Array, width: number, x0: number, y0: number, x1: number, y1: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  for (let y = y0; y < y1; y++) {
    const first = y * width + x0;
    const last = y * width + x1 - 1;
    let sum = (r + 1) * src[first];
    for (let i = 1; i <= r; i++) sum += src[first + i <= last ? first + i : last];
    for (let p = first; p <= last; p++) {
      dst[p] = (sum * inv + 0.5) | 0;
      const add = p + r + 1;
      const sub = p - r;
      sum += src[add <= last ? add : last] - src[sub >= first ? sub : first];
    }
  }
}

function boxColumnsU8(src: Uint8Array, dst: Uint8Array, sums: Int32Array, width: number, x0: number, y0: number, x1: number, y1: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  // Sums of a whole row of columns advance together, so every access walks memory in order.
  const top = y0 * width;
  for (let x = x0; x < x1; x++) sums[x] = (r + 1) * src[top + x];
  for (let i = 1; i <= r; i++) {
    const row = (y0 + i < y1 ? y0 + i : y1 - 1) * width;
    for (let x = x0; x < x1; x++) sums[x] += src[row + x];
  }
  for (let y = y0; y < y1; y++) {
    const row = y * width;
    const addRow = (y + r + 1 < y1 ? y + r + 1 : y1 - 1) * width;
    const subRow = (y - r > y0 ? y - r : y0) * width;
    for (let x = x0; x < x1; x++) {
      const s = sums[x];
      dst[row + x] = (s * inv + 0.5) | 0;
      sums[x] = s + src[addRow + x] - src[subRow + x];
    }
  }
}

/** Gaussian-like blur of a one-channel Uint8 plane (w*h), in place, inside `bounds`. */
export function blurChannel(data: Uint8Array, width: number, height: number, bounds: Bounds, radii: readonly number[], scratch: BlurScratch): void {
  const passes = radii.length;
  if (passes === 0 || !clampToFrame(bounds, width, height, rect)) return;
  const x0 = rect[0],
    y0 = rect[1],
    x1 = rect[2],
    y1 = rect[3];
  const tmp = scratch.plane;
  // Passes alternate data -> tmp -> data ...; 2*passes is even, so the result lands in data.
  let k = 0;
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxRowsU8(data, tmp, width, x0, y0, x1, y1, radii[i]);
    else boxRowsU8(tmp, data, width, x0, y0, x1, y1, radii[i]);
  }
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxColumnsU8(data, tmp, scratch.sums, width, x0, y0, x1, y1, radii[i]);
    else boxColumnsU8(tmp, data, scratch.sums, width, x0, y0, x1, y1, radii[i]);
  }
}

// ---------------------------------------------------------------- one channel, Float32

function boxRowsF32(src: Float32Array, dst: Float32Array, width: number, x0: number, y0: number, x1: number, y1: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  for (let y = y0; y < y1; y++) {
    const first = y * width + x0;
    const last = y * width + x1 - 1;
    let sum = (r + 1) * src[first];
    for (let i = 1; i <= r; i++) sum += src[first + i <= last ? first + i : last];
    for (let p = first; p <= last; p++) {
      dst[p] = sum * inv;
      const add = p + r + 1;
      const sub = p - r;
      sum += src[add <= last ? add : last] - src[sub >= first ? sub : first];
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
  for (let x = x0; x < x1; x++) sums[x] = (r + 1) * src[top + x];
  for (let i = 1; i <= r; i++) {
    const row = (y0 + i < y1 ? y0 + i : y1 - 1) * width;
    for (let x = x0; x < x1; x++) sums[x] += src[row + x];
  }
  for (let y = y0; y < y1; y++) {
    const row = y * width;
    const addRow = (y + r + 1 < y1 ? y + r + 1 : y1 - 1) * width;
    const subRow = (y - r > y0 ? y - r : y0) * width;
    for (let x = x0; x < x1; x++) {
      const s = sums[x];
      dst[row + x] = s * inv;
      sums[x] = s + src[addRow + x] - src[subRow + x];
    }
  }
}

/** Gaussian-like blur of a one-channel Float32 plane (w*h), in place, inside `bounds`. */
export function blurChannelF32(data: Float32Array, width: number, height: number, bounds: Bounds, radii: readonly number[], scratch: BlurScratchF32): void {
  const passes = radii.length;
  if (passes === 0 || !clampToFrame(bounds, width, height, rect)) return;
  const x0 = rect[0],
    y0 = rect[1],
    x1 = rect[2],
    y1 = rect[3];
  const tmp = scratch.plane;
  let k = 0;
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxRowsF32(data, tmp, width, x0, y0, x1, y1, radii[i]);
    else boxRowsF32(tmp, data, width, x0, y0, x1, y1, radii[i]);
  }
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxColumnsF32(data, tmp, scratch.sums, width, x0, y0, x1, y1, radii[i]);
    else boxColumnsF32(tmp, data, scratch.sums, width, x0, y0, x1, y1, radii[i]);
  }
}

// ---------------------------------------------------------------- RGBA (premultiplied), Uint8

function boxRowsRgba(src: Uint8Array, dst: Uint8Array, width: number, x0: number, y0: number, x1: number, y1: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  for (let y = y0; y < y1; y++) {
    const first = (y * width + x0) * 4;
    const last = (y * width + x1 - 1) * 4;
    let s0 = (r + 1) * src[first];
    let s1 = (r + 1) * src[first + 1];
    let s2 = (r + 1) * src[first + 2];
    let s3 = (r + 1) * src[first + 3];
    for (let i = 1; i <= r; i++) {
      const q = first + 4 * i <= last ? first + 4 * i : last;
      s0 += src[q];
      s1 += src[q + 1];
      s2 += src[q + 2];
      s3 += src[q + 3];
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
      s0 += src[a] - src[b];
      s1 += src[a + 1] - src[b + 1];
      s2 += src[a + 2] - src[b + 2];
      s3 += src[a + 3] - src[b + 3];
    }
  }
}

function boxColumnsRgba(src: Uint8Array, dst: Uint8Array, sums: Int32Array, width: number, x0: number, y0: number, x1: number, y1: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  const stride = width * 4;
  const c0 = x0 * 4;
  const c1 = x1 * 4;
  const top = y0 * stride;
  for (let c = c0; c < c1; c++) sums[c] = (r + 1) * src[top + c];
  for (let i = 1; i <= r; i++) {
    const row = (y0 + i < y1 ? y0 + i : y1 - 1) * stride;
    for (let c = c0; c < c1; c++) sums[c] += src[row + c];
  }
  for (let y = y0; y < y1; y++) {
    const row = y * stride;
    const addRow = (y + r + 1 < y1 ? y + r + 1 : y1 - 1) * stride;
    const subRow = (y - r > y0 ? y - r : y0) * stride;
    for (let c = c0; c < c1; c++) {
      const s = sums[c];
      dst[row + c] = (s * inv + 0.5) | 0;
      sums[c] = s + src[addRow + c] - src[subRow + c];
    }
  }
}

/**
 * Gaussian-like blur of a PREMULTIPLIED RGBA plane (w*h*4), in place, inside `bounds`.
 * `scratch` must have been created with 4 channels.
 */
export function blurRgba(data: Uint8Array, width: number, height: number, bounds: Bounds, radii: readonly number[], scratch: BlurScratch): void {
  const passes = radii.length;
  if (passes === 0 || !clampToFrame(bounds, width, height, rect)) return;
  const x0 = rect[0],
    y0 = rect[1],
    x1 = rect[2],
    y1 = rect[3];
  const tmp = scratch.plane;
  let k = 0;
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxRowsRgba(data, tmp, width, x0, y0, x1, y1, radii[i]);
    else boxRowsRgba(tmp, data, width, x0, y0, x1, y1, radii[i]);
  }
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxColumnsRgba(data, tmp, scratch.sums, width, x0, y0, x1, y1, radii[i]);
    else boxColumnsRgba(tmp, data, scratch.sums, width, x0, y0, x1, y1, radii[i]);
  }
}

// ---------------------------------------------------------------- one channel, only where not 0
//
// A character's matte is 0 over about half of its bounding box (the screen around it, per row
// outside its first and last visible pixel), and a box blur of zeros is zeros. So each row pass
// runs only over the row's input span grown by the blur's reach, and each column pass only over
// the hull of those spans on the rows within reach: what lies outside stays 0 without being
// computed. Both planes are 0 outside what is written, the caller's by contract and the scratch
// by clearing after use, so every read outside the spans sees the 0 the full blur would compute.
// Same result as the full blur (running sums of the same values in the same order, starting from
// the same all-0 windows), at about the cost of the spans instead of the rectangle.

/**
 * Row pass spans (scratch.rowLeft/rowRight: input span grown by `reach`, empty = [x1, x0)) and
 * column pass spans, written to `spans`: the hull of the row pass spans over the rows within
 * `reach + 1`. Within `reach` covers every non-zero value the column passes can make; the extra
 * row means a column that joins a row's span has an all-0 window there, so its running sum
 * restarts at exactly 0 instead of being carried over the rows where it was not computed.
 */
function passSpans(x0: number, y0: number, x1: number, y1: number, reach: number, spans: RowSpans, rowLeft: Int32Array, rowRight: Int32Array): void {
  const { left, right } = spans;
  for (let y = y0; y < y1; y++) {
    const l = left[y] - reach;
    const r = right[y] + reach;
    if (left[y] < right[y] && l < x1 && r > x0) {
      rowLeft[y] = l > x0 ? l : x0;
      rowRight[y] = r < x1 ? r : x1;
    } else {
      rowLeft[y] = x1;
      rowRight[y] = x0;
    }
  }
  const around = reach + 1;
  for (let y = y0; y < y1; y++) {
    let lo = x1;
    let hi = x0;
    const from = y - around > y0 ? y - around : y0;
    const to = y + around + 1 < y1 ? y + around + 1 : y1;
    for (let yy = from; yy < to; yy++) {
      if (rowLeft[yy] < lo) lo = rowLeft[yy]!;
      if (rowRight[yy] > hi) hi = rowRight[yy]!;
    }
    left[y] = lo;
    right[y] = hi;
  }
}

/**
 * Flat runs: per row, one run of columns where a pass's input holds `level` (the opaque inside of
 * a character: about as much of the spans as the edge band around it). A box of radius r over a
 * run of one value gives that value, exactly: the running sum holds (2r + 1) level, and rounding
 * (2r + 1) level / (2r + 1) gives level back. So a row pass writes level without summing over its
 * run shrunk by r at both ends, and a column pass over the intersection of the runs of the rows
 * within r. A column sum not kept up to date there is recomputed from its window where the column
 * leaves the run (about one pass row per run's lower end).
 */

/** Flat runs of the input, within the row pass spans; empty (0, 0) without `flat`. */
function startRuns(y0: number, y1: number, flat: RowSpans | null, rowLeft: Int32Array, rowRight: Int32Array, runLeft: Int32Array, runRight: Int32Array): void {
  for (let y = y0; y < y1; y++) {
    let l = 0;
    let r = 0;
    if (flat !== null) {
      l = flat.left[y] > rowLeft[y] ? flat.left[y] : rowLeft[y];
      r = flat.right[y] < rowRight[y] ? flat.right[y] : rowRight[y];
    }
    runLeft[y] = l < r ? l : 0;
    runRight[y] = l < r ? r : 0;
  }
}

/** Flat runs after a column pass of radius r: per row, the intersection of the runs of the rows within r. */
function columnRuns(y0: number, y1: number, r: number, inLeft: Int32Array, inRight: Int32Array, outLeft: Int32Array, outRight: Int32Array): void {
  for (let y = y0; y < y1; y++) {
    let l = inLeft[y];
    let h = inRight[y];
    const from = y - r > y0 ? y - r : y0;
    const to = y + r + 1 < y1 ? y + r + 1 : y1;
    for (let yy = from; yy < to && l < h; yy++) {
      if (inLeft[yy] > l) l = inLeft[yy]!;
      if (inRight[yy] < h) h = inRight[yy]!;
    }
    outLeft[y] = l < h ? l : 0;
    outRight[y] = l < h ? h : 0;
  }
}

function boxRowSpansU8(
  src: Uint8Array,
  dst: Uint8Array,
  width: number,
  y0: number,
  y1: number,
  rowLeft: Int32Array,
  rowRight: Int32Array,
  r: number,
  runLeft: Int32Array,
  runRight: Int32Array,
  level: number,
): void {
  const inv = 1 / (2 * r + 1);
  for (let y = y0; y < y1; y++) {
    if (rowLeft[y] >= rowRight[y]) continue;
    const row = y * width;
    const first = row + rowLeft[y];
    const last = row + rowRight[y] - 1;
    // The flat run, shrunk by r: written as level, summed over no more (its new extent is kept).
    let flatFrom = last + 1;
    let flatTo = last + 1;
    if (runLeft[y] + r < runRight[y] - r) {
      runLeft[y] = runLeft[y] + r;
      runRight[y] = runRight[y] - r;
      flatFrom = row + runLeft[y];
      flatTo = row + runRight[y];
    } else {
      runLeft[y] = runRight[y] = 0;
    }
    let sum = (r + 1) * src[first];
    for (let i = 1; i <= r; i++) sum += src[first + i <= last ? first + i : last];
    for (let p = first; p < flatFrom; p++) {
      dst[p] = (sum * inv + 0.5) | 0;
      const add = p + r + 1;
      const sub = p - r;
      sum += src[add <= last ? add : last] - src[sub >= first ? sub : first];
    }
    if (flatFrom > last) continue;
    dst.fill(level, flatFrom, flatTo);
    sum = 0;
    for (let i = flatTo - r; i <= flatTo + r; i++) sum += src[i <= last ? i : last];
    for (let p = flatTo; p <= last; p++) {
      dst[p] = (sum * inv + 0.5) | 0;
      const add = p + r + 1;
      const sub = p - r;
      sum += src[add <= last ? add : last] - src[sub >= first ? sub : first];
    }
  }
}

/** Sums of columns [from, to) over the window of rows around y (clamped as the running sums are). */
function columnSumsU8(src: Uint8Array, sums: Int32Array, width: number, y: number, y0: number, y1: number, r: number, from: number, to: number): void {
  for (let x = from; x < to; x++) {
    let sum = 0;
    for (let i = -r; i <= r; i++) sum += src[(y + i < y0 ? y0 : y + i >= y1 ? y1 - 1 : y + i) * width + x];
    sums[x] = sum;
  }
}

function boxColumnSpansU8(
  src: Uint8Array,
  dst: Uint8Array,
  sums: Int32Array,
  width: number,
  y0: number,
  y1: number,
  left: Int32Array,
  right: Int32Array,
  r: number,
  flatLeft: Int32Array,
  flatRight: Int32Array,
  level: number,
): void {
  const inv = 1 / (2 * r + 1);
  // Columns whose running sums are up to date: those of the previous row's span, but its flat run.
  let liveFrom = 0;
  let liveTo = 0;
  let staleFrom = 0;
  let staleTo = 0;
  for (let y = y0; y < y1; y++) {
    const from = left[y];
    const to = right[y];
    if (from >= to) {
      liveFrom = liveTo = staleFrom = staleTo = 0;
      continue;
    }
    // Computed: [from, flatFrom) and [flatTo, to); the flat run between is written as level.
    let flatFrom = to;
    let flatTo = to;
    if (flatLeft[y] < flatRight[y]) {
      flatFrom = flatLeft[y]!;
      flatTo = flatRight[y]!;
    }
    if (y === y0) {
      const top = y0 * width;
      for (let x = from; x < to; x++) sums[x] = (r + 1) * src[top + x];
      for (let i = 1; i <= r; i++) {
        const row = (y0 + i < y1 ? y0 + i : y1 - 1) * width;
        for (let x = from; x < to; x++) sums[x] += src[row + x];
      }
    } else {
      // Columns joining the span: their window is all 0 (see passSpans). Columns leaving the
      // flat run: their sums stopped there, so they are summed anew over their window.
      sums.fill(0, from, to < liveFrom ? to : liveFrom);
      sums.fill(0, from > liveTo ? from : liveTo, to);
      const a = staleFrom > from ? staleFrom : from;
      const b = staleTo < to ? staleTo : to;
      columnSumsU8(src, sums, width, y, y0, y1, r, a, b < flatFrom ? b : flatFrom);
      columnSumsU8(src, sums, width, y, y0, y1, r, a > flatTo ? a : flatTo, b);
    }
    liveFrom = from;
    liveTo = to;
    staleFrom = flatFrom;
    staleTo = flatTo;
    const row = y * width;
    const addRow = (y + r + 1 < y1 ? y + r + 1 : y1 - 1) * width;
    const subRow = (y - r > y0 ? y - r : y0) * width;
    // Two loops, before and after the flat run, rather than a test for it on every column.
    const meetsFlat = flatFrom >= from && flatFrom < to;
    for (let x = from, end = meetsFlat ? flatFrom : to; x < end; x++) {
      const s = sums[x];
      dst[row + x] = (s * inv + 0.5) | 0;
      sums[x] = s + src[addRow + x] - src[subRow + x];
    }
    if (!meetsFlat) continue;
    dst.fill(level, row + flatFrom, row + flatTo);
    for (let x = flatTo; x < to; x++) {
      const s = sums[x];
      dst[row + x] = (s * inv + 0.5) | 0;
      sums[x] = s + src[addRow + x] - src[subRow + x];
    }
  }
}

/**
 * `blurChannel`, computed only near the non-zero values: on entry, per row of `bounds`, `data` is
 * 0 outside [spans.left, spans.right); on return `spans` holds the columns where the result may
 * be non-zero, and it is 0 elsewhere in `bounds`. Rows outside `bounds` are left alone, spans
 * included. With `flat`: per row, a run of columns where `data` is `level` on entry, and on
 * return one where the result is (it shrinks by the reach); computing is skipped there. Result
 * identical to `blurChannel`'s.
 */
export function blurChannelSpans(
  data: Uint8Array,
  width: number,
  height: number,
  bounds: Bounds,
  radii: readonly number[],
  spans: RowSpans,
  scratch: SpanBlurScratchU8,
  flat: RowSpans | null = null,
  level = 0,
): void {
  const passes = radii.length;
  if (passes === 0 || !clampToFrame(bounds, width, height, rect)) return;
  const x0 = rect[0],
    y0 = rect[1],
    x1 = rect[2],
    y1 = rect[3];
  const { plane: tmp, rowLeft, rowRight, sums } = scratch;
  passSpans(x0, y0, x1, y1, blurReach(radii), spans, rowLeft, rowRight);
  // Flat runs of the current pass's input, and of its output (column passes), swapped after each.
  let runLeft = scratch.runs[0];
  let runRight = scratch.runs[1];
  let nextLeft = scratch.runs[2];
  let nextRight = scratch.runs[3];
  startRuns(y0, y1, flat, rowLeft, rowRight, runLeft, runRight);
  let k = 0;
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxRowSpansU8(data, tmp, width, y0, y1, rowLeft, rowRight, radii[i], runLeft, runRight, level);
    else boxRowSpansU8(tmp, data, width, y0, y1, rowLeft, rowRight, radii[i], runLeft, runRight, level);
  }
  for (let i = 0; i < passes; i++, k++) {
    columnRuns(y0, y1, radii[i], runLeft, runRight, nextLeft, nextRight);
    const inLeft = runLeft;
    const inRight = runRight;
    runLeft = nextLeft;
    runRight = nextRight;
    nextLeft = inLeft;
    nextRight = inRight;
    if (k % 2 === 0) boxColumnSpansU8(data, tmp, sums, width, y0, y1, spans.left, spans.right, radii[i], runLeft, runRight, level);
    else boxColumnSpansU8(tmp, data, sums, width, y0, y1, spans.left, spans.right, radii[i], runLeft, runRight, level);
  }
  // Every pass wrote within the column spans: clearing them leaves the scratch all 0.
  for (let y = y0; y < y1; y++) if (spans.left[y] < spans.right[y]) tmp.fill(0, y * width + spans.left[y], y * width + spans.right[y]);
  if (flat !== null) {
    for (let y = y0; y < y1; y++) {
      flat.left[y] = runLeft[y]!;
      flat.right[y] = runRight[y]!;
    }
  }
}

function boxRowSpansF32(
  src: Float32Array,
  dst: Float32Array,
  width: number,
  y0: number,
  y1: number,
  rowLeft: Int32Array,
  rowRight: Int32Array,
  r: number,
  runLeft: Int32Array,
  runRight: Int32Array,
  level: number,
): void {
  const inv = 1 / (2 * r + 1);
  for (let y = y0; y < y1; y++) {
    if (rowLeft[y] >= rowRight[y]) continue;
    const row = y * width;
    const first = row + rowLeft[y];
    const last = row + rowRight[y] - 1;
    // The flat run, shrunk by r: written as level, summed over no more (its new extent is kept).
    let flatFrom = last + 1;
    let flatTo = last + 1;
    if (runLeft[y] + r < runRight[y] - r) {
      runLeft[y] = runLeft[y] + r;
      runRight[y] = runRight[y] - r;
      flatFrom = row + runLeft[y];
      flatTo = row + runRight[y];
    } else {
      runLeft[y] = runRight[y] = 0;
    }
    let sum = (r + 1) * src[first];
    for (let i = 1; i <= r; i++) sum += src[first + i <= last ? first + i : last];
    for (let p = first; p < flatFrom; p++) {
      dst[p] = sum * inv;
      const add = p + r + 1;
      const sub = p - r;
      sum += src[add <= last ? add : last] - src[sub >= first ? sub : first];
    }
    if (flatFrom > last) continue;
    dst.fill(level, flatFrom, flatTo);
    sum = 0;
    for (let i = flatTo - r; i <= flatTo + r; i++) sum += src[i <= last ? i : last];
    for (let p = flatTo; p <= last; p++) {
      dst[p] = sum * inv;
      const add = p + r + 1;
      const sub = p - r;
      sum += src[add <= last ? add : last] - src[sub >= first ? sub : first];
    }
  }
}

/** Sums of columns [from, to) over the window of rows around y (clamped as the running sums are). */
function columnSumsF32(src: Float32Array, sums: Float64Array, width: number, y: number, y0: number, y1: number, r: number, from: number, to: number): void {
  for (let x = from; x < to; x++) {
    let sum = 0;
    for (let i = -r; i <= r; i++) sum += src[(y + i < y0 ? y0 : y + i >= y1 ? y1 - 1 : y + i) * width + x];
    sums[x] = sum;
  }
}

function boxColumnSpansF32(
  src: Float32Array,
  dst: Float32Array,
  sums: Float64Array,
  width: number,
  y0: number,
  y1: number,
  left: Int32Array,
  right: Int32Array,
  r: number,
  flatLeft: Int32Array,
  flatRight: Int32Array,
  level: number,
): void {
  const inv = 1 / (2 * r + 1);
  // Columns whose running sums are up to date: those of the previous row's span, but its flat run.
  let liveFrom = 0;
  let liveTo = 0;
  let staleFrom = 0;
  let staleTo = 0;
  for (let y = y0; y < y1; y++) {
    const from = left[y];
    const to = right[y];
    if (from >= to) {
      liveFrom = liveTo = staleFrom = staleTo = 0;
      continue;
    }
    // Computed: [from, flatFrom) and [flatTo, to); the flat run between is written as level.
    let flatFrom = to;
    let flatTo = to;
    if (flatLeft[y] < flatRight[y]) {
      flatFrom = flatLeft[y]!;
      flatTo = flatRight[y]!;
    }
    if (y === y0) {
      const top = y0 * width;
      for (let x = from; x < to; x++) sums[x] = (r + 1) * src[top + x];
      for (let i = 1; i <= r; i++) {
        const row = (y0 + i < y1 ? y0 + i : y1 - 1) * width;
        for (let x = from; x < to; x++) sums[x] += src[row + x];
      }
    } else {
      // Columns joining the span: their window is all 0 (see passSpans). Columns leaving the
      // flat run: their sums stopped there, so they are summed anew over their window.
      sums.fill(0, from, to < liveFrom ? to : liveFrom);
      sums.fill(0, from > liveTo ? from : liveTo, to);
      const a = staleFrom > from ? staleFrom : from;
      const b = staleTo < to ? staleTo : to;
      columnSumsF32(src, sums, width, y, y0, y1, r, a, b < flatFrom ? b : flatFrom);
      columnSumsF32(src, sums, width, y, y0, y1, r, a > flatTo ? a : flatTo, b);
    }
    liveFrom = from;
    liveTo = to;
    staleFrom = flatFrom;
    staleTo = flatTo;
    const row = y * width;
    const addRow = (y + r + 1 < y1 ? y + r + 1 : y1 - 1) * width;
    const subRow = (y - r > y0 ? y - r : y0) * width;
    // Two loops, before and after the flat run, rather than a test for it on every column.
    const meetsFlat = flatFrom >= from && flatFrom < to;
    for (let x = from, end = meetsFlat ? flatFrom : to; x < end; x++) {
      const s = sums[x];
      dst[row + x] = s * inv;
      sums[x] = s + src[addRow + x] - src[subRow + x];
    }
    if (!meetsFlat) continue;
    dst.fill(level, row + flatFrom, row + flatTo);
    for (let x = flatTo; x < to; x++) {
      const s = sums[x];
      dst[row + x] = s * inv;
      sums[x] = s + src[addRow + x] - src[subRow + x];
    }
  }
}

/** `blurChannelF32`, computed only near the non-zero values: the contract of `blurChannelSpans`. */
export function blurChannelF32Spans(
  data: Float32Array,
  width: number,
  height: number,
  bounds: Bounds,
  radii: readonly number[],
  spans: RowSpans,
  scratch: SpanBlurScratchF32,
  flat: RowSpans | null = null,
  level = 0,
): void {
  const passes = radii.length;
  if (passes === 0 || !clampToFrame(bounds, width, height, rect)) return;
  const x0 = rect[0],
    y0 = rect[1],
    x1 = rect[2],
    y1 = rect[3];
  const { plane: tmp, rowLeft, rowRight, sums } = scratch;
  passSpans(x0, y0, x1, y1, blurReach(radii), spans, rowLeft, rowRight);
  // Flat runs of the current pass's input, and of its output (column passes), swapped after each.
  let runLeft = scratch.runs[0];
  let runRight = scratch.runs[1];
  let nextLeft = scratch.runs[2];
  let nextRight = scratch.runs[3];
  startRuns(y0, y1, flat, rowLeft, rowRight, runLeft, runRight);
  let k = 0;
  for (let i = 0; i < passes; i++, k++) {
    if (k % 2 === 0) boxRowSpansF32(data, tmp, width, y0, y1, rowLeft, rowRight, radii[i], runLeft, runRight, level);
    else boxRowSpansF32(tmp, data, width, y0, y1, rowLeft, rowRight, radii[i], runLeft, runRight, level);
  }
  for (let i = 0; i < passes; i++, k++) {
    columnRuns(y0, y1, radii[i], runLeft, runRight, nextLeft, nextRight);
    const inLeft = runLeft;
    const inRight = runRight;
    runLeft = nextLeft;
    runRight = nextRight;
    nextLeft = inLeft;
    nextRight = inRight;
    if (k % 2 === 0) boxColumnSpansF32(data, tmp, sums, width, y0, y1, spans.left, spans.right, radii[i], runLeft, runRight, level);
    else boxColumnSpansF32(tmp, data, sums, width, y0, y1, spans.left, spans.right, radii[i], runLeft, runRight, level);
  }
  // Every pass wrote within the column spans: clearing them leaves the scratch all 0.
  for (let y = y0; y < y1; y++) if (spans.left[y] < spans.right[y]) tmp.fill(0, y * width + spans.left[y], y * width + spans.right[y]);
  if (flat !== null) {
    for (let y = y0; y < y1; y++) {
      flat.left[y] = runLeft[y]!;
      flat.right[y] = runRight[y]!;
    }
  }
}
