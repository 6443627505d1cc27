import { describe, expect, it } from 'vitest';
import {
  createDistanceScratch,
  createSquareScratch,
  dilateRound,
  dilateSquare,
  erodeRound,
  erodeSquare,
  NO_FEATURE,
  squaredDistance,
} from '../src/internal/morphology.js';
import { createRowSpans, findRowSpans, findSolidRuns, narrowRowSpans, widenRowSpans } from '../src/internal/row-spans.js';

function random(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

function naiveSquare(
  src: Uint8Array,
  w: number,
  h: number,
  r: number,
  max: boolean,
  b: { left: number; top: number; right: number; bottom: number },
): Uint8Array {
  const out = src.slice();
  for (let y = b.top; y < b.bottom; y++)
    for (let x = b.left; x < b.right; x++) {
      let m = max ? 0 : 255;
      for (let j = Math.max(b.top, y - r); j <= Math.min(b.bottom - 1, y + r); j++)
        for (let i = Math.max(b.left, x - r); i <= Math.min(b.right - 1, x + r); i++) {
          const v = src[j * w + i];
          m = max ? Math.max(m, v) : Math.min(m, v);
        }
      out[y * w + x] = m;
    }
  return out;
}

describe('square morphology', () => {
  it.each([1, 2, 3, 6])('matches a naive max/min filter, radius %i', (r) => {
    const w = 21,
      h = 15;
    const b = { left: 2, top: 1, right: 20, bottom: 14 };
    const src = random(w * h, r * 11);
    const scratch = createSquareScratch({ width: w, height: h }, 8);
    const dil = src.slice();
    dilateSquare(dil, w, h, b, r, scratch);
    expect(Array.from(dil)).toEqual(Array.from(naiveSquare(src, w, h, r, true, b)));
    const ero = src.slice();
    erodeSquare(ero, w, h, b, r, scratch);
    expect(Array.from(ero)).toEqual(Array.from(naiveSquare(src, w, h, r, false, b)));
  });

  it('refuses a radius larger than its scratch was made for', () => {
    const scratch = createSquareScratch({ width: 4, height: 4 }, 1);
    expect(() => dilateSquare(new Uint8Array(16), 4, 4, { left: 0, top: 0, right: 4, bottom: 4 }, 3, scratch)).toThrow(RangeError);
  });
});

describe('distance transform', () => {
  it('matches brute force squared distances', () => {
    const w = 31,
      h = 23;
    const src = random(w * h, 5).map((v) => (v > 245 ? 255 : 0));
    const b = { left: 0, top: 0, right: w, bottom: h };
    const scratch = createDistanceScratch({ width: w, height: h });
    squaredDistance(src, w, h, b, 128, false, scratch);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let best = NO_FEATURE;
        for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) if (src[j * w + i] >= 128) best = Math.min(best, (i - x) ** 2 + (j - y) ** 2);
        expect(scratch.dist[y * w + x]).toBe(best === NO_FEATURE ? Math.fround(NO_FEATURE) : best);
      }
  });

  it('is exact below maxDistance and at least maxDistance beyond it', () => {
    const w = 40,
      h = 30;
    const src = random(w * h, 9).map((v) => (v > 250 ? 255 : 0));
    // a solid block too, so runs of features are exercised
    for (let y = 10; y < 20; y++) for (let x = 5; x < 30; x++) src[y * w + x] = 255;
    const b = { left: 0, top: 0, right: w, bottom: h };
    const full = createDistanceScratch({ width: w, height: h });
    squaredDistance(src, w, h, b, 128, false, full);
    const capped = createDistanceScratch({ width: w, height: h });
    squaredDistance(src, w, h, b, 128, false, capped, 3);
    for (let i = 0; i < w * h; i++) {
      if (full.dist[i] < 9) expect(capped.dist[i]).toBe(full.dist[i]);
      else expect(capped.dist[i]).toBeGreaterThanOrEqual(9);
    }
  });

  it('reports no feature everywhere for an empty matte, and 0 on features', () => {
    const scratch = createDistanceScratch({ width: 3, height: 2 });
    const b = { left: 0, top: 0, right: 3, bottom: 2 };
    squaredDistance(new Uint8Array(6), 3, 2, b, 128, false, scratch);
    expect(Array.from(scratch.dist).every((d) => d === Math.fround(NO_FEATURE))).toBe(true);
    squaredDistance(Uint8Array.from([0, 0, 0, 0, 0, 200]), 3, 2, b, 128, false, scratch);
    expect(Array.from(scratch.dist)).toEqual([5, 2, 1, 4, 1, 0]);
    // inverted: distance to the pixels below the threshold
    squaredDistance(Uint8Array.from([0, 0, 0, 0, 0, 200]), 3, 2, b, 128, true, scratch);
    expect(Array.from(scratch.dist)).toEqual([0, 0, 0, 0, 0, 1]);
  });
});

