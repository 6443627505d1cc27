/**
 * drop-shadow: a soft, offset copy of the character's alpha in one colour, laid UNDER it.
 *
 * Model: After Effects' Drop Shadow (colour, opacity, direction, distance, softness, shadow only).
 * Direction is a compass angle as in After Effects: 0 deg casts the shadow up, 90 right, 135
 * down-right (the default), clockwise. Softness is the gaussian sigma of the shadow's edge in px
 * (three box blurs), distance the offset in px (rounded to whole pixels).
 *
 * Only alpha is blurred (the shadow is one flat colour), so no colour is ever filtered. A soft
 * shadow (softness >= 2 px) is computed at half resolution, 2x2-averaged, blurred, and read back
 * bilinearly: a blurred edge has no detail a quarter of the pixels cannot carry, and the blur
 * costs a quarter. The composite is the premultiplied "over" written in straight alpha: the
 * character's colour is weighted by its alpha, so the colour a keyer left in transparent pixels
 * (green garbage) has no weight and never shows. Straight alpha out.
 *
 * Work is limited to the alpha bounds (when the frame has them) and their shifted, blurred copy,
 * and within them to each row's visible span and what the blur spreads from it: the matte is 0
 * elsewhere. `frame.alphaBounds` grows to cover the shadow. margin = distance + what the blur
 * reaches.
 */
import { defineEffect, parseColor, type Bounds, type Frame, type FrameSize } from '@stickerkey/core/effect';
import { blurChannelSpans, blurReach, boxRadiiForSigma, createSpanBlurScratchU8, type SpanBlurScratchU8 } from './internal/blur.js';
import { bilinearTable, firstColumns } from './internal/grid-readback.js';
import { overFlatColour } from './internal/over.js';
import { createRowSpans, findSolidRuns, fullFrame, visibleSpans, type RowSpans } from './internal/row-spans.js';

const options = [
  { name: 'color', type: 'color', default: '#000000', help: 'Colour of the shadow' },
  { name: 'opacity', type: 'number', default: 50, min: 0, max: 100, unit: '%', help: 'Opacity of the shadow' },
  {
    name: 'direction',
    type: 'number',
    default: 135,
    min: -360,
    max: 360,
    unit: 'deg',
    help: 'Where the shadow falls: 0 up, 90 right, 135 down-right (clockwise)',
  },
  { name: 'distance', type: 'number', default: 10, min: 0, max: 1000, unit: 'px', help: 'Offset of the shadow from the character' },
  { name: 'softness', type: 'number', default: 6, min: 0, max: 250, unit: 'px', help: 'Blur of the shadow edge (gaussian sigma)' },
  { name: 'shadowOnly', type: 'boolean', default: false, help: 'Output the shadow alone, without the character' },
] as const;

/** Geometry shared by margin() and prepare(): offset, scale of the shadow grid, blur. */
function geometry(o: { direction: number; distance: number; softness: number }) {
  const theta = (o.direction * Math.PI) / 180;
  // Rows grow downwards, so "up" is -y. `+ 0` turns -0 into 0.
  const dx = Math.round(Math.sin(theta) * o.distance) + 0;
  const dy = Math.round(-Math.cos(theta) * o.distance) + 0;
  const scale = o.softness >= 2 ? 2 : 1;
  const radii = boxRadiiForSigma(o.softness / scale);
  // In shadow-grid pixels: the blur's reach plus one for the bilinear read-back.
  const reach = blurReach(radii) + 1;
  return { dx, dy, scale, radii, reach, margin: Math.max(Math.abs(dx), Math.abs(dy)) + scale * (reach + 1) };
}

