/**
 * The procedural textures' generator, on its own with no imports: a texture thread
 * (texture-thread.ts) loads only this, so it starts in a few milliseconds. Integer hashing only,
 * so the same seed and size give the same bytes on every machine. The bytes are a
 * SharedArrayBuffer, so a texture made in a thread reaches the pipeline, and from there the stage
 * threads, without a copy.
 */

export type ProceduralKind = 'paper' | 'grain' | 'noise';

/**
 * Bytes per pixel of each kind: paper and grain are grey (red = green = blue, opaque), so one byte
 * holds a pixel; noise has an independent field in each of red, green and blue. A grey texture
 * kept as RGBA would be four times the memory for nothing: 9 MB instead of 2.3 at a 1080p canvas,
 * held by the texture cache for the job (and beyond), and every page of it touched once more at
 * set-up, which costs CPU on a microVM.
 */
export const PROCEDURAL_CHANNELS: Readonly<Record<ProceduralKind, 1 | 4>> = { paper: 1, grain: 1, noise: 4 };

/** The recipe of a procedural texture (TextureSpec without the file). */
export interface ProceduralSpec {
  readonly procedural: ProceduralKind;
  readonly seed: number;
  /** `noise`: the lattice cell in pixels; `paper`/`grain`: a multiplier of the grain size. */
  readonly scale: number;
  /** `noise` only: 1 = smooth value noise, more = fractal. */
  readonly octaves?: number;
}

