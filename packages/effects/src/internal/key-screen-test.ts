/**
 * The keying pass's screen test in WebAssembly (key-screen-test.wat, compiled to the .wasm beside
 * it by `pnpm --filter @stickerkey/effects wasm`). It runs on every pixel of every frame and was
 * half of the keyer's CPU: V8 compiled the JavaScript loop to about 50 instructions a pixel (array
 * checks, spills, a floating-point chain per pixel). The module tests four pixels at once in
 * single precision against margins that make them surely screen or surely plain without spill,
 * and takes every pixel it cannot settle so one at a time in double precision, exactly as the
 * JavaScript did: the output is the same bytes (keyer-hashes.mjs).
 *
 * WebAssembly reads only its own memory, so everything the test reads and writes lives in one
 * per keyer state: the source planes (this frame's colours, which the keying pass copies in
 * anyway, and the temporal pass's previous ones: the two swap), the grid's row terms, and the
 * lists it hands keyKeptRow and despillRow. The JavaScript passes use typed-array views of it.
 * Screen pixels come back as runs, which the caller zeroes in the frame (a fill per run).
 */
import { readFileSync } from 'node:fs';

/** Compiled once per thread (each worker thread imports this module once). */
const MODULE = new WebAssembly.Module(readFileSync(new URL('./key-screen-test.wasm', import.meta.url)));

/** The parameter block's layout (key-screen-test.wat): byte offsets. */
const F64_PARAMS = 0;
const I32_PARAMS = 128;
const I32_OUT = 192;
const F32X4_WEIGHTS = 256;
const HEADER_BYTES = 512;

export interface ScreenTestKernel {
  /** Per column, the fraction from its grid node to the next; per cell, the column it ends at. */
  readonly fracX: Float32Array;
  readonly cellEnd: Int32Array;
  /** The grid at the current row (written by gridRow before each row). */
  readonly rowInv: Float64Array;
  readonly rowDInv: Float64Array;
  /** What the test lists per row: kept pixels' x and t, plain pixels' x and spill. */
  readonly rowKept: Int32Array;
  readonly rowKeptT: Float64Array;
  readonly rowSpill: Int32Array;
  readonly rowSpillD: Float64Array;
  /** The source planes: [this frame's, the previous frame's] (one when nothing keeps history). */
  readonly planes: readonly Uint32Array[];
  /** Screen runs of the last row: [start, end) pixel index pairs. */
  readonly runs: Int32Array;
  /** Of the last row: spills, first plain x, last plain x, runs. */
  readonly out: Int32Array;
  /** Tests row `row` (its first pixel's index) of the plane at byte offset `src`; returns how many were kept. */
  readonly screenRow: (row: number, src: number) => number;
}

/** The test's weights and limits (see key-state.ts). */
export interface ScreenTestWeights {
  /** k0 k1 k2 q0 q1 q2 halfBal. */
  readonly screenTest: Float64Array;
  readonly oneMinusSim: number;
  readonly tPlain: number;
  readonly halfBias: number;
  readonly strength: number;
  readonly xStep: number;
  /** Every plain pixel listed for despillRow, spill or not (key-state.ts plainOverChannel). */
  readonly listAll: boolean;
}

export function createScreenTestKernel(width: number, height: number, cols: number, planes: 1 | 2, weights: ScreenTestWeights): ScreenTestKernel {
  let end = HEADER_BYTES;
  // 16-byte aligned: the test loads four pixels at once.
  const take = (bytes: number): number => {
    const at = end;
    end += (bytes + 15) & ~15;
    return at;
  };
  const at = {
    cellEnd: take(4 * (cols - 1)),
    rowInv: take(8 * cols),
    rowDInv: take(8 * cols),
    fracX: take(4 * width),
    kept: take(4 * width),
    keptT: take(8 * width),
    spill: take(4 * width),
    spillD: take(8 * width),
    // At most one run per two pixels, and one more.
    runs: take(8 * (width + 1)),
    planes: Array.from({ length: planes }, () => take(4 * width * height)),
  };
  const memory = new WebAssembly.Memory({ initial: Math.ceil(end / 65536) });
  const buffer = memory.buffer;
  const instance = new WebAssembly.Instance(MODULE, { env: { memory } });
  const screenRow = instance.exports.screenRow as (row: number, src: number) => number;

  const w = weights.screenTest;
  new Float64Array(buffer, F64_PARAMS, 13).set([
    ...w,
    weights.oneMinusSim,
    weights.tPlain,
    weights.halfBias,
    weights.strength,
    weights.xStep,
    numeratorError(w, weights.halfBias),
  ]);
  new Int32Array(buffer, I32_PARAMS, 12).set([
    width,
    cols,
    weights.listAll ? 1 : 0,
    at.cellEnd,
    at.rowInv,
    at.rowDInv,
    at.fracX,
    at.kept,
    at.keptT,
    at.spill,
    at.spillD,
    at.runs,
  ]);
  const f32 = new Float32Array(buffer, F32X4_WEIGHTS, 28);
  for (let k = 0; k < 7; k++) f32.fill(Math.fround(w[k]), 4 * k, 4 * k + 4);
  const masks = new Uint32Array(buffer, F32X4_WEIGHTS + 112, 8);
  masks.fill(255, 0, 4);
  masks.fill(0xff000000, 4, 8);
  new Float32Array(buffer, F32X4_WEIGHTS + 144, 4).fill(Math.fround(weights.halfBias));

  return {
    fracX: new Float32Array(buffer, at.fracX, width),
    cellEnd: new Int32Array(buffer, at.cellEnd, cols - 1),
    rowInv: new Float64Array(buffer, at.rowInv, cols),
    rowDInv: new Float64Array(buffer, at.rowDInv, cols),
    rowKept: new Int32Array(buffer, at.kept, width),
    rowKeptT: new Float64Array(buffer, at.keptT, width),
    rowSpill: new Int32Array(buffer, at.spill, width),
    rowSpillD: new Float64Array(buffer, at.spillD, width),
    planes: at.planes.map((offset) => new Uint32Array(buffer, offset, width * height)),
    runs: new Int32Array(buffer, at.runs, 2 * (width + 1)),
    out: new Int32Array(buffer, I32_OUT, 4),
    screenRow,
  };
}

/**
 * How far an f32x4 numerator (core - halfBal |diff| of the screen test, core - halfBias |diff| of
 * the despill amount, from 0-255 channels) can be from the f64 one: each f32 weight and each of
 * the eight roundings is off by at most 2^-24 of a magnitude no larger than 255 times the sum of
 * |weights| (the f64 error is a billionth of that). Four times that, plus an absolute billionth.
 */
export function numeratorError(w: Float64Array, halfBias: number): number {
  const spread = Math.max(Math.abs(w[6]), Math.abs(halfBias));
  const scale = 255 * (Math.abs(w[0]) + Math.abs(w[1]) + Math.abs(w[2]) + spread * (Math.abs(w[3]) + Math.abs(w[4]) + Math.abs(w[5])));
  return 4 * 8 * 2 ** -24 * scale + 1e-9;
}
