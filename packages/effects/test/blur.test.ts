import { describe, expect, it } from 'vitest';
import {
  blurChannel,
  blurChannelF32,
  blurReach,
  blurRgba,
  blurSigma,
  boxRadiiForSigma,
  createBlurScratch,
  createBlurScratchF32,
} from '../src/internal/blur.js';

/** Reference: the same box passes computed naively, with clamped edges, in float. */
function naiveBox(src: number[], w: number, h: number, radii: number[]): number[] {
  let cur = src.slice();
  for (const r of radii) {
    const next = cur.slice();
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += cur[y * w + Math.min(w - 1, Math.max(0, x + i))]!;
        next[y * w + x] = s / (2 * r + 1);
      }
    cur = next;
  }
  for (const r of radii) {
    const next = cur.slice();
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += cur[Math.min(h - 1, Math.max(0, y + i)) * w + x]!;
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
      expect(blurReach(radii)).toBe(radii[0]! + radii[1]! + radii[2]!);
    }
  });
});

describe('blurChannel', () => {
  it('matches a naive box blur on a random plane (within rounding)', () => {
    const w = 23, h = 17;
    const data = new Uint8Array(w * h);
    let seed = 7;
    for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const radii = [2, 3, 3];
    const expected = naiveBox(Array.from(data), w, h, radii);
    const scratch = createBlurScratch({ width: w, height: h }, 1);
    blurChannel(data, w, h, { left: 0, top: 0, right: w, bottom: h }, radii, scratch);
    for (let i = 0; i < data.length; i++) expect(Math.abs(data[i]! - expected[i]!)).toBeLessThanOrEqual(3);
  });

  it('keeps a constant plane constant and leaves pixels outside the bounds alone', () => {
    const w = 10, h = 8;
    const data = new Uint8Array(w * h).fill(200);
    data[0] = 7;
    const scratch = createBlurScratch({ width: w, height: h }, 1);
    blurChannel(data, w, h, { left: 2, top: 1, right: 9, bottom: 7 }, boxRadiiForSigma(3), scratch);
    expect(data[0]).toBe(7);
    for (let y = 1; y < 7; y++) for (let x = 2; x < 9; x++) expect(data[y * w + x]).toBe(200);
  });

  it('preserves the mass of a dot inside a large enough rectangle and spreads it symmetrically', () => {
    const w = 41, h = 41;
    const data = new Uint8Array(w * h);
    data[20 * w + 20] = 255;
    const f = new Float32Array(w * h);
    f[20 * w + 20] = 255 * 100;
    const radii = boxRadiiForSigma(2);
    blurChannelF32(f, w, h, { left: 0, top: 0, right: w, bottom: h }, radii, createBlurScratchF32({ width: w, height: h }));
    let mass = 0;
    for (let i = 0; i < f.length; i++) mass += f[i]!;
    expect(mass).toBeCloseTo(25500, 0);
    expect(f[20 * w + 17]).toBeCloseTo(f[20 * w + 23]!, 3);
    expect(f[17 * w + 20]).toBeCloseTo(f[20 * w + 17]!, 3);
    // gaussian-like: the centre is near 1/(2 pi sigma^2) (three small boxes are a little flatter)
    const s = blurSigma(radii);
    const ratio = f[20 * w + 20]! / 25500 / (1 / (2 * Math.PI * s * s));
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
    const w = 19, h = 13;
    const rgba = new Uint8Array(w * h * 4);
    const planes = [0, 1, 2, 3].map(() => new Uint8Array(w * h));
    let seed = 3;
    for (let i = 0; i < w * h; i++)
      for (let c = 0; c < 4; c++) {
        const v = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
        rgba[i * 4 + c] = v;
        planes[c]![i] = v;
      }
    const radii = boxRadiiForSigma(2.5);
    const b = { left: 1, top: 2, right: 18, bottom: 12 };
    blurRgba(rgba, w, h, b, radii, createBlurScratch({ width: w, height: h }, 4));
    const s1 = createBlurScratch({ width: w, height: h }, 1);
    for (let c = 0; c < 4; c++) {
      blurChannel(planes[c]!, w, h, b, radii, s1);
      for (let i = 0; i < w * h; i++) expect(rgba[i * 4 + c]).toBe(planes[c]![i]);
    }
  });
});