/** Squared distance from (x, y) to the nearest pixel of `b` that isFeature, or NO_FEATURE. */
function bruteDistance(
  w: number,
  b: { left: number; top: number; right: number; bottom: number },
  isFeature: (i: number) => boolean,
  x: number,
  y: number,
): number {
  let best = NO_FEATURE;
  for (let j = b.top; j < b.bottom; j++) for (let i = b.left; i < b.right; i++) if (isFeature(j * w + i)) best = Math.min(best, (i - x) ** 2 + (j - y) ** 2);
  return best;
}

/** A matte of soft-edged blobs with holes and speckle, so rows have several runs, partial alpha and empty rows. */
function blobs(w: number, h: number, seed: number, scale = 1): Uint8Array {
  const noise = random(w * h + 30, seed);
  const m = new Uint8Array(w * h);
  for (let k = 0; k < 5; k++) {
    const cx = (noise[w * h + 3 * k] / 255) * w;
    const cy = (noise[w * h + 3 * k + 1] / 255) * h * 0.8;
    const r = (2 + (noise[w * h + 3 * k + 2] / 255) * 9) * scale;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const a = Math.max(0, Math.min(255, (r - Math.hypot(x - cx, (y - cy) * 1.3)) * 120));
        if (a > m[y * w + x]) m[y * w + x] = a;
      }
  }
  for (let i = 0; i < w * h; i++) if (noise[i] > 250) m[i] = noise[i] & 1 ? 255 : 0;
  return m;
}

