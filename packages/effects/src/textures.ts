/**
 * Textures for the effects: a PNG/JPEG file, or (when no file is given) a deterministic procedural
 * texture, always delivered as canvas-sized RGBA8 so that effects index it exactly like the frame.
 *
 * - Files are decoded and resized ONCE per job with sharp (`fit: 'cover'`, sRGB, alpha added), never
 *   per frame: the seed resized its textures for every frame, which is where much of its CPU and
 *   memory went.
 * - Procedural textures: `paper` (light paper grain, for multiply), `grain` (its dark complement,
 *   for add: light speckles), `noise` (smooth value noise or fractal noise with `octaves` > 1, an
 *   independent field in each of R, G, B: a displacement map). Integer hashing only, so the same
 *   seed and size give the same bytes on every machine.
 * - Results are shared between jobs through one bounded cache, least recently used evicted first,
 *   counted in bytes (a 1080p texture is 8.3 MB), keyed by file path + mtime + byte size or by the
 *   procedural recipe, plus the size. Concurrent loads of the same key share one decode.
 *
 * A Texture handed out by the cache is shared: effects read it and never write to it. Its bytes
 * live in a SharedArrayBuffer, so a stage thread that receives it reads the same memory instead of
 * a copy of its own (three 1080p textures are 28 MB a copy).
 */
import { stat } from 'node:fs/promises';
import { CancelledError, InvalidOptionError, type FrameSize } from '@stickerkey/core';

export interface Texture {
  readonly width: number;
  readonly height: number;
  /** RGBA8, straight alpha, rows top to bottom; shared, read only. */
  readonly data: Uint8Array;
  /** Cache key it was stored under (file or recipe, and size). */
  readonly key: string;
}

export type ProceduralKind = 'paper' | 'grain' | 'noise';

export interface TextureSpec {
  /** PNG/JPEG file; null selects the procedural texture. */
  readonly path: string | null;
  readonly procedural: ProceduralKind;
  readonly seed: number;
  /**
   * Feature size. For `noise`: the lattice cell in pixels. For `paper`/`grain`: a multiplier of
   * the grain size (1 = fine grain of about 1.5 px).
   */
  readonly scale: number;
  /** `noise` only: 1 = smooth value noise, more = fractal (each octave half the cell, half the weight). */
  readonly octaves?: number;
  /** Option that named the file, for error messages: `displacement.map`. */
  readonly option?: string;
}

export interface TextureCacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
  /** Files decoded with sharp since start (or the last reset). */
  decodes: number;
  /** Procedural textures generated. */
  generated: number;
  evictions: number;
}

/** A byte-bounded LRU of textures. Map iteration order is insertion order: the first key is the oldest. */
export class TextureCache {
  private readonly entries = new Map<string, Texture>();
  private readonly pending = new Map<string, Promise<Texture>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private decodes = 0;
  private generated = 0;
  private evictions = 0;

  constructor(private maxBytes: number) {}

  /** The texture under `key`, made or being made, without counting a hit or refreshing it. */
  peek(key: string): Texture | Promise<Texture> | undefined {
    return this.entries.get(key) ?? this.pending.get(key);
  }

