import { describe, expect, it } from 'vitest';
import {
  blurChannel,
  blurChannelF32,
  blurChannelF32Spans,
  blurChannelSpans,
  blurReach,
  blurRgba,
  blurSigma,
  boxRadiiForSigma,
  createBlurScratch,
  createBlurScratchF32,
  createSpanBlurScratchF32,
  createSpanBlurScratchU8,
} from '../src/internal/blur.js';
import { createRowSpans, visibleSpans } from '../src/internal/row-spans.js';

/** Reference: the same box passes computed naively, with clamped edges, in float. */
function naiveBox(src: number[], w: number, h: number, radii: number[]): number[] {
  let cur = src.slice();
  for (const r of radii) {
    const next = cur.slice();
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += cur[y * w + Math.min(w - 1, Math.max(0, x + i))];
        next[y * w + x] = s / (2 * r + 1);
      }
    cur = next;
  }
  for (const r of radii) {
    const next = cur.slice();
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += cur[Math.min(h - 1, Math.max(0, y + i)) * w + x];
        next[y * w + x] = s / (2 * r + 1);
      }
    cur = next;
  }
  return cur;
}

describe('boxRadiiForSigma', () => {
  it('gives no radii for sigma 0 and radii whose variance matches sigma', () => {
    expect(boxRadiiForSigma(0)).toEqual([]);
    // box widths are odd integers, so tiny sigmas are coarse: 1 px comes out as one 3-px box
    expect(boxRadiiForSigma(1)).toEqual([1]);
    for (const sigma of [2, 3.5, 5, 10, 25]) {
      const radii = boxRadiiForSigma(sigma);
      expect(radii.length).toBe(3);
      expect(Math.abs(blurSigma(radii) - sigma) / sigma).toBeLessThan(0.12);
      expect(blurReach(radii)).toBe(radii[0] + radii[1] + radii[2]);
    }
  });
});

describe('blurChannel', () => {
  it('matches a naive box blur on a random plane (within rounding)', () => {
    const w = 23,
      h = 17;
    const data = new Uint8Array(w * h);
    let seed = 7;
    for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const radii = [2, 3, 3];
    const expected = naiveBox(Array.from(data), w, h, radii);
    const scratch = createBlurScratch({ width: w, height: h }, 1);
    blurChannel(data, w, h, { left: 0, top: 0, right: w, bottom: h }, radii, scratch);
    for (let i = 0; i < data.length; i++) expect(Math.abs(data[i] - expected[i])).toBeLessThanOrEqual(3);
  });

  it('keeps a constant plane constant and leaves pixels outside the bounds alone', () => {
    const w = 10,
      h = 8;
    const data = new Uint8Array(w * h).fill(200);
    data[0] = 7;
    const scratch = createBlurScratch({ width: w, height: h }, 1);
    blurChannel(data, w, h, { left: 2, top: 1, right: 9, bottom: 7 }, boxRadiiForSigma(3), scratch);
    expect(data[0]).toBe(7);
    for (let y = 1; y < 7; y++) for (let x = 2; x < 9; x++) expect(data[y * w + x]).toBe(200);
  });

  it('preserves the mass of a dot inside a large enough rectangle and spreads it symmetrically', () => {
    const w = 41,
      h = 41;
    const data = new Uint8Array(w * h);
    data[20 * w + 20] = 255;
    const f = new Float32Array(w * h);
    f[20 * w + 20] = 255 * 100;
    const radii = boxRadiiForSigma(2);
    blurChannelF32(f, w, h, { left: 0, top: 0, right: w, bottom: h }, radii, createBlurScratchF32({ width: w, height: h }));
    let mass = 0;
    for (let i = 0; i < f.length; i++) mass += f[i];
    expect(mass).toBeCloseTo(25500, 0);
    expect(f[20 * w + 17]).toBeCloseTo(f[20 * w + 23], 3);
    expect(f[17 * w + 20]).toBeCloseTo(f[20 * w + 17], 3);
    // gaussian-like: the centre is near 1/(2 pi sigma^2) (three small boxes are a little flatter)
    const s = blurSigma(radii);
    const ratio = f[20 * w + 20] / 25500 / (1 / (2 * Math.PI * s * s));
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.05);
  });

  it('does nothing with no radii or an empty rectangle', () => {
    const data = Uint8Array.from([1, 2, 3, 4]);
    const scratch = createBlurScratch({ width: 2, height: 2 }, 1);
    blurChannel(data, 2, 2, { left: 0, top: 0, right: 2, bottom: 2 }, [], scratch);
    blurChannel(data, 2, 2, { left: 1, top: 1, right: 1, bottom: 2 }, [1], scratch);
    expect(Array.from(data)).toEqual([1, 2, 3, 4]);
  });
});

