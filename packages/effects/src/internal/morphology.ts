/**
 * Grow and shrink one-channel mattes (Uint8, w*h), restricted to a rectangle, allocation-free.
 *
 * Two families:
 * - Square, grayscale (keeps soft edges as they are, just moves them): max/min over a
 *   (2r+1)x(2r+1) square, separable, van Herk / Gil-Werman, so about three comparisons per pixel
 *   whatever the radius.
 *   ```ts
 *   const sq = createSquareScratch(size, maxRadius);          // prepare
 *   dilateSquare(matte, width, height, bounds, r, sq);        // apply: grow by r px (integer)
 *   erodeSquare(matte, width, height, bounds, r, sq);         // apply: shrink by r px
 *   ```
 * - Round (what a sticker border or a choke should look like: corners stay round): an exact
 *   euclidean distance transform (Felzenszwalb & Huttenlocher 2012) of the matte thresholded at
 *   `threshold`, then a one-pixel anti-aliased ramp. Radii may be fractional.
 *   ```ts
 *   const ds = createDistanceScratch(size);                   // prepare
 *   squaredDistance(matte, width, height, bounds, 128, false, ds);  // ds.dist[p] = squared px
 *   // only distances below 14 px needed, read straight from the alpha of an RGBA frame:
 *   squaredDistance(frame.data, width, height, bounds, 128, false, ds, 14, 4, 3);
 *   dilateRound(matte, width, height, bounds, 2.5, ds);       // grow by 2.5 px
 *   erodeRound(matte, width, height, bounds, 2.5, ds);        // shrink by 2.5 px
 *   // only near the character (spans from ./row-spans.ts): per row, the columns within 13 px
 *   // of its span on rows within 13
 *   findRowSpans(frame.data, width, height, bounds, 128, spans, 4, 3);
 *   widenRowSpans(spans, width, height, bounds, 13, windows);
 *   squaredDistance(frame.data, width, height, bounds, 128, false, ds, 14, 4, 3, windows);
 *   // and not inside it: per row, its longest opaque run, narrowed by 1 px (inverted: by cap - 1)
 *   findSolidRuns(frame.data, width, height, bounds, 255, spans, runs, 4, 3);
 *   narrowRowSpans(runs, width, height, bounds, 1, inside);
 *   squaredDistance(frame.data, width, height, bounds, 128, false, ds, 14, 4, 3, windows, inside);
 *   ```
 *   Squared distances between pixel centres are integers, so callers can map them through a
 *   lookup table indexed by the squared distance instead of taking a square root per pixel.
 *   `ds.dist` is a Float32Array(w*h); pixels that have no feature pixel inside the rectangle get
 *   `NO_FEATURE` (1e20).
 *
 * `bounds` (left/top inclusive, right/bottom exclusive) is the rectangle read and written; pixels
 * outside it are ignored (not treated as zeros, not changed). For a grow, pass the alpha bounds
 * expanded by the radius (plus one), or the grown edge is cut off.
 */
import type { Bounds, FrameSize } from '@stickerkey/core/effect';
import { clampToFrame, createRowSpans, type RowSpans } from './row-spans.js';

/** Squared distance written where no feature pixel exists in the rectangle. */
export const NO_FEATURE = 1e20;

export interface SquareScratch {
  readonly width: number;
  readonly height: number;
  readonly maxRadius: number;
  /** Transposed intermediate between the row pass and the column pass. */
  readonly plane: Uint8Array;
  readonly g: Uint8Array;
  readonly h: Uint8Array;
}

export function createSquareScratch(size: FrameSize, maxRadius: number): SquareScratch {
  const r = Math.max(0, Math.ceil(maxRadius));
  const line = Math.max(size.width, size.height) + 2 * r + 1;
  return {
    width: size.width,
    height: size.height,
    maxRadius: r,
    plane: new Uint8Array(size.width * size.height),
    g: new Uint8Array(line),
    h: new Uint8Array(line),
  };
}

export interface DistanceScratch {
  readonly width: number;
  readonly height: number;
  /** Squared euclidean distance (px^2) to the nearest feature pixel, per pixel of the frame. */
  readonly dist: Float32Array;
  readonly f: Float64Array;
  readonly v: Int32Array;
  readonly z: Float64Array;
  /** Per frame row: the columns the transform works on (the whole rectangle unless given windows). */
  readonly rows: RowSpans;
  /** Per frame row: the columns inside it that it skips (none unless given `inner`). */
  readonly skipped: RowSpans;
}