interface State {
  width: number;
  height: number;
  dx: number;
  dy: number;
  /** 1: shadow at full resolution; 2: at half resolution. */
  scale: number;
  /** Size of the shadow grid. */
  gw: number;
  gh: number;
  radii: number[];
  reach: number;
  cr: number;
  cg: number;
  cb: number;
  shadowOnly: boolean;
  /** Shadow alpha 0..255 after the blur -> after opacity. */
  opacityLut: Uint8Array;
  /** Bilinear read-back, per frame column / row: the two grid cells and the weight (0..256) of the second. */
  col0: Int32Array;
  col1: Int32Array;
  colW: Int32Array;
  row0: Int32Array;
  row1: Int32Array;
  rowW: Int32Array;
  /** The shadow matte on the shadow grid, one channel; 0 outside `matteSpans`. */
  matte: Uint8Array;
  /** Per grid row: where the matte may be non-zero (this frame's, until the next one clears it). */
  matteSpans: RowSpans;
  /** Per grid row: a run of cells at 255 (opaque inside), before and after the blur. */
  fullRuns: RowSpans;
  /** Per frame row: first and last visible pixel of the character. */
  visible: RowSpans;
  /** The source rectangle (the whole frame when it has no alphaBounds), as the Bounds visibleSpans takes. */
  source: Bounds;
  /** Per grid cell of the row pair being composited: the next cell of either row that is not 0. */
  nextLit: Int32Array;
  /** Per grid column c (0..gw): the first frame column whose read-back starts at cell c or later. */
  firstX: Int32Array;
  blur: SpanBlurScratchU8;
  gridRect: Bounds;
}

/** Bilinear weights in 0..256 fixed point, for the integer composite loop. */
function fixedWeights(w: Float64Array): Int32Array {
  const fixed = new Int32Array(w.length);
  for (let i = 0; i < w.length; i++) fixed[i] = Math.round(w[i] * 256);
  return fixed;
}

export const dropShadow = defineEffect({
  name: 'drop-shadow',
  description: 'A soft offset shadow of the character, composited under it',
  options,

  margin(o) {
    return geometry(o).margin;
  },

  prepare(o, size: FrameSize): State {
    const { dx, dy, scale, radii, reach } = geometry(o);
    const gw = Math.ceil(size.width / scale);
    const gh = Math.ceil(size.height / scale);
    const c = parseColor(o.color);
    const opacityLut = new Uint8Array(256);
    for (let v = 0; v < 256; v++) opacityLut[v] = Math.round((v * o.opacity) / 100);
    const cols = bilinearTable(size.width, scale, gw);
    const rows = bilinearTable(size.height, scale, gh);
    return {
      width: size.width,
      height: size.height,
      dx,
      dy,
      scale,
      gw,
      gh,
      radii,
      reach,
      cr: c.r,
      cg: c.g,
      cb: c.b,
      shadowOnly: o.shadowOnly,
      opacityLut,
      col0: cols.i0,
      col1: cols.i1,
      colW: fixedWeights(cols.w),
      row0: rows.i0,
      row1: rows.i1,
      rowW: fixedWeights(rows.w),
      matte: new Uint8Array(gw * gh),
      matteSpans: createRowSpans(gh),
      fullRuns: createRowSpans(gh),
      visible: createRowSpans(size.height),
      source: { left: 0, top: 0, right: 0, bottom: 0 },
      nextLit: new Int32Array(gw + 1),
      firstX: firstColumns(cols.i0, gw, size.width),
      blur: createSpanBlurScratchU8({ width: gw, height: gh }),
      gridRect: { left: 0, top: 0, right: 0, bottom: 0 },
    };
  },

  apply(s: State, frame: Frame): void {
    const { width, height, dx, dy, scale, gw, gh, reach } = s;
    const data = frame.data;
    const ab = frame.alphaBounds;
    // Source rectangle: where the character can be (read into locals: `ab` grows at the end).
    const { left: sl, top: st, right: sr, bottom: sb } = ab ?? fullFrame(s.source, width, height);
    if (sr <= sl || sb <= st) return; // nothing visible, nothing casts a shadow

    // Grid rectangle: the shifted source in grid cells, grown by the blur's reach.
    const grid = s.gridRect; // reused: no object per frame
    grid.left = Math.max(0, Math.floor((sl + dx) / scale) - reach);
    grid.top = Math.max(0, Math.floor((st + dy) / scale) - reach);
    grid.right = Math.min(gw, Math.ceil((sr + dx) / scale) + reach);
    grid.bottom = Math.min(gh, Math.ceil((sb + dy) / scale) + reach);
    // Frame pixels the shadow can reach (its grid rectangle, back at frame scale).
    const hl = Math.min(width, grid.left * scale);
    const ht = Math.min(height, grid.top * scale);
    const hr = Math.min(width, grid.right * scale);
    const hb = Math.min(height, grid.bottom * scale);
    if (hr <= hl || hb <= ht) {
      if (s.shadowOnly) clearRect(data, width, sl, st, sr, sb);
      if (ab && s.shadowOnly) ab.left = ab.top = ab.right = ab.bottom = 0;
      return;
    }

    const source = s.source;
    source.left = sl;
    source.top = st;
    source.right = sr;
    source.bottom = sb;
    castMatte(s, data, source);
    blurMatte(s);
    if (s.shadowOnly) {
      clearRect(data, width, sl, st, sr, sb);
      drawShadow(s, data, hl, ht, hr, hb);
    } else {
      compositeUnder(s, data, hl, ht, hr, hb);
    }

    if (ab) {
      if (s.shadowOnly) {
        ab.left = hl;
        ab.top = ht;
        ab.right = hr;
        ab.bottom = hb;
      } else {
        ab.left = Math.min(sl, hl);
        ab.top = Math.min(st, ht);
        ab.right = Math.max(sr, hr);
        ab.bottom = Math.max(sb, hb);
      }
    }
  },
});

