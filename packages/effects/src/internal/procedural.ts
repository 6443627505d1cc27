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
 * Adds `amplitude * valueNoise(x / cell, y / cell)` to `out` (w*h floats): lattice values from the
 * hash, smoothstep interpolation. Separable: the lerp along x of a lattice row is the same for
 * every pixel row in its cell, so it is made once per lattice row (`upper`, `lower`), and the
 * per-pixel work is one lerp along y. The rows are float64, as the lerps were when made per pixel,
 * so the bytes are the same as before.
 */
function addValueNoise(out: Float32Array, width: number, height: number, cell: number, seed: number, amplitude: number): void {
  const gw = Math.floor((width - 1) / cell) + 2;
  const gh = Math.floor((height - 1) / cell) + 2;
  const lattice = new Float32Array(gw * gh);
  for (let gy = 0, i = 0; gy < gh; gy++) for (let gx = 0; gx < gw; gx++, i++) lattice[i] = hash(gx, gy, seed);
  const colCell = new Int32Array(width);
  const colWeight = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const g = x / cell;
    const ix = Math.floor(g);
    const f = g - ix;
    colCell[x] = ix;
    colWeight[x] = f * f * (3 - 2 * f);
  }
  const latticeRow = (gy: number, into: Float64Array) => {
    const row = gy * gw;
    for (let x = 0; x < width; x++) {
      const ix = row + colCell[x];
      into[x] = lattice[ix] + (lattice[ix + 1] - lattice[ix]) * colWeight[x];
    }
  };
  let upper = new Float64Array(width);
  let lower = new Float64Array(width);
  let upperRow = -1;
  for (let y = 0, i = 0; y < height; y++) {
    const g = y / cell;
    const iy = Math.floor(g);
    const f = g - iy;
    const sy = f * f * (3 - 2 * f);
    if (iy !== upperRow) {
      if (upperRow >= 0 && iy === upperRow + 1) {
        // The next cell down: its upper row is the last cell's lower one.
        [upper, lower] = [lower, upper];
      } else {
        latticeRow(iy, upper);
      }
      latticeRow(iy + 1, lower);
      upperRow = iy;
    }
    for (let x = 0; x < width; x++, i++) {
      const a = upper[x];
      out[i] += amplitude * (a + (lower[x] - a) * sy);
    }
  }
}

/**
 * Fractal sum of value noise into `field` (overwritten), stretched to fill [0, 1] (so the map
 * reaches its full range). The caller hands the same field for every channel: a fresh 1080p
 * field is 9 MB of pages touched for the first time, dear in a microVM (see ffmpegEnv in core).
 */
function noiseField(field: Float32Array, width: number, height: number, cell: number, octaves: number, seed: number): Float32Array {
  field.fill(0);
  let amplitude = 1;
  let c = cell;
  for (let o = 0; o < octaves; o++) {
    addValueNoise(field, width, height, Math.max(1, c), (seed + o * 1013) | 0, amplitude);
    amplitude *= 0.5;
    c *= 0.5;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < field.length; i++) {
    const v = field[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const k = hi > lo ? 1 / (hi - lo) : 0;
  for (let i = 0; i < field.length; i++) field[i] = (field[i] - lo) * k;
  return field;
}

/** Paper grain in [0, 1]: fine tooth, mid-size fibres and slow mottling. */
function paperField(width: number, height: number, scale: number, seed: number): Float32Array {
  const field = new Float32Array(width * height);
  addValueNoise(field, width, height, Math.max(1, 1.5 * scale), seed, 0.5);
  addValueNoise(field, width, height, Math.max(1, 6 * scale), (seed + 7919) | 0, 0.3);
  addValueNoise(field, width, height, Math.max(1, 48 * scale), (seed + 104729) | 0, 0.2);
  return field;
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
      const field = paperField(width, height, spec.scale, seed);
      // Paper lies in 175..255 (multiply darkens at most by a third); grain is its complement.
      const dark = spec.procedural === 'grain';
      for (let i = 0; i < n; i++) {
        const g = Math.round(80 * field[i]);
        data[i] = dark ? g : 255 - g;
      }
      break;
    }
    case 'noise': {
      const octaves = Math.max(1, spec.octaves ?? 1);
      const scratch = new Float32Array(n);
      for (let c = 0; c < 3; c++) {
        const field = noiseField(scratch, width, height, spec.scale, octaves, (seed + c * 65537) | 0);
        for (let i = 0, p = c; i < n; i++, p += 4) data[p] = Math.round(255 * field[i]);
      }
      for (let p = 3; p < n * 4; p += 4) data[p] = 255;
      break;
    }
  }
  return data;
}
