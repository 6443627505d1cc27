/**
 * RGBA pixels as 32-bit words: one load and one store per pixel instead of four of each, which
 * is what the per-pixel loops of the blends and the displacement spend most of their time on.
 *
 * Channel shifts follow the platform's byte order, so the same code is right on either
 * endianness. A word view is made once per underlying buffer and reused: the pipeline's frames
 * come from a fixed pool, so after the first few frames `acquire` never allocates. A frame whose
 * bytes are not 4-aligned (never one from the pool) goes through a buffer of our own, made once,
 * copied in by `acquire` and back by `release`.
 */
import type { RowSpans } from './row-spans.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
export const R_SHIFT = LITTLE_ENDIAN ? 0 : 24;
export const G_SHIFT = LITTLE_ENDIAN ? 8 : 16;
export const B_SHIFT = LITTLE_ENDIAN ? 16 : 8;
export const A_SHIFT = LITTLE_ENDIAN ? 24 : 0;
/** The alpha byte of a word (as a signed 32-bit value, like every bitwise result in JS). */
export const A_MASK = (255 << A_SHIFT) | 0;

export class PixelWords {
  private readonly views = new WeakMap<ArrayBufferLike, Uint32Array>();
  private aligned: { bytes: Uint8Array; words: Uint32Array } | null = null;

  /** The pixels of `data` as words, to read and write in place; pass them to `release` when done. */
  acquire(data: Uint8Array): Uint32Array {
    if ((data.byteOffset & 3) === 0) {
      let view = this.views.get(data.buffer);
      if (!view || view.byteOffset !== data.byteOffset || view.length !== data.length >> 2) {
        view = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
        this.views.set(data.buffer, view);
      }
      return view;
    }
    if (!this.aligned || this.aligned.bytes.length !== data.length) {
      const bytes = new Uint8Array(data.length);
      this.aligned = { bytes, words: new Uint32Array(bytes.buffer) };
    }
    this.aligned.bytes.set(data);
    return this.aligned.words;
  }

  /** Writes `words` back into `data` when they were a copy (unaligned bytes); nothing otherwise. */
  release(data: Uint8Array, words: Uint32Array): void {
    if (this.aligned !== null && words === this.aligned.words) data.set(this.aligned.bytes);
  }
}

/** round(a * b / 255) for a, b in 0..255, without a division: t = a*b + 128; (t + (t >> 8)) >> 8. */
export function mul255(a: number, b: number): number {
  const t = a * b + 128;
  return (t + (t >> 8)) >> 8;
}

/** Whether every pixel of RGBA bytes is opaque: such a texture needs no flattening and is shared as it is. */
export function isOpaque(bytes: Uint8Array): boolean {
  for (let p = 3; p < bytes.length; p += 4) if (bytes[p] !== 255) return false;
  return true;
}

/** Read-only words of a texture (shared, so never written): a view when aligned, else a copy. For prepare. */
export function textureWords(data: Uint8Array): Uint32Array {
  if ((data.byteOffset & 3) === 0) return new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
  return new Uint32Array(data.slice().buffer);
}

/**
 * Blends a canvas-sized texture into each row's visible span of `px`, per channel through a
 * 64 KB table indexed by (texture value << 8 | colour): multiply-blend's products, add-blend's
 * sums. Alpha is kept; transparent pixels are skipped. One load and one store per pixel, and
 * one table load per channel (measured at 1080p, a fifth of the frame covered: multiply 3.8 ms
 * with bytes and per-channel arithmetic, 3.0 ms so). A function of its own, so that V8 optimises
 * the loop apart from the effects' apply, with the channel constants read once into locals.
 */
export function blendThroughTable(px: Uint32Array, texture: Uint32Array, table: Uint8Array, width: number, spans: RowSpans, top: number, bottom: number): void {
  const aMask = A_MASK,
    rs = R_SHIFT,
    gs = G_SHIFT,
    bs = B_SHIFT;
  for (let y = top; y < bottom; y++) {
    for (let i = y * width + spans.left[y], end = y * width + spans.right[y]; i < end; i++) {
      const v = px[i];
      if ((v & aMask) === 0) continue;
      const t = texture[i];
      const r = table[(((t >>> rs) & 255) << 8) | ((v >>> rs) & 255)];
      const g = table[(((t >>> gs) & 255) << 8) | ((v >>> gs) & 255)];
      const b = table[(((t >>> bs) & 255) << 8) | ((v >>> bs) & 255)];
      px[i] = (v & aMask) | (r << rs) | (g << gs) | (b << bs);
    }
  }
}