/*
 * The steps of apply, each a function of its own: V8 optimises each apart (a bail-out in one does
 * not take the others down), and each reads as one thing. All work inside s.gridRect.
 */

/**
 * 1. The shifted alpha into the matte on the shadow grid, averaged over scale x scale pixels, on
 *    each grid row only over the cells that hold a visible pixel: the rest of the matte is 0
 *    (where the last frame wrote, it is cleared first). Per row the visible span is about half the
 *    character's box; the blur and the composite follow these spans too.
 */
function castMatte(s: State, data: Uint8Array, source: Bounds): void {
  const { gh, gw, matte, matteSpans, visible, fullRuns } = s;
  const spanFrom = matteSpans.left;
  const spanTo = matteSpans.right;
  for (let gy = 0; gy < gh; gy++) {
    if (spanFrom[gy] < spanTo[gy]) matte.fill(0, gy * gw + spanFrom[gy], gy * gw + spanTo[gy]);
    spanFrom[gy] = spanTo[gy] = 0;
    fullRuns.left[gy] = fullRuns.right[gy] = 0;
  }
  visibleSpans(data, s.width, source, visible);
  if (s.scale === 1) copyShiftedAlpha(s, data, source);
  else averageShiftedAlpha(s, data, source);
}

/** castMatte at full resolution: each cell is the alpha of one pixel. */
function copyShiftedAlpha(s: State, data: Uint8Array, source: Bounds): void {
  const { width, dx, dy, gw, matte, visible } = s;
  const { left: gl, top: gt, right: gr, bottom: gb } = s.gridRect;
  const { top: st, bottom: sb } = source;
  const spanFrom = s.matteSpans.left;
  const spanTo = s.matteSpans.right;
  for (let gy = gt; gy < gb; gy++) {
    const y = gy - dy;
    if (y < st || y >= sb) continue;
    const from = Math.max(gl, visible.left[y] + dx);
    const to = Math.min(gr, visible.right[y] + dx);
    if (from >= to) continue;
    spanFrom[gy] = from;
    spanTo[gy] = to;
    const row = gy * gw;
    for (let gx = from, p = ((y * width + from - dx) << 2) + 3; gx < to; gx++, p += 4) matte[row + gx] = data[p]!;
  }
}