  get(key: string): Texture | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Refresh its place: delete and re-insert moves it to the young end.
      this.entries.delete(key);
      this.entries.set(key, hit);
      this.hits++;
    }
    return hit;
  }

  set(texture: Texture): void {
    const size = texture.data.byteLength;
    const old = this.entries.get(texture.key);
    if (old) {
      this.entries.delete(texture.key);
      this.bytes -= old.data.byteLength;
    }
    // Bigger than the whole budget: hand it out, keep nothing (the job still holds its reference).
    if (size > this.maxBytes) return;
    this.entries.set(texture.key, texture);
    this.bytes += size;
    this.evict();
  }

  /** The cached texture for `key`, or the one `make` builds; concurrent callers share one build. */
  async getOrCreate(key: string, make: () => Promise<Texture>): Promise<Texture> {
    const hit = this.get(key);
    if (hit) return hit;
    const inflight = this.pending.get(key);
    if (inflight) {
      this.hits++;
      return inflight;
    }
    this.misses++;
    const promise = make().then(
      (texture) => {
        this.pending.delete(key);
        this.set(texture);
        return texture;
      },
      (error: unknown) => {
        this.pending.delete(key);
        throw error;
      },
    );
    this.pending.set(key, promise);
    return promise;
  }

  /** Counted by the loaders, so tests and the bench can prove a file is decoded once per job. */
  countDecode(): void {
    this.decodes++;
  }

  countGenerated(): void {
    this.generated++;
  }

  setMaxBytes(maxBytes: number): void {
    this.maxBytes = maxBytes;
    this.evict();
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  resetStats(): void {
    this.hits = this.misses = this.decodes = this.generated = this.evictions = 0;
  }

  stats(): TextureCacheStats {
    return {
      entries: this.entries.size,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      hits: this.hits,
      misses: this.misses,
      decodes: this.decodes,
      generated: this.generated,
      evictions: this.evictions,
    };
  }

  private evict(): void {
    for (const [key, texture] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= texture.data.byteLength;
      this.evictions++;
    }
  }
}

const MB = 1024 * 1024;
/**
 * Default budget: 128 MB, or STICKERKEY_TEXTURE_CACHE_MB (0 keeps nothing between jobs; loading
 * still works). The cache outlives jobs, so on a 2 GB container its bound is memory the admission
 * budget must count: the textures of one 1080p sticker job are ~25 MB, so 128 MB keeps about
 * five distinct sizes warm.
 */
function defaultCacheBytes(): number {
  const raw = process.env.STICKERKEY_TEXTURE_CACHE_MB;
  const mb = raw === undefined || raw.trim() === '' ? Number.NaN : Number(raw);
  return Number.isFinite(mb) && mb >= 0 ? mb * MB : 128 * MB;
}

/** The process-wide cache every effect loads through. */
export const textureCache = new TextureCache(defaultCacheBytes());

export function textureCacheStats(): TextureCacheStats {
  return textureCache.stats();
}

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/**
 * The texture described by `spec` at `size`: decoded from the file (once, then cached) or generated.
 * A missing or undecodable file is an InvalidOptionError naming the option and the path.
 */
export async function loadTexture(spec: TextureSpec, size: FrameSize, signal?: AbortSignal): Promise<Texture> {
  checkSignal(signal);
  const { width, height } = size;
  if (spec.path !== null) {
    const option = spec.option ?? 'texture';
    let mtime: number;
    let bytes: number;
    try {
      const info = await stat(spec.path);
      if (!info.isFile()) throw new Error('not a regular file');
      mtime = info.mtimeMs;
      bytes = info.size;
    } catch (error) {
      throw new InvalidOptionError(
        `Expected a readable PNG or JPEG file for ${option} but received ${JSON.stringify(spec.path)} (${reason(error)})`,
        option,
      );
    }
    const key = `file:${spec.path}:${mtime}:${bytes}@${width}x${height}`;
    const texture = await textureCache.getOrCreate(key, () => decodeFile(spec.path!, option, key, size));
    checkSignal(signal);
    return texture;
  }
  const key = proceduralKey(spec, size);
  return textureCache.getOrCreate(key, async () => {
    // Paper and grain of one recipe are complements: the sticker preset uses both, and making
    // one from the other costs a pass over the bytes instead of a second noise field.
    const twinKind = COMPLEMENT[spec.procedural];
    const twin = twinKind ? await textureCache.peek(proceduralKey({ ...spec, procedural: twinKind }, size)) : undefined;
    if (twin) return { width, height, key, data: complementOf(twin.data) };
    textureCache.countGenerated();
    return { width, height, key, data: generateTexture(spec, size) };
  });
}

function proceduralKey(spec: Pick<TextureSpec, 'procedural' | 'seed' | 'scale' | 'octaves'>, size: FrameSize): string {
  const octaves = spec.procedural === 'noise' ? (spec.octaves ?? 1) : 0;
  return `proc:${spec.procedural}:${spec.seed}:${spec.scale}:${octaves}@${size.width}x${size.height}`;
}

const COMPLEMENT: Partial<Record<ProceduralKind, ProceduralKind>> = { paper: 'grain', grain: 'paper' };