/**
 * A channel value computed in floating point, rounded to the nearest byte and clamped to 0..255.
 * Small enough for V8 to inline into the per-pixel loops that call it.
 */
export function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}

/** A channel value clamped to 0..255 but not rounded, for arithmetic that goes on in floating point. */
export function clampChannel(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

/**
 * For a grey texture (equal red, green and blue everywhere: the procedural paper and grain), one
 * byte per pixel, `table[level]`, which then drives all three channels; null for any other. For
 * prepare. A quarter of the bytes of the texture's words, and the blends are bound by what they
 * read: the texture is canvas-sized and never in cache.
 */
export function greyPlane(texture: Uint32Array, table: Uint8Array): Uint8Array | null {
  const rs = R_SHIFT,
    gs = G_SHIFT,
    bs = B_SHIFT;
  const plane = new Uint8Array(texture.length);
  for (let i = 0; i < texture.length; i++) {
    const t = texture[i];
    const r = (t >>> rs) & 255;
    if (((t >>> gs) & 255) !== r || ((t >>> bs) & 255) !== r) return null;
    plane[i] = table[r];
  }
  return plane;
}

/** greyPlane for a texture that is grey already, one byte a pixel (the procedural paper and grain): `table[level]` per pixel. */
export function greyLevelsThrough(levels: Uint8Array, table: Uint8Array): Uint8Array {
  const plane = new Uint8Array(levels.length);
  for (let i = 0; i < levels.length; i++) plane[i] = table[levels[i]];
  return plane;
}

/**
 * multiply-blend's loop for a grey texture, from its factor per pixel (`greyPlane`): mul255(c, f)
 * on two channels per integer multiply (bytes 0 and 2, then 1 and 3, in 16-bit lanes: 255 * 255 +
 * 128 + 254 < 65536, so no lane carries into the next), the same rounding as the table of
 * products, so the same bytes. Alpha is put back from the pixel.
 */
export function multiplyGreyRows(px: Uint32Array, factors: Uint8Array, width: number, spans: RowSpans, top: number, bottom: number): void {
  const aMask = A_MASK,
    pairs = 0xff00ff,
    half = 0x800080,
    // The lanes but the alpha byte's (its product is discarded): alpha times f in the top lane
    // made the product leave the small integers, and V8 then added `half` in floating point
    // (multiply-blend 5-8% slower, interleaved in one process, 1080p).
    colour0 = pairs & ~aMask,
    colour1 = pairs & ~(aMask >>> 8);
  for (let y = top; y < bottom; y++) {
    for (let i = y * width + spans.left[y], end = y * width + spans.right[y]; i < end; i++) {
      const v = px[i];
      if ((v & aMask) === 0) continue;
      const f = factors[i];
      const t0 = (Math.imul(v & colour0, f) + half) | 0;
      const t1 = (Math.imul((v >>> 8) & colour1, f) + half) | 0;
      const m0 = (((t0 + ((t0 >>> 8) & pairs)) | 0) >>> 8) & pairs;
      const m1 = (((t1 + ((t1 >>> 8) & pairs)) | 0) >>> 8) & pairs;
      px[i] = (v & aMask) | ((m0 | (m1 << 8)) & ~aMask);
    }
  }
}

/**
 * add-blend's loop for a grey texture, from its amount per pixel (`greyPlane`): min(255, c + a) on
 * two channels per add (bytes 0 and 2, then 1 and 3, in 16-bit lanes: a sum over 255 sets the
 * lane's bit 8, which turns into a saturating 0xff). The same bytes as the table of sums; alpha is
 * put back from the pixel.
 */
export function addGreyRows(px: Uint32Array, amounts: Uint8Array, width: number, spans: RowSpans, top: number, bottom: number): void {
  const aMask = A_MASK,
    pairs = 0xff00ff,
    carries = 0x1000100;
  for (let y = top; y < bottom; y++) {
    for (let i = y * width + spans.left[y], end = y * width + spans.right[y]; i < end; i++) {
      const v = px[i];
      if ((v & aMask) === 0) continue;
      const a = amounts[i] * 0x10001;
      const s0 = (v & pairs) + a;
      const s1 = ((v >>> 8) & pairs) + a;
      const o0 = s0 & carries;
      const o1 = s1 & carries;
      const m0 = (s0 | (o0 - (o0 >>> 8))) & pairs;
      const m1 = (s1 | (o1 - (o1 >>> 8))) & pairs;
      px[i] = (v & aMask) | ((m0 | (m1 << 8)) & ~aMask);
    }
  }
}