/** castMatte at half resolution: each cell is the rounded mean of 2x2 pixels (0 outside the source). */
function averageShiftedAlpha(s: State, data: Uint8Array, source: Bounds): void {
  const { width, dx, dy, gw, matte, visible } = s;
  const { left: gl, top: gt, right: gr, bottom: gb } = s.gridRect;
  const { left: sl, top: st, right: sr, bottom: sb } = source;
  const spanFrom = s.matteSpans.left;
  const spanTo = s.matteSpans.right;
  for (let gy = gt; gy < gb; gy++) {
    const ya = 2 * gy - dy;
    const yb = ya + 1;
    const okA = ya >= st && ya < sb;
    const okB = yb >= st && yb < sb;
    // Source columns holding a visible pixel of either row, then the cells reading them
    // (cell gx reads columns 2 gx - dx and the next; >> 1 floors negative values too).
    let lo = sr;
    let hi = sl;
    if (okA && visible.left[ya] < visible.right[ya]) {
      lo = visible.left[ya]!;
      hi = visible.right[ya]!;
    }
    if (okB && visible.left[yb] < visible.right[yb]) {
      if (visible.left[yb] < lo) lo = visible.left[yb]!;
      if (visible.right[yb] > hi) hi = visible.right[yb]!;
    }
    if (lo >= hi) continue;
    const from = Math.max(gl, (lo + dx) >> 1);
    const to = Math.min(gr, ((hi - 1 + dx) >> 1) + 1);
    if (from >= to) continue;
    spanFrom[gy] = from;
    spanTo[gy] = to;
    const row = gy * gw;
    const rowA = ya * width;
    const rowB = yb * width;
    // Cells whose four pixels all lie in the source: no test per pixel (most of the span).
    let fastFrom = to;
    let fastTo = to;
    if (okA && okB) {
      fastFrom = Math.min(to, Math.max(from, Math.ceil((sl + dx) / 2)));
      fastTo = Math.max(fastFrom, Math.min(to, Math.floor((sr + dx - 1) / 2)));
      for (let gx = fastFrom, pa = ((rowA + 2 * gx - dx) << 2) + 3, pb = ((rowB + 2 * gx - dx) << 2) + 3; gx < fastTo; gx++, pa += 8, pb += 8) {
        matte[row + gx] = (data[pa] + data[pa + 4] + data[pb] + data[pb + 4] + 2) >> 2;
      }
    }
    for (let gx = from; gx < to; gx++) {
      if (gx === fastFrom && fastTo > fastFrom) {
        gx = fastTo - 1;
        continue;
      }
      const xa = 2 * gx - dx;
      const xb = xa + 1;
      const inA = xa >= sl && xa < sr;
      const inB = xb >= sl && xb < sr;
      let sum = 0;
      if (okA) {
        if (inA) sum += data[((rowA + xa) << 2) + 3];
        if (inB) sum += data[((rowA + xb) << 2) + 3];
      }
      if (okB) {
        if (inA) sum += data[((rowB + xa) << 2) + 3];
        if (inB) sum += data[((rowB + xb) << 2) + 3];
      }
      matte[row + gx] = (sum + 2) >> 2;
    }
  }
}

/**
 * 2. Soften the matte (only inside the grid rectangle; the reach keeps its border at 0). From here
 *    matteSpans holds where the blurred matte may be non-zero; everywhere else it is 0, including
 *    the ring around the rectangle that the bilinear read-back may touch.
 */
function blurMatte(s: State): void {
  const { matte, gw, gh, gridRect, matteSpans, fullRuns } = s;
  // Each row's longest run of 255 in the matte (the opaque inside), which the blur skips.
  findSolidRuns(matte, gw, gh, gridRect, 255, matteSpans, fullRuns);
  blurChannelSpans(matte, gw, gh, gridRect, s.radii, matteSpans, s.blur, fullRuns, 255);
}

/** 3a. Shadow only: the shadow read back bilinearly, in its colour, over the rectangle it reaches. */
function drawShadow(s: State, data: Uint8Array, hl: number, ht: number, hr: number, hb: number): void {
  const { width, gw, matte, opacityLut, cr, cg, cb, col0, col1, colW, row0, row1, rowW } = s;
  for (let y = ht; y < hb; y++) {
    const ra = row0[y] * gw;
    const rb = row1[y] * gw;
    const wy = rowW[y];
    for (let x = hl, p = (y * width + hl) << 2; x < hr; x++, p += 4) {
      const i0 = col0[x];
      const i1 = col1[x];
      const wx = colW[x];
      const top = matte[ra + i0] * (256 - wx) + matte[ra + i1] * wx;
      const bottom = matte[rb + i0] * (256 - wx) + matte[rb + i1] * wx;
      const as = opacityLut[(top * (256 - wy) + bottom * wy + 32768) >>> 16];
      data[p] = cr;
      data[p + 1] = cg;
      data[p + 2] = cb;
      data[p + 3] = as;
    }
  }
}