export function createDistanceScratch(size: FrameSize): DistanceScratch {
  const line = Math.max(size.width, size.height);
  return {
    width: size.width,
    height: size.height,
    dist: new Float32Array(size.width * size.height),
    f: new Float64Array(line),
    v: new Int32Array(line),
    z: new Float64Array(line + 1),
    rows: createRowSpans(size.height),
    skipped: createRowSpans(size.height),
  };
}

/** The rectangle a call works on, clamped to the frame: scratch shared by the functions below. */
const rect = new Int32Array(4);

// ---------------------------------------------------------------- square (van Herk / Gil-Werman)

/**
 * Max over a window of 2r+1 along one line of n values read at src[s0 + i*ss], written at
 * dst[d0 + i*ds]. `flip` is 0 for max or 255 for min (min(a,b) = 255 - max(255-a, 255-b), and
 * 255-v = v^255 for bytes), so one loop serves both without a branch per pixel. Values beyond the
 * line count as the identity (0 after flipping), i.e. the window shrinks at the ends.
 */
function vhgwLine(
  src: Uint8Array,
  s0: number,
  ss: number,
  dst: Uint8Array,
  d0: number,
  ds: number,
  n: number,
  r: number,
  flip: number,
  g: Uint8Array,
  h: Uint8Array,
): void {
  const k = 2 * r + 1;
  const padded = n + 2 * r;
  // g: running max from the start of each block of k; h: from the end of each block.
  for (let i = 0; i < padded; i++) {
    const q = i - r;
    const value = q >= 0 && q < n ? src[s0 + q * ss] ^ flip : 0;
    if (i % k === 0) g[i] = value;
    else {
      const prev = g[i - 1];
      g[i] = prev > value ? prev : value;
    }
  }
  for (let i = padded - 1; i >= 0; i--) {
    const q = i - r;
    const value = q >= 0 && q < n ? src[s0 + q * ss] ^ flip : 0;
    if (i % k === k - 1 || i === padded - 1) h[i] = value;
    else {
      const next = h[i + 1];
      h[i] = next > value ? next : value;
    }
  }
  // Window of output x spans padded [x, x + 2r]: one block boundary at most inside it.
  for (let x = 0, d = d0; x < n; x++, d += ds) {
    const a = h[x];
    const b = g[x + 2 * r];
    dst[d] = (a > b ? a : b) ^ flip;
  }
}

function squareMorph(data: Uint8Array, width: number, height: number, bounds: Bounds, radius: number, scratch: SquareScratch, flip: number): void {
  const r = Math.round(radius);
  if (r <= 0 || !clampToFrame(bounds, width, height, rect)) return;
  if (r > scratch.maxRadius) {
    throw new RangeError(`Radius ${r} exceeds the ${scratch.maxRadius} px this scratch was made for`);
  }
  const x0 = rect[0],
    y0 = rect[1],
    x1 = rect[2],
    y1 = rect[3];
  const cols = x1 - x0;
  const rows = y1 - y0;
  const { plane, g, h } = scratch;
  // Rows of the rectangle into the plane transposed, then rows of the plane (the columns of the
  // rectangle) back, transposed again: both passes read memory in order.
  for (let y = 0; y < rows; y++) vhgwLine(data, (y0 + y) * width + x0, 1, plane, y, rows, cols, r, flip, g, h);
  for (let x = 0; x < cols; x++) vhgwLine(plane, x * rows, 1, data, y0 * width + x0 + x, width, rows, r, flip, g, h);
}

/** Grayscale dilation (max) over a (2r+1)^2 square, in place, inside `bounds`. */
export function dilateSquare(data: Uint8Array, width: number, height: number, bounds: Bounds, radius: number, scratch: SquareScratch): void {
  squareMorph(data, width, height, bounds, radius, scratch, 0);
}

/** Grayscale erosion (min) over a (2r+1)^2 square, in place, inside `bounds`. */
export function erodeSquare(data: Uint8Array, width: number, height: number, bounds: Bounds, radius: number, scratch: SquareScratch): void {
  squareMorph(data, width, height, bounds, radius, scratch, 255);
}

// ---------------------------------------------------------------- round (distance transform)