describe('distance transform in row windows', () => {
  // The contract: outside the windows every answer is already known (no feature within reach;
  // inverted: a feature), so the transform may skip it. Windows built the way the effects build them.
  it.each([1, 2, 3, 4, 5, 6])('is exact inside windows within reach of the features, seed %i', (seed) => {
    const w = 47,
      h = 38;
    const src = blobs(w, h, seed);
    const b = seed % 2 ? { left: 0, top: 0, right: w, bottom: h } : { left: 3, top: 2, right: w - 4, bottom: h - 1 };
    const scratch = createDistanceScratch({ width: w, height: h });
    const spans = createRowSpans(h);
    const windows = createRowSpans(h);
    for (const maxDistance of [1, 2.5, 4, 7.3]) {
      const cap = Math.ceil(maxDistance);
      scratch.dist.fill(seed); // stale values from another frame must never show
      findRowSpans(src, w, h, b, 128, spans);
      widenRowSpans(spans, w, h, b, cap - 1, windows);
      squaredDistance(src, w, h, b, 128, false, scratch, maxDistance, 1, 0, windows);
      for (let y = b.top; y < b.bottom; y++)
        for (let x = windows.left[y]; x < windows.right[y]; x++) {
          const want = bruteDistance(w, b, (i) => src[i] >= 128, x, y);
          const got = scratch.dist[y * w + x];
          if (want < cap * cap) expect(got, `(${x}, ${y}) cap ${cap}`).toBe(want);
          else expect(got).toBeGreaterThanOrEqual(cap * cap);
        }
      for (let y = b.top; y < b.bottom; y++)
        for (let x = b.left; x < b.right; x++)
          if (x < windows.left[y] || x >= windows.right[y]) expect(bruteDistance(w, b, (i) => src[i] >= 128, x, y)).toBeGreaterThanOrEqual(cap * cap);

      // Inverted, windows around the visible pixels (outside them all is transparent: features).
      scratch.dist.fill(seed + 1);
      findRowSpans(src, w, h, b, 1, spans);
      widenRowSpans(spans, w, h, b, 2, windows);
      squaredDistance(src, w, h, b, 128, true, scratch, maxDistance, 1, 0, windows);
      for (let y = b.top; y < b.bottom; y++)
        for (let x = windows.left[y]; x < windows.right[y]; x++) {
          const want = bruteDistance(w, b, (i) => src[i] < 128, x, y);
          const got = scratch.dist[y * w + x];
          if (want < cap * cap) expect(got, `inverted (${x}, ${y}) cap ${cap}`).toBe(want);
          else expect(got).toBeGreaterThanOrEqual(cap * cap);
        }
    }
  });

  // The inside the effects skip: solid runs narrowed by 1 (features, features above) or, inverted,
  // by cap - 1 (no feature that near). Big blobs, so that both have an inside to skip.
  it.each([1, 2, 3, 4])('is exact around an inside it skips, seed %i', (seed) => {
    const w = 83,
      h = 64;
    const src = blobs(w, h, seed, 2.5);
    const b = seed % 2 ? { left: 0, top: 0, right: w, bottom: h } : { left: 3, top: 2, right: w - 4, bottom: h - 1 };
    const scratch = createDistanceScratch({ width: w, height: h });
    const spans = createRowSpans(h);
    const windows = createRowSpans(h);
    const runs = createRowSpans(h);
    const inside = createRowSpans(h);
    const skippedPixels = () => {
      let n = 0;
      for (let y = b.top; y < b.bottom; y++) n += Math.max(0, inside.right[y] - inside.left[y]);
      return n;
    };
    for (const maxDistance of [1, 2.5, 4, 7.3]) {
      const cap = Math.ceil(maxDistance);
      scratch.dist.fill(seed);
      findRowSpans(src, w, h, b, 128, spans);
      findSolidRuns(src, w, h, b, 255, spans, runs);
      narrowRowSpans(runs, w, h, b, 1, inside);
      expect(skippedPixels()).toBeGreaterThan(200);
      widenRowSpans(spans, w, h, b, cap - 1, windows);
      squaredDistance(src, w, h, b, 128, false, scratch, maxDistance, 1, 0, windows, inside);
      for (let y = b.top; y < b.bottom; y++)
        for (let x = windows.left[y]; x < windows.right[y]; x++) {
          const want = bruteDistance(w, b, (i) => src[i] >= 128, x, y);
          const got = scratch.dist[y * w + x];
          if (want < cap * cap) expect(got, `(${x}, ${y}) cap ${cap}`).toBe(want);
          else expect(got).toBeGreaterThanOrEqual(cap * cap);
        }

      scratch.dist.fill(seed + 1);
      findRowSpans(src, w, h, b, 1, spans);
      findSolidRuns(src, w, h, b, 128, spans, runs);
      narrowRowSpans(runs, w, h, b, cap - 1, inside);
      if (cap < 5) expect(skippedPixels()).toBeGreaterThan(50);
      widenRowSpans(spans, w, h, b, 2, windows);
      squaredDistance(src, w, h, b, 128, true, scratch, maxDistance, 1, 0, windows, inside);
      for (let y = b.top; y < b.bottom; y++)
        for (let x = windows.left[y]; x < windows.right[y]; x++) {
          const want = bruteDistance(w, b, (i) => src[i] < 128, x, y);
          const got = scratch.dist[y * w + x];
          if (want < cap * cap) expect(got, `inverted (${x}, ${y}) cap ${cap}`).toBe(want);
          else expect(got).toBeGreaterThanOrEqual(cap * cap);
        }
    }
  });

  it('takes an inside right up to the edge of the features (their ends are the nearest to the rest)', () => {
    const w = 24,
      h = 14;
    const m = new Uint8Array(w * h);
    for (let y = 3; y < 11; y++) m.fill(255, y * w + 6, y * w + 17);
    m[7 * w + 2] = 255;
    const b = { left: 0, top: 0, right: w, bottom: h };
    const windows = createRowSpans(h);
    windows.right.fill(w);
    const inside = createRowSpans(h);
    for (let y = 4; y < 11; y++) {
      inside.left[y] = 6;
      inside.right[y] = 17;
    }
    const scratch = createDistanceScratch({ width: w, height: h });
    squaredDistance(m, w, h, b, 128, false, scratch, 5, 1, 0, windows, inside);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const want = bruteDistance(w, b, (i) => m[i] >= 128, x, y);
        if (want < 25) expect(scratch.dist[y * w + x], `(${x}, ${y})`).toBe(want);
        else expect(scratch.dist[y * w + x]).toBeGreaterThanOrEqual(25);
      }
  });

  it('finds the longest solid run inside each span and narrows runs to what lies r px inside them', () => {
    const w = 10,
      h = 4;
    const m = new Uint8Array(w * h);
    m.fill(255, 0 * w + 1, 0 * w + 3); // two runs, the second longer
    m.fill(255, 0 * w + 4, 0 * w + 8);
    m.fill(255, 1 * w + 0, 1 * w + 9);
    m[1 * w + 5] = 254; // below the threshold: splits the row into 0..5 and 6..9
    m.fill(200, 2 * w + 2, 2 * w + 6); // features, but not solid
    m.fill(255, 3 * w + 2, 3 * w + 10);
    const b = { left: 0, top: 0, right: w, bottom: h };
    const spans = createRowSpans(h);
    const runs = createRowSpans(h);
    findRowSpans(m, w, h, b, 128, spans);
    findSolidRuns(m, w, h, b, 255, spans, runs);
    expect([...runs.left]).toEqual([4, 0, 0, 2]);
    expect([...runs.right]).toEqual([8, 5, 0, 10]);
    const narrowed = createRowSpans(h);
    runs.left.set([1, 0, 1, 0]);
    runs.right.set([9, 10, 8, 10]);
    narrowRowSpans(runs, w, h, b, 1, narrowed);
    // Rows 0 and 3 have a row outside the rectangle within r: nothing.
    expect([...narrowed.left]).toEqual([0, 2, 2, 0]);
    expect([...narrowed.right]).toEqual([0, 7, 7, 0]);
  });

  it('finds the span of values >= threshold on each row and widens it over neighbouring rows', () => {
    const w = 8,
      h = 5;
    const m = new Uint8Array(w * h);
    m[1 * w + 2] = 200;
    m[1 * w + 5] = 128;
    m[3 * w + 7] = 255;
    m[3 * w + 0] = 127; // below the threshold
    const b = { left: 0, top: 0, right: w, bottom: h };
    const spans = createRowSpans(h);
    findRowSpans(m, w, h, b, 128, spans);
    expect([...spans.left]).toEqual([0, 2, 0, 7, 0]);
    expect([...spans.right]).toEqual([0, 6, 0, 8, 0]);
    const widened = createRowSpans(h);
    widenRowSpans(spans, w, h, b, 1, widened);
    expect([...widened.left]).toEqual([1, 1, 1, 6, 6]);
    expect([...widened.right]).toEqual([7, 7, 8, 8, 8]);
  });
});

