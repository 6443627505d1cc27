/**
 * Textures for the effects: a PNG/JPEG file, or (when no file is given) a deterministic procedural
 * texture, always delivered canvas-sized so that effects index it exactly like the frame: RGBA8, or
 * one byte a pixel for the grey procedural textures (`channels`).
 *
 * - Files are decoded and resized ONCE per job with sharp (`fit: 'cover'`, sRGB, alpha added), never
 *   per frame: the seed resized its textures for every frame, which is where much of its CPU and
 *   memory went.
 * - Procedural textures: `paper` (light paper grain, for multiply), `grain` (its dark complement,
 *   for add: light speckles), both grey and so one byte a pixel, and `noise` (smooth value noise,
 *   or fractal noise with `octaves` > 1, an independent field in each of R, G, B: a displacement
 *   map). Integer hashing only, so the same seed and size give the same bytes on every machine.
 * - Results are shared between jobs through one bounded cache, least recently used evicted first,
 *   counted in bytes (a 1080p texture is 8.3 MB), keyed by file path + mtime + byte size or by the
 *   procedural recipe, plus the size. Concurrent loads of the same key share one decode.
 *
 * A Texture handed out by the cache is shared: effects read it and never write to it. Its bytes
 * live in a SharedArrayBuffer, so a stage thread that receives it reads the same memory instead of
 * a copy of its own (a 1080p RGBA texture is 8.3 MB a copy).
 */
import { stat } from 'node:fs/promises';
import { availableCores, CancelledError, InvalidOptionError, type FrameSize } from '@stickerkey/core/effect';
import { generateTexture, PROCEDURAL_CHANNELS, type ProceduralKind, type ProceduralSpec } from './internal/procedural.js';
import { generateInThread } from './internal/texture-thread-client.js';

export { generateTexture, type ProceduralKind, type ProceduralSpec };

export interface Texture {
  readonly width: number;
  readonly height: number;
  /**
   * Bytes per pixel. 4: RGBA8, straight alpha (files, noise). 1: grey, opaque, the byte being red,
   * green and blue alike (paper, grain): a quarter of the memory. Read it with textureRgba() when
   * the effect does not care. (What loadDerived returns is the deriving effect's own layout.)
   */
  readonly channels: 1 | 4;
  /** Rows top to bottom, `channels` bytes a pixel; shared, read only. */
  readonly data: Uint8Array;
  /** Cache key it was stored under (file or recipe, and size). */
  readonly key: string;
}

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
 * budget must count: the textures of one 1080p sticker job are ~14 MB (displacement's 9 MB of
 * offsets and two grey planes), so 128 MB keeps about nine distinct sizes warm.
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
      throw new InvalidOptionError(`Expected a readable PNG or JPEG file for ${option} but received ${JSON.stringify(spec.path)} (${reason(error)})`, option);
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
    const channels = PROCEDURAL_CHANNELS[spec.procedural];
    if (twin) return { width, height, channels, key, data: complementOf(twin.data, channels) };
    return generateProcedural(spec, size);
  });
}

/** A procedural texture made now (in a texture thread when it is large), counted, not cached. */
async function generateProcedural(spec: ProceduralSpec, size: FrameSize): Promise<Texture> {
  textureCache.countGenerated();
  const data = await generateOffThread(spec, size);
  return { width: size.width, height: size.height, channels: PROCEDURAL_CHANNELS[spec.procedural], key: proceduralKey(spec, size), data };
}

/**
 * What an effect derives from a texture once per job (displacement: its per-pixel sample offsets),
 * cached under the texture's key plus `recipe`. A procedural texture is made for it and not kept:
 * the job holds only the derived bytes (a 1080p noise map is 9 MB that nothing reads after the
 * derivation), and a later job with the same recipe finds the derived entry and makes nothing. A
 * file's texture is loaded (and cached) as loadTexture does. `derive` returns shared bytes
 * (sharedBytes), `bytesPerPixel` of them a pixel, which the effect alone knows how to read.
 */
export async function loadDerived(
  spec: TextureSpec,
  size: FrameSize,
  recipe: string,
  bytesPerPixel: 1 | 4,
  derive: (texture: Texture) => Uint8Array,
  signal?: AbortSignal,
): Promise<Texture> {
  checkSignal(signal);
  const { width, height } = size;
  const source = spec.path !== null ? await loadTexture(spec, size, signal) : undefined;
  const key = `${source ? source.key : proceduralKey(spec, size)}>${recipe}`;
  return textureCache.getOrCreate(key, async () => {
    // A procedural texture some other effect loaded is used as it is, not made again.
    const texture = source ?? (await textureCache.peek(proceduralKey(spec, size))) ?? (await generateProcedural(spec, size));
    checkSignal(signal);
    return { width, height, channels: bytesPerPixel, key, data: derive(texture) };
  });
}