/**
 * Squared euclidean distance from every pixel of `bounds` to the nearest pixel whose value is
 * >= `threshold` (or < `threshold` when `invert`), written into `scratch.dist` (0 on feature
 * pixels). Exact: a column scan, then Felzenszwalb's lower envelope of parabolas along rows.
 *
 * `maxDistance` (px, default: unbounded) is how far the caller looks: distances below it are
 * exact; at or beyond it they are only known to be >= maxDistance^2 (many come out as
 * NO_FEATURE). It lets the row pass ignore every pixel that far from a feature in its column.
 * `stride` and `offset` read one channel of interleaved data in place: (4, 3) is the alpha of
 * an RGBA frame, which saves copying it out.
 *
 * `windows` (optional) restricts the work to one column interval per row (clipped to `bounds`),
 * for a caller who knows every pixel of `bounds` outside them already has its answer:
 * NO_FEATURE-or-more (no feature within maxDistance on both axes) or, with `invert`, 0 (a feature).
 * Only the windows are written then (and, where a window is wider than the one above it, the
 * row above gets that answer under the difference); read nothing outside them. A character
 * covers only part of its box: per row, the columns within reach of its edge are about half of it.
 *
 * `inner` (optional, with `windows`) is one more column interval per row, inside the window,
 * whose answer the caller also knows, the other way round: without `invert`, pixels that are
 * features, as are the pixels above them (0); with `invert`, pixels with no feature within
 * ceil(maxDistance) - 1 px on both axes (NO_FEATURE). `findSolidRuns` and `narrowRowSpans` (by 1,
 * or by ceil(maxDistance) - 1 when inverted) make them. They are written with one fill() and the
 * row pass works on the two sides of them apart: the inside of a character costs next to nothing
 * (it was three quarters of outline's windows and most of their cost, about 5.8 ns a pixel).
 */
