import { describe, expect, it } from 'vitest';
import {
  alphaPlane,
  connectivityError,
  edgeColourError,
  edgeSpill,
  flicker,
  gaussianDerivativeKernel,
  gradientError,
  gradientMagnitude,
  meanSquaredError,
  sumOfAbsoluteDifferences,
  type Plane,
} from '../src/keying/metrics.js';

const plane = (width: number, height: number, values: number[]): Plane => ({ data: Uint8Array.from(values), width, height });

describe('SAD and MSE', () => {
  it('sum |difference| and average the squared difference, in alpha units', () => {
    // 2x2: one pixel fully wrong (255), one off by 51 (0.2), two right.
    const truth = Uint8Array.from([0, 255, 255, 0]);
    const pred = Uint8Array.from([255, 204, 255, 0]);
    expect(sumOfAbsoluteDifferences(pred, truth)).toBeCloseTo(1.2, 12);
    expect(meanSquaredError(pred, truth)).toBeCloseTo((1 + 0.04) / 4, 12);
    expect(sumOfAbsoluteDifferences(truth, truth)).toBe(0);
    expect(() => sumOfAbsoluteDifferences(pred, new Uint8Array(3))).toThrow(/same size/);
  });
});

describe('connectivity error', () => {
  it('charges a pixel kept apart from the character (4-connected), not one that belongs to it', () => {
    // Truth: one opaque pixel in the centre. Pred adds an opaque corner pixel, only diagonally
    // connected. Every threshold's largest component is the centre, so the corner's level is 0,
    // phi_pred = 1 - 1 = 0 there against phi_truth = 1: error 1. Everything else agrees.
    const truth = plane(3, 3, [0, 0, 0, 0, 255, 0, 0, 0, 0]);
    const pred = plane(3, 3, [0, 0, 0, 0, 255, 0, 0, 0, 255]);
    expect(connectivityError(pred, truth)).toBeCloseTo(1, 12);
    expect(connectivityError(truth, truth)).toBe(0);
  });

  it('computes levels per threshold as the reference code does', () => {
    // Row of 4: truth 1, 1, 1, 0.392; pred 1, 1, 0.251, 0.392.
    // t = 0.1, 0.2: all four are in both and connected. t = 0.3: pixel 2 (0.251) drops out of
    // pred, splitting {0, 1} from {3}: pixels 2 and 3 get level 0.2. Pixels 0, 1 stay to t = 1: level 1.
    // d = alpha - level: pred 0, 0, 0.051, 0.192; truth 0, 0, 0.8, 0.192.
    // phi (1 - d where d >= 0.15): pred 1, 1, 1, 0.808; truth 1, 1, 0.2, 0.808. Error |1 - 0.2| = 0.8.
    const truth = plane(4, 1, [255, 255, 255, 100]);
    const pred = plane(4, 1, [255, 255, 64, 100]);
    expect(connectivityError(pred, truth)).toBeCloseTo(0.8, 12);
    expect(sumOfAbsoluteDifferences(pred.data, truth.data)).toBeCloseTo(191 / 255, 12);
  });
});