/** RGB inverted, alpha kept: grain from paper and back (generateTexture makes them so). */
function complementOf(data: Uint8Array): Uint8Array {
  const out = sharedBytes(data.length);
  for (let p = 0; p < data.length; p += 4) {
    out[p] = 255 - data[p];
    out[p + 1] = 255 - data[p + 1];
    out[p + 2] = 255 - data[p + 2];
    out[p + 3] = data[p + 3];
  }
  return out;
}

/** Bytes a stage thread can read without a copy of its own (see the module comment). */
function sharedBytes(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

function sharedCopy(data: Uint8Array): Uint8Array {
  const out = sharedBytes(data.length);
  out.set(data);
  return out;
}

function reason(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

async function decodeFile(path: string, option: string, key: string, size: FrameSize): Promise<Texture> {
  textureCache.countDecode();
  try {
    // Loaded here, not at the top: the built-in textures are procedural, and every stage thread
    // imports this module, so most jobs never need libvips (about 70 ms per thread to load).
    const { default: sharp } = await import('sharp');
    // toColourspace('srgb') makes grey images three channels, so ensureAlpha always gives RGBA.
    const { data, info } = await sharp(path)
      .resize(size.width, size.height, { fit: 'cover' })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4 || info.width !== size.width || info.height !== size.height) {
      throw new Error(`decoded to ${info.width}x${info.height} with ${info.channels} channels`);
    }
    return { width: size.width, height: size.height, key, data: sharedCopy(data) };
  } catch (error) {
    throw new InvalidOptionError(
      `Expected a readable PNG or JPEG file for ${option} but received ${JSON.stringify(path)} (${reason(error)})`,
      option,
    );
  }
}

/** The texture at exactly `size`: itself when it already is (always, through loadTexture), else a nearest-neighbour copy. */
export function textureAtSize(texture: Texture, size: FrameSize): Uint8Array {
  const { width, height } = size;
  if (texture.width === width && texture.height === height) return texture.data;
  const out = new Uint8Array(width * height * 4);
  for (let y = 0, p = 0; y < height; y++) {
    const ty = Math.min(texture.height - 1, Math.floor((y * texture.height) / height));
    for (let x = 0; x < width; x++, p += 4) {
      const q = (ty * texture.width + Math.min(texture.width - 1, Math.floor((x * texture.width) / width))) * 4;
      out[p] = texture.data[q];
      out[p + 1] = texture.data[q + 1];
      out[p + 2] = texture.data[q + 2];
      out[p + 3] = texture.data[q + 3];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Procedural textures

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

/** Fractal sum of value noise, stretched to fill [0, 1] (so the map reaches its full range). */
function noiseField(width: number, height: number, cell: number, octaves: number, seed: number): Float32Array {
  const field = new Float32Array(width * height);
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

/** Exported for tests and tools; effects go through loadTexture (cached). */
export function generateTexture(spec: Pick<TextureSpec, 'procedural' | 'seed' | 'scale' | 'octaves'>, size: FrameSize): Uint8Array {
  const { width, height } = size;
  const n = width * height;
  const data = sharedBytes(n * 4);
  const seed = spec.seed | 0;
  switch (spec.procedural) {
    case 'paper':
    case 'grain': {
      const field = paperField(width, height, spec.scale, seed);
      // Paper lies in 175..255 (multiply darkens at most by a third); grain is its complement.
      const dark = spec.procedural === 'grain';
      for (let i = 0, p = 0; i < n; i++, p += 4) {
        const g = Math.round(80 * field[i]);
        const v = dark ? g : 255 - g;
        data[p] = data[p + 1] = data[p + 2] = v;
        data[p + 3] = 255;
      }
      break;
    }
    case 'noise': {
      const octaves = Math.max(1, spec.octaves ?? 1);
      for (let c = 0; c < 3; c++) {
        const field = noiseField(width, height, spec.scale, octaves, (seed + c * 65537) | 0);
        for (let i = 0, p = c; i < n; i++, p += 4) data[p] = Math.round(255 * field[i]);
      }
      for (let p = 3; p < n * 4; p += 4) data[p] = 255;
      break;
    }
  }
  return data;
}