describe('blurRgba', () => {
  it('blurs each channel like blurChannel', () => {
    const w = 19,
      h = 13;
    const rgba = new Uint8Array(w * h * 4);
    const planes = [0, 1, 2, 3].map(() => new Uint8Array(w * h));
    let seed = 3;
    for (let i = 0; i < w * h; i++)
      for (let c = 0; c < 4; c++) {
        const v = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
        rgba[i * 4 + c] = v;
        planes[c][i] = v;
      }
    const radii = boxRadiiForSigma(2.5);
    const b = { left: 1, top: 2, right: 18, bottom: 12 };
    blurRgba(rgba, w, h, b, radii, createBlurScratch({ width: w, height: h }, 4));
    const s1 = createBlurScratch({ width: w, height: h }, 1);
    for (let c = 0; c < 4; c++) {
      blurChannel(planes[c], w, h, b, radii, s1);
      for (let i = 0; i < w * h; i++) expect(rgba[i * 4 + c]).toBe(planes[c][i]);
    }
  });
});

describe('span blurs', () => {
  /**
   * A matte shaped like a keyed character's on a w x h plane: per row one span of values (runs of
   * 255 inside, ramps at the ends, an occasional hole), 0 elsewhere, and some rows empty. Writes
   * the spans it used.
   */
  function randomMatte(w: number, h: number, next: () => number, spans: { left: Int32Array; right: Int32Array }): number[] {
    const values = new Array<number>(w * h).fill(0);
    const cx = next() * w;
    const half = 2 + next() * w * 0.4;
    const top = Math.floor(next() * h * 0.3);
    const bottom = h - Math.floor(next() * h * 0.3);
    for (let y = 0; y < h; y++) {
      spans.left[y] = spans.right[y] = 0;
      if (y < top || y >= bottom || next() < 0.02) continue;
      const from = Math.max(0, Math.floor(cx - half * (0.8 + 0.2 * next())));
      const to = Math.min(w, Math.ceil(cx + half * (0.8 + 0.2 * next())));
      if (to <= from) continue;
      for (let x = from; x < to; x++) {
        const edge = Math.min(x - from, to - 1 - x);
        values[y * w + x] = edge > 3 ? (next() < 0.002 ? 0 : 255) : Math.floor(next() * 256);
      }
      spans.left[y] = from;
      spans.right[y] = to;
    }
    return values;
  }

  /** Per row of `bounds`: the longest run of `value` in the plane (the flat runs a caller passes). */
  function longestRuns(plane: ArrayLike<number>, w: number, bounds: { left: number; top: number; right: number; bottom: number }, value: number) {
    const runs = createRowSpans(bounds.bottom);
    for (let y = bounds.top; y < bounds.bottom; y++) {
      for (let x = bounds.left, start = -1; x <= bounds.right; x++) {
        if (x < bounds.right && plane[y * w + x] === value) {
          if (start < 0) start = x;
        } else if (start >= 0) {
          if (x - start > runs.right[y] - runs.left[y]) {
            runs.left[y] = start;
            runs.right[y] = x;
          }
          start = -1;
        }
      }
    }
    return runs;
  }

  /** Where the flat runs returned say the result is `level`, it is. */
  function offRuns(plane: ArrayLike<number>, w: number, runs: { left: Int32Array; right: Int32Array }, level: number): number {
    let off = 0;
    for (let y = 0; y < runs.left.length; y++) for (let x = runs.left[y]; x < runs.right[y]; x++) if (plane[y * w + x] !== level) off++;
    return off;
  }

  const cases = [
    { radii: [2, 2, 2], w: 101, h: 77, bounds: { left: 0, top: 0, right: 101, bottom: 77 } },
    { radii: [2, 2, 3], w: 101, h: 77, bounds: { left: 5, top: 3, right: 98, bottom: 70 } },
    { radii: [1], w: 23, h: 31, bounds: { left: 0, top: 2, right: 23, bottom: 31 } },
    { radii: [3, 4], w: 40, h: 40, bounds: { left: 0, top: 0, right: 40, bottom: 40 } },
    { radii: [7, 8, 8], w: 150, h: 120, bounds: { left: 0, top: 0, right: 150, bottom: 120 } },
  ];

  it("give blurChannel's result and its non-zero extent, with and without flat runs, over a sequence of random mattes on one scratch", () => {
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    let flatCells = 0; // left flat by the blurs: the skipping was exercised
    for (const { radii, w, h, bounds } of cases) {
      const scratch = createSpanBlurScratchU8({ width: w, height: h });
      const spans = createRowSpans(h);
      const data = new Uint8Array(w * h);
      for (let round = 0; round < 8; round++) {
        // The caller's part of the contract: 0 outside the spans (last round's result cleared).
        data.fill(0);
        const values = randomMatte(w, h, next, spans);
        for (let y = bounds.top; y < bounds.bottom; y++) {
          for (let x = bounds.left; x < bounds.right; x++) data[y * w + x] = values[y * w + x]!;
          if (spans.left[y] < bounds.left) spans.left[y] = bounds.left;
          if (spans.right[y] > bounds.right) spans.right[y] = bounds.right;
        }
        const full = data.slice();
        blurChannel(full, w, h, bounds, radii, createBlurScratch({ width: w, height: h }, 1));
        // Every other round with the rows' runs of 255 (the opaque inside) passed as flat.
        const flat = round % 2 === 1 ? longestRuns(data, w, bounds, 255) : null;
        blurChannelSpans(data, w, h, bounds, radii, spans, scratch, flat, 255);
        expect(Array.from(data)).toEqual(Array.from(full));
        if (flat) {
          expect(offRuns(full, w, flat, 255)).toBe(0);
          for (let y = 0; y < flat.left.length; y++) flatCells += flat.right[y] - flat.left[y];
        }
        let outside = 0;
        for (let y = bounds.top; y < bounds.bottom; y++)
          for (let x = bounds.left; x < bounds.right; x++) if (full[y * w + x] !== 0 && (x < spans.left[y] || x >= spans.right[y])) outside++;
        expect(outside).toBe(0);
        expect(scratch.plane.every((v) => v === 0)).toBe(true);
      }
    }
    expect(flatCells).toBeGreaterThan(2000);
  });

  it("give blurChannelF32's result exactly, with and without flat runs, over a sequence of random height fields on one scratch", () => {
    let seed = 5;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    let flatCells = 0;
    for (const { radii, w, h, bounds } of cases) {
      const scratch = createSpanBlurScratchF32({ width: w, height: h });
      const spans = createRowSpans(h);
      const data = new Float32Array(w * h);
      for (let round = 0; round < 9; round++) {
        data.fill(0);
        const values = randomMatte(w, h, next, spans);
        const scale = round % 2 === 0 ? 10 / 255 : 1.7; // a bevel's px per alpha level, and another
        for (let y = bounds.top; y < bounds.bottom; y++) {
          for (let x = bounds.left; x < bounds.right; x++) data[y * w + x] = values[y * w + x] * scale;
          if (spans.left[y] < bounds.left) spans.left[y] = bounds.left;
          if (spans.right[y] > bounds.right) spans.right[y] = bounds.right;
        }
        const full = data.slice();
        blurChannelF32(full, w, h, bounds, radii, createBlurScratchF32({ width: w, height: h }));
        const level = Math.fround(255 * scale);
        const flat = round % 3 !== 0 ? longestRuns(data, w, bounds, level) : null;
        blurChannelF32Spans(data, w, h, bounds, radii, spans, scratch, flat, level);
        if (flat) {
          expect(offRuns(full, w, flat, level)).toBe(0);
          for (let y = 0; y < flat.left.length; y++) flatCells += flat.right[y] - flat.left[y];
        }
        let differ = 0;
        for (let i = 0; i < data.length; i++) if (data[i] !== full[i]) differ++;
        expect(differ).toBe(0);
        let outside = 0;
        for (let y = bounds.top; y < bounds.bottom; y++)
          for (let x = bounds.left; x < bounds.right; x++) if (full[y * w + x] !== 0 && (x < spans.left[y] || x >= spans.right[y])) outside++;
        expect(outside).toBe(0);
        expect(scratch.plane.every((v) => v === 0)).toBe(true);
      }
    }
    expect(flatCells).toBeGreaterThan(2000);
  });
});

describe('visibleSpans', () => {
  it('finds the first and last visible pixel of each row of the box, and nothing on an empty row', () => {
    const w = 37,
      h = 5;
    const rgba = new Uint8Array(w * h * 4).fill(200);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 0;
    const visible = [[], [0], [36], [3, 4, 20], [1, 9, 10, 11, 35]];
    visible.forEach((xs, y) => xs.forEach((x) => (rgba[(y * w + x) * 4 + 3] = 1)));
    const spans = createRowSpans(h);
    visibleSpans(rgba, w, { left: 0, top: 0, right: w, bottom: h }, spans);
    expect(Array.from(spans.left)).toEqual([0, 0, 36, 3, 1]);
    expect(Array.from(spans.right)).toEqual([0, 1, 37, 21, 36]);
    // Within a box: what lies outside it is not looked at.
    visibleSpans(rgba, w, { left: 2, top: 3, right: 30, bottom: 5 }, spans);
    expect([spans.left[3], spans.right[3], spans.left[4], spans.right[4]]).toEqual([3, 21, 9, 12]);
  });
});
