import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createScreenTestKernel, type ScreenTestWeights } from '../src/internal/key-screen-test.js';
import { compileWat } from '../scripts/compile-wat.mjs';

const wat = new URL('../src/internal/key-screen-test.wat', import.meta.url);
const wasm = new URL('../src/internal/key-screen-test.wasm', import.meta.url);

/** A seeded generator (mulberry32): the same rows every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  width: number;
  cols: number;
  pixels: Uint32Array;
  fracX: Float32Array;
  cellEnd: Int32Array;
  rowInv: Float64Array;
  rowDInv: Float64Array;
  weights: ScreenTestWeights;
}

interface Classified {
  screen: number[];
  kept: [number, number][];
  spill: [number, number][];
  first: number;
  last: number;
}

/**
 * The screen test as the keyer ran it in JavaScript before it moved to WebAssembly, one pixel at a
 * time in double precision: the oracle the kernel must match bit for bit.
 */
function reference(row: Row): Classified {
  const { width, cols, pixels, fracX, cellEnd, rowInv, rowDInv, weights } = row;
  const [k0, k1, k2, q0, q1, q2, halfBal] = weights.screenTest;
  const out: Classified = { screen: [], kept: [], spill: [], first: -1, last: -1 };
  for (let cell = 0, i = 0; cell < cols - 1; cell++) {
    const slope = rowDInv[cell] * weights.xStep;
    let inv = i < width ? rowInv[cell] + rowDInv[cell] * fracX[i] : 0;
    for (; i < cellEnd[cell]; i++, inv += slope) {
      const v = pixels[i];
      if (v >>> 24 === 0) continue;
      const r = v & 255,
        g = (v >>> 8) & 255,
        b = (v >>> 16) & 255;
      const core = k0 * r + k1 * g + k2 * b;
      const spread = Math.abs(q0 * r + q1 * g + q2 * b);
      const t = (core - halfBal * spread) * inv;
      if (t >= weights.oneMinusSim) {
        out.screen.push(i);
      } else if (t <= weights.tPlain) {
        if (out.first < 0) out.first = i;
        out.last = i;
        const d = (core - weights.halfBias * spread) * weights.strength;
        if (d > 0 || weights.listAll) out.spill.push([i, d]);
      } else {
        out.kept.push([i, t]);
      }
    }
  }
  return out;
}

function kernelResult(row: Row): Classified {
  const kernel = createScreenTestKernel(row.width, 1, row.cols, 1, row.weights);
  kernel.fracX.set(row.fracX);
  kernel.cellEnd.set(row.cellEnd);
  kernel.rowInv.set(row.rowInv);
  kernel.rowDInv.set(row.rowDInv);
  kernel.planes[0].set(row.pixels);
  const kept = kernel.screenRow(0, kernel.planes[0].byteOffset);
  const [spills, first, last, runs] = kernel.out;
  const out: Classified = { screen: [], kept: [], spill: [], first, last };
  for (let k = 0; k < runs; k++) for (let i = kernel.runs[2 * k]; i < kernel.runs[2 * k + 1]; i++) out.screen.push(i);
  for (let k = 0; k < kept; k++) out.kept.push([kernel.rowKept[k], kernel.rowKeptT[k]]);
  for (let k = 0; k < spills; k++) out.spill.push([kernel.rowSpill[k], kernel.rowSpillD[k]]);
  return out;
}

/** Weights of a green screen's test as key-state.ts derives them, with the key preset's limits. */
const GREEN: ScreenTestWeights = {
  screenTest: Float64Array.of(-0.5, 1, -0.5, 0.866, 0, -0.866, 1),
  oneMinusSim: 0.83,
  tPlain: -0.000001,
  halfBias: 0.25,
  strength: 1,
  xStep: 0,
  listAll: false,
};

/** A row of `width` pixels in `cols - 1` grid cells, inv per cell from `invOf`, colours from `colourOf`. */
function makeRow(
  width: number,
  cols: number,
  weights: ScreenTestWeights,
  invOf: (cell: number) => [number, number],
  colourOf: (x: number, cell: number) => number,
): Row {
  const fracX = new Float32Array(width);
  const cellEnd = new Int32Array(cols - 1);
  const cellOf = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = (x * (cols - 1)) / (width - 1);
    const c = Math.min(cols - 2, Math.floor(fx));
    fracX[x] = fx - c;
    cellOf[x] = c;
    cellEnd[c] = x + 1;
  }
  const rowInv = new Float64Array(cols),
    rowDInv = new Float64Array(cols);
  for (let c = 0; c < cols; c++) [rowInv[c], rowDInv[c]] = invOf(c);
  const pixels = new Uint32Array(width);
  for (let x = 0; x < width; x++) pixels[x] = colourOf(x, cellOf[x]) >>> 0;
  return { width, cols, pixels, fracX, cellEnd, rowInv, rowDInv, weights: { ...weights, xStep: (cols - 1) / (width - 1) } };
}

const rgba = (r: number, g: number, b: number, a = 255) => ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;
const numerator = (w: Float64Array, v: number) => {
  const r = v & 255,
    g = (v >>> 8) & 255,
    b = (v >>> 16) & 255;
  return w[0] * r + w[1] * g + w[2] * b - w[6] * Math.abs(w[3] * r + w[4] * g + w[5] * b);
};