describe('round morphology', () => {
  it('grows a dot into an anti-aliased disc and shrinks it back', () => {
    const w = 41,
      h = 41;
    const m = new Uint8Array(w * h);
    m[20 * w + 20] = 255;
    const scratch = createDistanceScratch({ width: w, height: h });
    const b = { left: 0, top: 0, right: w, bottom: h };
    dilateRound(m, w, h, b, 10, scratch);
    // area of a disc of radius 10.5 (the 50% contour of one pixel grown by 10)
    let area = 0;
    for (let i = 0; i < m.length; i++) area += m[i] / 255;
    expect(area).toBeGreaterThan(Math.PI * 10.5 * 10.5 * 0.97);
    expect(area).toBeLessThan(Math.PI * 10.5 * 10.5 * 1.03);
    // round, not square: the diagonal reaches less far than the axis
    expect(m[20 * w + 30]).toBe(255);
    expect(m[(20 + 8) * w + 28]).toBe(0);
    // symmetric
    expect(m[20 * w + 10]).toBe(m[20 * w + 30]);
    expect(m[10 * w + 20]).toBe(m[30 * w + 20]);
    erodeRound(m, w, h, b, 10, scratch);
    let left = 0;
    for (let i = 0; i < m.length; i++) left += m[i] / 255;
    // opening a single pixel by 10 leaves about that pixel (a disc of radius ~0.5)
    expect(m[20 * w + 20]).toBeGreaterThan(100);
    expect(left).toBeGreaterThan(0.3);
    expect(left).toBeLessThan(2);
  });

  it('leaves pixels outside the bounds alone and does nothing for radius 0', () => {
    const m = Uint8Array.from([0, 0, 0, 255]);
    const scratch = createDistanceScratch({ width: 2, height: 2 });
    dilateRound(m, 2, 2, { left: 0, top: 0, right: 2, bottom: 2 }, 0, scratch);
    expect(Array.from(m)).toEqual([0, 0, 0, 255]);
    dilateRound(m, 2, 2, { left: 0, top: 1, right: 2, bottom: 2 }, 1, scratch);
    expect(Array.from(m)).toEqual([0, 0, 255, 255]);
  });
});