export function squaredDistance(
  data: Uint8Array,
  width: number,
  height: number,
  bounds: Bounds,
  threshold: number,
  invert: boolean,
  scratch: DistanceScratch,
  maxDistance = Infinity,
  stride = 1,
  offset = 0,
  windows?: RowSpans,
  inner?: RowSpans,
): void {
  if (!clampToFrame(bounds, width, height, rect)) return;
  const x0 = rect[0],
    y0 = rect[1],
    x1 = rect[2],
    y1 = rect[3];
  const { dist, v, z } = scratch;
  const fv = scratch.f;
  // Without windows, every row's window is the whole rectangle, and without `inner` nothing in it
  // is skipped. The clips run for every caller (same code, same type feedback whoever calls first).
  const rows = windows ?? scratch.rows;
  const winLeft = rows.left;
  const winRight = rows.right;
  if (!windows) {
    winLeft.fill(x0, y0, y1);
    winRight.fill(x1, y0, y1);
  }
  const skipped = scratch.skipped;
  const skipLeft = skipped.left;
  const skipRight = skipped.right;
  if (inner) {
    skipLeft.set(inner.left.subarray(y0, y1), y0);
    skipRight.set(inner.right.subarray(y0, y1), y0);
  } else {
    skipLeft.fill(x0, y0, y1);
    skipRight.fill(x0, y0, y1);
  }
  for (let y = y0; y < y1; y++) {
    const l = winLeft[y] < x0 ? x0 : winLeft[y];
    const r = winRight[y] > x1 ? x1 : winRight[y];
    winLeft[y] = l;
    winRight[y] = r;
    // Skipped columns clipped to the window; none (an empty interval at its right end) when
    // that leaves nothing, so the per-pixel part before them is then the whole window.
    const sl = skipLeft[y] < l ? l : skipLeft[y];
    const sr = skipRight[y] > r ? r : skipRight[y];
    skipLeft[y] = sr > sl ? sl : r;
    skipRight[y] = sr > sl ? sr : r;
  }
  // Column distances are counted up to `cap`; a pixel with no feature within `cap` in its column
  // holds FAR instead (which is >= cap^2, so it is already a valid answer for it): the row pass
  // then only has to write pixels near a feature, not the whole rectangle.
  const cap = Math.min(width + height + 1, Math.ceil(maxDistance));
  const far = NO_FEATURE;
  // Branch-free on `invert` (the same arithmetic runs for every caller): V8 compiles this function
  // while its first caller's sweep is running; an operation that had never run yet (no type
  // feedback) makes that code bail out when another caller reaches it, on every call, and the
  // transform then ran unoptimised for dozens of frames in the sticker stack.
  const inverted = invert ? 1 : 0;
  const flip = 255 * inverted;
  const t = threshold + inverted * (256 - 2 * threshold); // v < t  <=>  255 - v >= 256 - t
  // The answer outside the windows: no feature near, or (inverted) a feature; and the answer in
  // the skipped columns, the other way round.
  const outside = far * (1 - inverted);
  const inside = far * inverted;
  // Once row y has its column distances, row y - lag can no longer change (see below).
  const lag = cap - 1;

  // One top-down sweep. 1. Vertical distance to the nearest feature in the same column, capped:
  //    from the row above, and when a feature starts below non-features, walked back up its
  //    column (at most cap - 1 rows, so the work is proportional to the edge, not the area; this
  //    replaces a whole bottom-up pass). 2. Each row whose column distances are final (lag rows
  //    behind, still in cache) goes through the row pass.
  // The sweep runs `lag` rows past the bottom for the last row passes, in the same loop rather
  // than a loop after it: a loop that has not yet run when V8 compiles the sweep would bail out.
  const yEnd = y1 + lag;
  for (let y = y0; y < yEnd; y++) {
    const row = y * width;
    if (y >= y1) {
      // past the rectangle: only the row passes still due
    } else if (y === y0) {
      const xl = winLeft[y],
        xr = winRight[y];
      for (let x = xl, i = (row + xl) * stride + offset; x < xr; x++, i += stride) dist[row + x] = (data[i] ^ flip) >= t ? 0 : far;
    } else {
      const above = row - width;
      const xl = winLeft[y],
        xr = winRight[y];
      // Where this window reaches past the one above, the row above holds its known answer, which
      // the column scan below reads. (fill() with an empty range is a no-op: it runs for every
      // caller, so V8 has its feedback whoever calls first.)
      const al = winLeft[y - 1],
        ar = winRight[y - 1];
      if (ar <= al) dist.fill(outside, above + xl, above + xr);
      else {
        dist.fill(outside, above + xl, above + (al < xr ? al : xr));
        dist.fill(outside, above + (ar > xl ? ar : xl), above + xr);
      }
      // The skipped columns get their answer; the window's two sides of them are scanned.
      const sl = skipLeft[y],
        sr = skipRight[y];
      dist.fill(inside, row + sl, row + sr);
      for (let side = 0; side < 2; side++) {
        const from = side === 0 ? xl : sr;
        const to = side === 0 ? sl : xr;
        for (let x = from, i = (row + from) * stride + offset; x < to; x++, i += stride) {
          const up = dist[above + x];
          if ((data[i] ^ flip) >= t) {
            dist[row + x] = 0;
            if (up !== 0) {
              // The top of a run of features: the non-features above are k rows from it. Stop at
              // one already as close (then all above it are too: distances grow by 1 per row).
              for (let k = 1, q = above + x, yq = y - 1; k < cap && yq >= y0; k++, q -= width, yq--) {
                if (dist[q] <= k) break;
                dist[q] = k;
              }
            }
          } else {
            const d = up + 1; // FAR + 1 is FAR (and >= cap)
            dist[row + x] = d < cap ? d : far;
          }
        }
      }
    }
    const done = y - lag;
    if (done >= y0) {
      // The row pass on each side of the skipped columns apart. Without `invert` they are
      // features: the nearest of them to any pixel on one side is their end on that side, which
      // each part includes (and nothing beyond it can be nearer). Inverted, no root of the row
      // is within cap - 1 of them, so nothing below cap^2 crosses them. Without skipped columns
      // (sl = sr = xr) the first part is the whole window and the second empty.
      const xl = winLeft[done],
        xr = winRight[done];
      const sl = skipLeft[done],
        sr = skipRight[done];
      const leftEnd = sr > sl ? sl + 1 : xr;
      const rightStart = sr > sl ? sr - 1 : xr;
      envelopeRow(dist, done * width + xl, leftEnd - xl, cap, v, fv, z);
      envelopeRow(dist, done * width + rightStart, xr - rightStart, cap, v, fv, z);
    }
  }
}

/**
 * Row pass of `squaredDistance` on the n pixels from `row`: D(x) = min over q of (x - q)^2 + G(q)^2,
 * the lower envelope of parabolas rooted at the columns that have a feature nearer than `cap`
 * (v: roots, fv: their G^2, z: where each starts to be lowest). Inside a run of zeros only the two
 * ends can be nearest to anything outside the run (the run itself is 0), so only they are added:
 * solid areas cost a compare per pixel.
 */