describe('chroma-key screen test (WebAssembly)', () => {
  it('is the binary its .wat source compiles to (edit the .wat, then `pnpm --filter @stickerkey/effects wasm`)', async () => {
    const compiled = await compileWat(wat.pathname);
    expect(Buffer.from(compiled).equals(readFileSync(wasm))).toBe(true);
  });

  it('classifies screen, plain, kept and padding pixels exactly as the one-at-a-time test does', () => {
    const next = random(7);
    const rows = 40;
    let screen = 0,
      kept = 0,
      listed = 0;
    for (let n = 0; n < rows; n++) {
      const listAll = n % 3 === 0;
      const row = makeRow(
        333 + n,
        9 + (n % 7),
        { ...GREEN, listAll, strength: n % 4 === 0 ? 0 : 1 },
        () => [(0.004 + 0.01 * next()) * (n % 5 === 0 ? -1 : 1), 0.004 * (next() - 0.5)],
        (x) => {
          // canvas padding at the ends of every other row, as the pipeline adds margins
          if (n % 2 === 0 && (x < 9 || x >= 333 + n - 13)) return rgba(0, 0, 0, 0);
          const kind = next();
          // mostly a noisy screen, some character colours, some mixes, a little padding
          if (kind < 0.6) return rgba(40 + 30 * next(), 150 + 90 * next(), 50 + 30 * next());
          if (kind < 0.8) return rgba(255 * next(), 255 * next(), 255 * next());
          if (kind < 0.97) return rgba(100 + 80 * next(), 120 + 60 * next(), 70 + 60 * next());
          return rgba(0, 200, 0, 0);
        },
      );
      const want = reference(row);
      expect(kernelResult(row)).toEqual(want);
      screen += want.screen.length;
      kept += want.kept.length;
      listed += want.spill.length;
    }
    // The rows hold every case (screen, kept, plain listed for despill), and the fast path (four
    // screen pixels at once) had most to do.
    expect(screen).toBeGreaterThan(rows * 100);
    expect(kept).toBeGreaterThan(rows * 10);
    expect(listed).toBeGreaterThan(rows * 5);
  });

  it('never takes a pixel a hair below the limit for screen (the single-precision margin holds)', () => {
    const next = random(11);
    const w = GREEN.screenTest;
    let above = 0,
      below = 0;
    for (let n = 0; n < 60; n++) {
      // Each cell's inv puts its colour just above or below the limit, from 1e-4 to 1e-10 of it
      // away: across the single-precision margin (about 1e-6 here), both sides of it.
      const colours: number[] = [];
      const row = makeRow(
        256,
        17,
        GREEN,
        (cell) => {
          let colour = rgba(30 + 60 * next(), 120 + 135 * next(), 30 + 60 * next());
          while (numerator(w, colour) <= 1) colour = rgba(30 + 60 * next(), 120 + 135 * next(), 30 + 60 * next());
          colours[cell] = colour;
          const off = (next() < 0.5 ? -1 : 1) * 10 ** (-4 - 6 * next());
          return [(GREEN.oneMinusSim / numerator(w, colour)) * (1 + off), 0];
        },
        (_, cell) => colours[cell],
      );
      const want = reference(row);
      expect(kernelResult(row)).toEqual(want);
      above += want.screen.length;
      below += want.kept.length;
    }
    expect(above).toBeGreaterThan(3000);
    expect(below).toBeGreaterThan(3000);
  });

  it('never takes a pixel for plain without spill unless it surely is (both margins hold)', () => {
    const next = random(23);
    // Weights where the despill amount's numerator is g - max(r, b): exactly 0 on a lattice of colours.
    const weights: ScreenTestWeights = { ...GREEN, screenTest: Float64Array.of(-0.5, 1, -0.5, 1, 0, -1, 1), halfBias: 0.5, tPlain: -0.05 };
    const w = weights.screenTest;
    let plain = 0,
      spill = 0,
      kept = 0;
    for (let n = 0; n < 60; n++) {
      const colours: number[] = [];
      const row = makeRow(
        256,
        17,
        weights,
        (cell) => {
          if (cell % 2 === 0) {
            // t within 1e-4 to 1e-10 of tPlain, either side, and no spill
            let colour = rgba(60 + 195 * next(), 40 * next(), 60 + 195 * next());
            while (numerator(w, colour) >= -1) colour = rgba(60 + 195 * next(), 40 * next(), 60 + 195 * next());
            colours[cell] = colour;
            const off = (next() < 0.5 ? -1 : 1) * 10 ** (-4 - 6 * next());
            return [(weights.tPlain / numerator(w, colour)) * (1 + off), 0];
          }
          // surely plain, with g at max(r, b) - 1, at it, or at it + 1: spill of -1, 0 or 1
          const r = 40 + Math.floor(100 * next()),
            b = 40 + Math.floor(100 * next());
          colours[cell] = rgba(r, Math.max(r, b) + Math.floor(3 * next()) - 1, b);
          return [0.01, 0];
        },
        (_, cell) => colours[cell],
      );
      const want = reference(row);
      expect(kernelResult(row)).toEqual(want);
      plain += row.width - want.screen.length - want.kept.length;
      spill += want.spill.length;
      kept += want.kept.length;
    }
    expect(plain).toBeGreaterThan(3000);
    expect(spill).toBeGreaterThan(1000);
    expect(kept).toBeGreaterThan(1000);
  });
});
