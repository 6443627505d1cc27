import { describe, expect, it } from 'vitest';
import { createRowSpans, findRowSpans, findSolidRuns, visibleSpans } from '../src/internal/row-spans.js';

/** Deterministic rows of runs: long opaque insides, soft edges, gaps, specks and empty rows. */
function matte(width: number, height: number, seed: number): Uint8Array {
  const out = new Uint8Array(width * height);
  let h = seed >>> 0;
  const rand = () => (h = (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32;
  for (let y = 0; y < height; y++) {
    if (rand() < 0.15) continue;
    let x = Math.floor(rand() * 20);
    while (x < width) {
      const run = 1 + Math.floor(rand() ** 2 * 60);
      const value = [255, 255, 128, 127, 1, 200][Math.floor(rand() * 6)];
      for (let k = 0; k < run && x < width; k++, x++) out[y * width + x] = value;
      x += Math.floor(rand() ** 3 * 40);
    }
  }
  return out;
}

/** The same values as the alpha of RGBA pixels whose colour bytes are noise. */
function asAlpha(values: Uint8Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  for (let i = 0; i < values.length; i++) out.set([(i * 37) & 255, (i * 91) & 255, 255, values[i]], i * 4);
  return out;
}

function naiveSpan(values: Uint8Array, width: number, y: number, x0: number, x1: number, threshold: number): [number, number] {
  let first = -1,
    last = -1;
  for (let x = x0; x < x1; x++) {
    if (values[y * width + x] >= threshold) {
      if (first < 0) first = x;
      last = x;
    }
  }
  return first < 0 ? [x0, x0] : [first, last + 1];
}

function naiveLongestRun(values: Uint8Array, width: number, y: number, from: number, to: number, threshold: number, x0: number): [number, number] {
  let bestLeft = x0,
    best = 0;
  for (let x = from; x < to;) {
    while (x < to && values[y * width + x] < threshold) x++;
    const start = x;
    while (x < to && values[y * width + x] >= threshold) x++;
    if (x - start > best) {
      best = x - start;
      bestLeft = start;
    }
  }
  return [bestLeft, bestLeft + best];
}

describe('row spans', () => {
  const width = 157;
  const height = 60;
  const bounds = { left: 3, top: 2, right: 150, bottom: 57 };

  for (const threshold of [1, 100, 128, 200, 255]) {
    it(`findRowSpans and findSolidRuns match a plain scan (threshold ${threshold}, plane and RGBA alpha)`, () => {
      for (let seed = 1; seed <= 4; seed++) {
        const values = matte(width, height, seed);
        for (const [data, stride, offset] of [
          [values, 1, 0],
          [asAlpha(values), 4, 3],
        ] as const) {
          const spans = createRowSpans(height);
          const runs = createRowSpans(height);
          findRowSpans(data, width, height, bounds, threshold, spans, stride, offset);
          findSolidRuns(data, width, height, bounds, threshold, spans, runs, stride, offset);
          for (let y = bounds.top; y < bounds.bottom; y++) {
            const span = naiveSpan(values, width, y, bounds.left, bounds.right, threshold);
            expect([spans.left[y], spans.right[y]], `span of row ${y}`).toEqual(span);
            expect([runs.left[y], runs.right[y]], `run of row ${y}`).toEqual(naiveLongestRun(values, width, y, span[0], span[1], threshold, bounds.left));
          }
        }
      }
    });
  }

  it('visibleSpans finds the first and last visible pixel of every row', () => {
    const values = matte(width, height, 9);
    const spans = createRowSpans(height);
    visibleSpans(asAlpha(values), width, bounds, spans);
    for (let y = bounds.top; y < bounds.bottom; y++) {
      const [l, r] = naiveSpan(values, width, y, bounds.left, bounds.right, 1);
      if (r <= l) expect(spans.right[y] <= spans.left[y]).toBe(true);
      else expect([spans.left[y], spans.right[y]]).toEqual([l, r]);
    }
  });
});