/** 32-bit integer hash of a lattice point (murmur3 finaliser): uniform in [0, 1). */
function hash(x: number, y: number, seed: number): number {
  let h = (Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ Math.imul(seed + 0x9e3779b9, 0x85ebca6b)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * Math.round(v) for a v >= 0 whose v + 0.5 is exact, as an int32: the same value. The textures'
 * bytes are a float32 times a small integer (255, 80), at most 32 significant bits, so adding a
 * half cannot round. Why not Math.round itself: V8 compiles Math.round followed by a store into a
 * Uint8Array to a slow conversion. Measured on the 1080p noise texture's mapping loops (three channels),
 * 84-85 ms with Math.round against 15-17 ms with this, the same bytes.
 */
function roundNonNegative(v: number): number {
  return (v + 0.5) | 0;
}

/**
 * One octave of value noise over a w*h picture, made a row at a time: lattice values from the
 * hash, smoothstep interpolation. Set up once (the lattice, each column's cell and weight);
 * `addRow` then adds `amplitude * valueNoise(x / cell, y / cell)` to one row. Separable: the lerp
 * along x of a lattice row is the same for every pixel row in its cell, so it is made once per
 * lattice row (`upper`, `lower`), and the per-pixel work is one lerp along y. The rows are
 * float64, as the lerps were when made per pixel, so the bytes are the same as before.
 *
 * Why by rows: a texture sums several octaves and then maps the sum to bytes. Made a whole
 * picture per octave, each octave was a pass over a canvas-sized float field (9 MB at a 1080p
 * canvas) and the mapping another; by rows, every octave and the mapping work on one row that
 * stays in the cache, in the same order of operations (so the same float32 roundings and bytes).
 * Textures are made at set-up, on the job's critical path, in a fresh thread, so this is set-up time.
 */
class ValueNoiseRows {
  private readonly width: number;
  private readonly cell: number;
  private readonly gw: number;
  private readonly lattice: Float32Array;
  private readonly colCell: Int32Array;
  private readonly colWeight: Float32Array;
  private upper: Float64Array;
  private lower: Float64Array;
  /** The lattice row `upper` holds; -1 before the first row. */
  private upperRow = -1;

  constructor(width: number, height: number, cell: number, seed: number) {
    this.width = width;
    this.cell = cell;
    const gw = Math.floor((width - 1) / cell) + 2;
    const gh = Math.floor((height - 1) / cell) + 2;
    this.gw = gw;
    const lattice = new Float32Array(gw * gh);
    for (let gy = 0, i = 0; gy < gh; gy++) for (let gx = 0; gx < gw; gx++, i++) lattice[i] = hash(gx, gy, seed);
    this.lattice = lattice;
    this.colCell = new Int32Array(width);
    this.colWeight = new Float32Array(width);
    for (let x = 0; x < width; x++) {
      const g = x / cell;
      const ix = Math.floor(g);
      const f = g - ix;
      this.colCell[x] = ix;
      this.colWeight[x] = f * f * (3 - 2 * f);
    }
    this.upper = new Float64Array(width);
    this.lower = new Float64Array(width);
  }

  private latticeRow(gy: number, into: Float64Array): void {
    const { lattice, colCell, colWeight, width } = this;
    const row = gy * this.gw;
    for (let x = 0; x < width; x++) {
      const ix = row + colCell[x];
      into[x] = lattice[ix] + (lattice[ix + 1] - lattice[ix]) * colWeight[x];
    }
  }

  /** Adds this octave's row `y` (rows in increasing order) times `amplitude` to `row`. */
  addRow(y: number, row: Float32Array, amplitude: number): void {
    const g = y / this.cell;
    const iy = Math.floor(g);
    const f = g - iy;
    const sy = f * f * (3 - 2 * f);
    if (iy !== this.upperRow) {
      if (this.upperRow >= 0 && iy === this.upperRow + 1) {
        // The next cell down: its upper row is the last cell's lower one.
        const upper = this.upper;
        this.upper = this.lower;
        this.lower = upper;
      } else {
        this.latticeRow(iy, this.upper);
      }
      this.latticeRow(iy + 1, this.lower);
      this.upperRow = iy;
    }
    const { upper, lower, width } = this;
    for (let x = 0; x < width; x++) {
      const a = upper[x];
      row[x] += amplitude * (a + (lower[x] - a) * sy);
    }
  }
}

/** Octaves of value noise summed a row at a time: row = sum of amplitude * octave, in octave order, from 0. */
class OctaveRows {
  private readonly octaves: ValueNoiseRows[];
  private readonly amplitudes: number[];

  constructor(width: number, height: number, octaves: ReadonlyArray<{ cell: number; seed: number; amplitude: number }>) {
    this.octaves = octaves.map((o) => new ValueNoiseRows(width, height, o.cell, o.seed));
    this.amplitudes = octaves.map((o) => o.amplitude);
  }

  /** Row `y` of the sum into `row` (overwritten); rows in increasing order. */
  sumRow(y: number, row: Float32Array): void {
    row.fill(0);
    for (let o = 0; o < this.octaves.length; o++) this.octaves[o].addRow(y, row, this.amplitudes[o]);
  }
}

/** Paper grain's octaves, summing to [0, 1]: fine tooth, mid-size fibres and slow mottling. */
function paperOctaves(width: number, height: number, scale: number, seed: number): OctaveRows {
  return new OctaveRows(width, height, [
    { cell: Math.max(1, 1.5 * scale), seed, amplitude: 0.5 },
    { cell: Math.max(1, 6 * scale), seed: (seed + 7919) | 0, amplitude: 0.3 },
    { cell: Math.max(1, 48 * scale), seed: (seed + 104729) | 0, amplitude: 0.2 },
  ]);
}

/**
 * Fractal value noise into `field` (overwritten), each octave half the cell and half the weight
 * of the one before; returns the field's least and greatest values, so the caller can stretch it
 * to fill [0, 1] (the map reaches its full range). The caller hands the same field for every
 * channel: a fresh 1080p field is 9 MB of pages touched for the first time, dear in a microVM.
 */
function noiseField(field: Float32Array, width: number, height: number, cell: number, octaves: number, seed: number): { lo: number; hi: number } {
  const spec: Array<{ cell: number; seed: number; amplitude: number }> = [];
  for (let o = 0, amplitude = 1, c = cell; o < octaves; o++, amplitude *= 0.5, c *= 0.5) {
    spec.push({ cell: Math.max(1, c), seed: (seed + o * 1013) | 0, amplitude });
  }
  const rows = new OctaveRows(width, height, spec);
  let lo = Infinity;
  let hi = -Infinity;
  for (let y = 0; y < height; y++) {
    const row = field.subarray(y * width, (y + 1) * width);
    rows.sumRow(y, row);
    for (let x = 0; x < width; x++) {
      const v = row[x];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return { lo, hi };
}

/**
 * The texture's bytes, `PROCEDURAL_CHANNELS[spec.procedural]` per pixel (grey: one; noise: RGBA).
 * Exported for tests and tools; effects go through loadTexture (cached), which may run this in a
 * texture thread.
 */
export function generateTexture(spec: ProceduralSpec, size: { readonly width: number; readonly height: number }): Uint8Array {
  const { width, height } = size;
  const n = width * height;
  const data = new Uint8Array(new SharedArrayBuffer(n * PROCEDURAL_CHANNELS[spec.procedural]));
  const seed = spec.seed | 0;
  switch (spec.procedural) {
    case 'paper':
    case 'grain': {
      const rows = paperOctaves(width, height, spec.scale, seed);
      const row = new Float32Array(width);
      // Paper lies in 175..255 (multiply darkens at most by a third); grain is its complement.
      const dark = spec.procedural === 'grain';
      for (let y = 0, i = 0; y < height; y++) {
        rows.sumRow(y, row);
        for (let x = 0; x < width; x++, i++) {
          const g = roundNonNegative(80 * row[x]);
          data[i] = dark ? g : 255 - g;
        }
      }
      break;
    }
    case 'noise': {
      const octaves = Math.max(1, spec.octaves ?? 1);
      const field = new Float32Array(n);
      for (let c = 0; c < 3; c++) {
        const { lo, hi } = noiseField(field, width, height, spec.scale, octaves, (seed + c * 65537) | 0);
        // Stretched to [0, 1] as a float32 (the field's own type), then to a byte.
        const k = hi > lo ? 1 / (hi - lo) : 0;
        for (let i = 0, p = c; i < n; i++, p += 4) data[p] = roundNonNegative(255 * Math.fround((field[i] - lo) * k));
      }
      for (let p = 3; p < n * 4; p += 4) data[p] = 255;
      break;
    }
  }
  return data;
}