describe('gradient error', () => {
  it("uses gaussgradient's 9x9 kernel at sigma 1.4 (half size ceil(3.62) = 4)", () => {
    const { gauss, derivative, norm } = gaussianDerivativeKernel(1.4);
    expect(gauss.length).toBe(9);
    expect(Math.abs(derivative[4]!)).toBe(0);
    // Unit L2 norm of the 2-D kernel g(row) * g'(col).
    let sum = 0;
    for (const g of gauss) for (const d of derivative) sum += (g * d * norm) ** 2;
    expect(sum).toBeCloseTo(1, 12);
  });

  it('gives a ramp its closed-form slope in the interior, and 0 for a flat matte', () => {
    // alpha = 10 x / 255 along x. Inside the borders the x-derivative is
    // norm * sum_k g(k) * (10 / 255) * sum_k k^2 g(k) / sigma^2, and the y-derivative is 0.
    const w = 20;
    const h = 12;
    const values: number[] = [];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) values.push(10 * x);
    const ramp = plane(w, h, values);
    const sigma = 1.4;
    let g0 = 0;
    let m2 = 0;
    let g2 = 0;
    let d2 = 0;
    for (let k = -4; k <= 4; k++) {
      const g = Math.exp((-k * k) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI));
      g0 += g;
      m2 += (k * k * g) / (sigma * sigma);
      g2 += g * g;
      d2 += ((k * g) / (sigma * sigma)) ** 2;
    }
    const expected = (g0 * (10 / 255) * m2) / Math.sqrt(g2 * d2);
    const magnitude = gradientMagnitude(ramp);
    expect(magnitude[6 * w + 10]).toBeCloseTo(expected, 12);
    const flat = plane(w, h, new Array(w * h).fill(128));
    expect(Math.max(...gradientMagnitude(flat))).toBeCloseTo(0, 12);
    expect(gradientError(ramp, ramp)).toBe(0);
  });

  it('matches a direct 2-D convolution with replicated borders (the MATLAB imfilter path)', () => {
    const w = 11;
    const h = 9;
    let seed = 7;
    const values: number[] = [];
    for (let i = 0; i < w * h; i++) values.push((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
    const pred = plane(w, h, values);
    const truth = plane(
      w,
      h,
      values.map((v, i) => (i % 3 === 0 ? 255 - v : v)),
    );
    const { gauss, derivative, norm } = gaussianDerivativeKernel(1.4);
    const direct = (p: Plane) => {
      const out: number[] = [];
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let gx = 0;
          let gy = 0;
          for (let i = -4; i <= 4; i++) {
            for (let j = -4; j <= 4; j++) {
              const yy = Math.min(h - 1, Math.max(0, y - i));
              const xx = Math.min(w - 1, Math.max(0, x - j));
              const v = p.data[yy * w + xx]! / 255;
              gx += v * gauss[i + 4]! * derivative[j + 4]! * norm; // hx(i, j) = g(i) g'(j)
              gy += v * derivative[i + 4]! * gauss[j + 4]! * norm; // hy = hx'
            }
          }
          out.push(Math.sqrt(gx * gx + gy * gy));
        }
      }
      return out;
    };
    const dp = direct(pred);
    const dt = direct(truth);
    let expected = 0;
    for (let i = 0; i < dp.length; i++) expected += (dp[i]! - dt[i]!) ** 2;
    expect(expected).toBeGreaterThan(0.1);
    expect(gradientError(pred, truth)).toBeCloseTo(expected, 10);
  });
});

describe('edge spill', () => {
  it("counts screen excess beyond the true colour's own, on semi-transparent kept pixels only", () => {
    // Pixel 0: semi (128), out G 200 vs max(R, B) 150 = 50, true fg grey: spill 50.
    // Pixel 1: semi, a teal prop: true excess 30, out excess 40: spill 10.
    // Pixel 2: semi but keyed out (alpha 0): not counted. Pixel 3: opaque truth: not counted.
    const truthAlpha = Uint8Array.from([128, 60, 200, 255]);
    const fg = Uint8Array.from([120, 120, 120, 40, 170, 140, 0, 0, 0, 0, 255, 0]);
    const rgba = Uint8Array.from([150, 200, 100, 128, 40, 180, 140, 60, 0, 255, 0, 0, 0, 255, 0, 255]);
    expect(edgeSpill(rgba, truthAlpha, fg, 'green')).toEqual({ excess: 60, pixels: 2 });
    // On blue the screen channel is B: pixel 0 has B 100 < 150: none; pixel 1: 140 - 180 < 0: none.
    expect(edgeSpill(rgba, truthAlpha, fg, 'blue')).toEqual({ excess: 0, pixels: 2 });
  });
});

describe('edge colour error', () => {
  it('compares premultiplied colour on every semi-transparent truth pixel, kept or not', () => {
    // Pixel 0: truth 0.2 x (100, 100, 100) = (20, 20, 20); out 0.4 x (50, 100, 0) = (20, 40, 0):
    // |0| + |20| + |20| over 3. Pixel 1: opaque truth, not counted. Pixel 2: truth (20, 20, 20),
    // keyed out entirely: 20.
    const truthAlpha = Uint8Array.from([51, 255, 51]);
    const fg = Uint8Array.from([100, 100, 100, 9, 9, 9, 100, 100, 100]);
    const rgba = Uint8Array.from([50, 100, 0, 102, 1, 2, 3, 255, 7, 7, 7, 0]);
    const { error, pixels } = edgeColourError(rgba, truthAlpha, fg);
    expect(pixels).toBe(2);
    expect(error).toBeCloseTo(40 / 3 + 20, 10);
  });
});

describe('flicker', () => {
  it('sums |change of alpha| where the truth holds, per still character pixel', () => {
    // Truth holds at pixels 0, 1, 3 (pixel 2 moves); of those, 0 and 1 are character (> 0).
    // Alpha changes by 10 at 0, 0 at 1, 6 at 3 (screen shimmer counts): 16 over 2 pixels.
    const truthA = Uint8Array.from([255, 128, 0, 0]);
    const truthB = Uint8Array.from([255, 128, 90, 0]);
    const a = Uint8Array.from([250, 128, 0, 0]);
    const b = Uint8Array.from([240, 128, 77, 6]);
    expect(flicker(a, b, truthA, truthB)).toEqual({ change: 16, pixels: 2 });
  });

  it('reads the alpha plane out of RGBA', () => {
    expect([...alphaPlane(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]))]).toEqual([4, 8]);
  });
});