function envelopeRow(dist: Float32Array, row: number, n: number, cap: number, v: Int32Array, fv: Float64Array, z: Float64Array): void {
  const last = n - 1;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const g = dist[row + q];
    if (g >= cap) continue;
    if (g === 0 && q < last && dist[row + q + 1] === 0) {
      // A run of features: its first pixel is a root, then a tight loop to its last one.
      k = addParabola(q, 0, k, v, fv, z);
      let e = q + 1;
      while (e < last && dist[row + e + 1] === 0) e++;
      q = e;
    }
    k = addParabola(q, g * g, k, v, fv, z);
  }
  // No root: every pixel of the row is FAR already. Otherwise each parabola writes only the
  // part of its interval closer than `cap` to its root: anything further is >= cap^2, and the
  // FAR (or larger) value already there says so. Work is proportional to the edge, not the row.
  for (let j = 0, from = 0; j <= k; j++) {
    const root = v[j];
    const zEnd = z[j + 1]; // this parabola is lowest on [z[j], z[j+1]]: q <= zEnd
    const end = zEnd < last ? Math.floor(zEnd) : last;
    let q = root - cap + 1 > from ? root - cap + 1 : from;
    const stop = root + cap - 1 < end ? root + cap - 1 : end;
    const f = fv[j];
    for (; q <= stop; q++) {
      if (dist[row + q] === 0) continue; // a feature stays 0 (a run's inside is not in the envelope)
      const dq = q - root;
      dist[row + q] = dq * dq + f;
    }
    if (end + 1 > from) from = end + 1;
  }
}

/**
 * Adds the parabola rooted at column q with value fq (squared column distance) to the lower
 * envelope of `envelopeRow` (k: index of its last parabola, -1 when empty); returns the new k.
 */
function addParabola(q: number, fq: number, k: number, v: Int32Array, fv: Float64Array, z: Float64Array): number {
  if (k < 0) {
    v[0] = q;
    fv[0] = fq;
    z[0] = -Infinity;
    z[1] = Infinity;
    return 0;
  }
  // z[0] is -Infinity and s is finite, so k never drops below 0.
  let p = v[k];
  let s = (fq + q * q - (fv[k] + p * p)) / (2 * (q - p));
  while (s <= z[k]) {
    k--;
    p = v[k]!;
    s = (fq + q * q - (fv[k] + p * p)) / (2 * (q - p));
  }
  k++;
  v[k] = q;
  fv[k] = fq;
  z[k] = s;
  z[k + 1] = Infinity;
  return k;
}

/**
 * Round grow by `radius` px (fractional allowed), in place: the matte becomes the max of itself
 * and a disc-swept copy of its >= 128 part with a one-pixel anti-aliased edge.
 */
export function dilateRound(data: Uint8Array, width: number, height: number, bounds: Bounds, radius: number, scratch: DistanceScratch): void {
  if (!(radius > 0)) return;
  squaredDistance(data, width, height, bounds, 128, false, scratch, radius + 1);
  const x0 = rect[0],
    y0 = rect[1],
    x1 = rect[2],
    y1 = rect[3];
  const dist = scratch.dist;
  // Feature centres sit half a pixel inside the 50% contour, so the grown contour is at
  // radius + 0.5 from them; the ramp spans one pixel around it.
  const edge = radius + 1;
  const inner = (edge - 1) * (edge - 1);
  const outer = edge * edge;
  for (let y = y0; y < y1; y++) {
    for (let x = x0, p = y * width + x0; x < x1; x++, p++) {
      const d2 = dist[p];
      if (d2 >= outer) continue;
      const cover = d2 <= inner ? 255 : ((edge - Math.sqrt(d2)) * 255 + 0.5) | 0;
      if (cover > data[p]) data[p] = cover;
    }
  }
}

/**
 * Round shrink by `radius` px (fractional allowed), in place: the mirror of `dilateRound`, kept a
 * twin rather than one function with a direction flag, which would be a test in the per-pixel loop.
 */
export function erodeRound(data: Uint8Array, width: number, height: number, bounds: Bounds, radius: number, scratch: DistanceScratch): void {
  if (!(radius > 0)) return;
  squaredDistance(data, width, height, bounds, 128, true, scratch, radius + 1);
  const x0 = rect[0],
    y0 = rect[1],
    x1 = rect[2],
    y1 = rect[3];
  const dist = scratch.dist;
  const edge = radius + 1;
  const inner = (edge - 1) * (edge - 1);
  const outer = edge * edge;
  for (let y = y0; y < y1; y++) {
    for (let x = x0, p = y * width + x0; x < x1; x++, p++) {
      const d2 = dist[p];
      if (d2 >= outer) continue;
      const keep = d2 <= inner ? 0 : 255 - (((edge - Math.sqrt(d2)) * 255 + 0.5) | 0);
      if (keep < data[p]) data[p] = keep;
    }
  }
}