/**
 * 3b. The character over the shadow read back bilinearly (internal/over.ts), where the shadow is
 *     lit: per frame row only the columns reading a lit span, skipping unlit cells and opaque runs.
 */
function compositeUnder(s: State, data: Uint8Array, hl: number, ht: number, hr: number, hb: number): void {
  const { width, gw, matte, opacityLut, cr, cg, cb, col0, col1, colW, row0, row1, rowW, nextLit, firstX } = s;
  const spanFrom = s.matteSpans.left;
  const spanTo = s.matteSpans.right;
  let litA = -1;
  let litB = -1;
  for (let y = ht; y < hb; y++) {
    // The cells of either grid row that may be lit, and the frame columns reading them.
    const gya = row0[y];
    const gyb = row1[y];
    let lo = gw;
    let hi = 0;
    if (spanFrom[gya] < spanTo[gya]) {
      lo = spanFrom[gya]!;
      hi = spanTo[gya]!;
    }
    if (spanFrom[gyb] < spanTo[gyb]) {
      if (spanFrom[gyb] < lo) lo = spanFrom[gyb]!;
      if (spanTo[gyb] > hi) hi = spanTo[gyb]!;
    }
    if (lo >= hi) continue;
    const cl = lo > 0 ? lo - 1 : 0;
    const xFrom = Math.max(hl, firstX[cl]);
    const xTo = Math.min(hr, firstX[hi]);
    const ra = gya * gw;
    const rb = gyb * gw;
    const wy = rowW[y];
    if (ra !== litA || rb !== litB) {
      // Two frame rows share a pair of grid rows: for each cell, the next one lit in either.
      for (let c = hi - 1, next = gw; c >= cl; c--) {
        if (matte[ra + c] !== 0 || matte[rb + c] !== 0) next = c;
        nextLit[c] = next;
      }
      litA = ra;
      litB = rb;
    }
    const mid = y * width;
    for (let x = xFrom; x < xTo; x++) {
      const i0 = col0[x];
      const i1 = col1[x];
      const lit = nextLit[i0];
      if (lit > i1) {
        // Four zero cells: no shadow here nor up to the first pixel that reads cell lit;
        // jumping there makes the cost follow the shadow, not its bounding box.
        const nx = firstX[lit - 1];
        if (nx > x + 1) x = nx - 1;
        continue;
      }
      const p = (mid + x) << 2;
      const ac = data[p + 3];
      if (ac === 255) {
        // An opaque character hides the shadow: over its inside, most of where the shadow
        // is lit, test alpha alone up to the end of the opaque run (0.9 ms less at 1080p zoom 1.4),
        // eight pixels per test while the AND of their alpha is 255 (no alpha is below it).
        let q = p + 7;
        while (x + 8 < xTo && (data[q] & data[q + 4] & data[q + 8] & data[q + 12] & data[q + 16] & data[q + 20] & data[q + 24] & data[q + 28]) === 255) {
          x += 8;
          q += 32;
        }
        for (; x + 1 < xTo && data[q] === 255; q += 4) x++;
        continue;
      }
      const wx = colW[x];
      const top = matte[ra + i0] * (256 - wx) + matte[ra + i1] * wx;
      const bottom = matte[rb + i0] * (256 - wx) + matte[rb + i1] * wx;
      const as = opacityLut[(top * (256 - wy) + bottom * wy + 32768) >>> 16];
      if (as === 0) continue;
      if (ac === 0) {
        // Nothing over the shadow (around the character, most of where it is lit): the formula
        // gives exactly its colour (C * under / under rounds back to C) at alpha As, without the division.
        data[p] = cr;
        data[p + 1] = cg;
        data[p + 2] = cb;
        data[p + 3] = as;
        continue;
      }
      overFlatColour(data, p, ac, as, cr, cg, cb);
    }
  }
}

/** Shadow only: the character itself goes (fully transparent) before the shadow is drawn. */
function clearRect(data: Uint8Array, width: number, left: number, top: number, right: number, bottom: number): void {
  for (let y = top; y < bottom; y++) data.fill(0, (y * width + left) << 2, (y * width + right) << 2);
}