/**
 * Below this many pixels a texture is made in-line: a thread's start would cost more than it saves.
 * Above, with a second core, it is made in a texture thread: a 1080p noise field is ~0.3 s of CPU
 * on the job's critical path (nothing is encoded before set-up ends), and in a thread it runs
 * beside the keyer's screen estimate and the stage threads' start instead of before them.
 * A sticker target's canvas is under the bound: at 512x470 the noise and the paper took 78-86 ms
 * of CPU in-line against 155-169 ms in two threads (each boots an isolate), for ~40 ms of the
 * pipeline thread's time, on a job whose whole tree costs ~3.7 s of CPU.
 */
const THREAD_MIN_PIXELS = 500_000;

function generateOffThread(spec: ProceduralSpec, size: FrameSize): Promise<Uint8Array> | Uint8Array {
  if (size.width * size.height < THREAD_MIN_PIXELS || availableCores() < 2) return generateTexture(spec, size);
  return generateInThread({ procedural: spec.procedural, seed: spec.seed, scale: spec.scale, octaves: spec.octaves }, size);
}

function proceduralKey(spec: ProceduralSpec, size: FrameSize): string {
  const octaves = spec.procedural === 'noise' ? (spec.octaves ?? 1) : 0;
  return `proc:${spec.procedural}:${spec.seed}:${spec.scale}:${octaves}@${size.width}x${size.height}`;
}

const COMPLEMENT: Partial<Record<ProceduralKind, ProceduralKind>> = { paper: 'grain', grain: 'paper' };

/** RGB inverted, alpha kept: grain from paper and back (generateTexture makes them so). */
function complementOf(data: Uint8Array, channels: 1 | 4): Uint8Array {
  const out = sharedBytes(data.length);
  if (channels === 1) {
    for (let i = 0; i < data.length; i++) out[i] = 255 - data[i];
    return out;
  }
  for (let p = 0; p < data.length; p += 4) {
    out[p] = 255 - data[p];
    out[p + 1] = 255 - data[p + 1];
    out[p + 2] = 255 - data[p + 2];
    out[p + 3] = data[p + 3];
  }
  return out;
}

/** Bytes a stage thread can read without a copy of its own (see the module comment). */
export function sharedBytes(length: number): Uint8Array {
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
    return { width: size.width, height: size.height, channels: 4, key, data: sharedCopy(data) };
  } catch (error) {
    throw new InvalidOptionError(`Expected a readable PNG or JPEG file for ${option} but received ${JSON.stringify(path)} (${reason(error)})`, option);
  }
}

/** The texture's bytes at exactly `size` (`channels` a pixel): itself when it already is (always, through loadTexture), else a nearest-neighbour copy. */
export function textureAtSize(texture: Texture, size: FrameSize): Uint8Array {
  const { width, height } = size;
  if (texture.width === width && texture.height === height) return texture.data;
  const c = texture.channels;
  const out = new Uint8Array(width * height * c);
  for (let y = 0, p = 0; y < height; y++) {
    const ty = Math.min(texture.height - 1, Math.floor((y * texture.height) / height));
    for (let x = 0; x < width; x++, p += c) {
      const q = (ty * texture.width + Math.min(texture.width - 1, Math.floor((x * texture.width) / width))) * c;
      for (let k = 0; k < c; k++) out[p + k] = texture.data[q + k];
    }
  }
  return out;
}

/**
 * The texture as RGBA8 at `size`, for effects that read channels: a grey texture is spread over
 * red, green and blue (a copy, four times its bytes); an RGBA one is textureAtSize's.
 */
export function textureRgba(texture: Texture, size: FrameSize): Uint8Array {
  const bytes = textureAtSize(texture, size);
  if (texture.channels === 4) return bytes;
  const out = new Uint8Array(bytes.length * 4);
  for (let i = 0, p = 0; i < bytes.length; i++, p += 4) {
    out[p] = out[p + 1] = out[p + 2] = bytes[i];
    out[p + 3] = 255;
  }
  return out;
}
