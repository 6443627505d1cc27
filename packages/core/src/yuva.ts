/**
 * RGBA frames to the VP9 encoder's own pixel format, yuva420p (BT.709, limited range), here rather
 * than in ffmpeg. Why: swscale's RGBA -> yuva420p took ~1.1 s of the encoder's 5.6 s of CPU on
 * 120 styled 2004x1164 frames (the same frames fed as yuva420p: 4.5 s, same bytes out), and it
 * converts every pixel, where most of a sticker's canvas is transparent; raw yuva420p is also 2.5
 * bytes a pixel through the pipe instead of 4. Here only the alpha bounding box is converted
 * (outside it every pixel is transparent: Y 16, U and V 128, A 0), into planes kept from frame to
 * frame, so a frame costs its box plus one copy of the planes.
 *
 * Model: ITU-R BT.709 with limited ("tv") range, as the encoder's tags say (encodeArgs):
 *   Y  = 16  + 219/255 * (Kr R + Kg G + Kb B)
 *   Cb = 128 + 224/255 * (B - Y') / (2 (1 - Kb)),  Cr = 128 + 224/255 * (R - Y') / (2 (1 - Kr))
 * with Kr 0.2126, Kb 0.0722, in 16.16 fixed point through per-channel tables. Chroma is one sample
 * per 2x2 block (centred, as swscale's default), from the block's colour weighted by alpha: a
 * transparent pixel's colour is not part of the picture, and averaging it in (as swscale does,
 * knowing nothing of alpha) darkens the chroma along every edge.
 */
import type { Bounds, Frame, FrameSize } from './frame.js';

const FIX = 16;
const HALF = 1 << (FIX - 1);
const KR = 0.2126;
const KB = 0.0722;
const KG = 1 - KR - KB;

/** One 256-entry table per channel and output: Y, Cb and Cr are sums of three lookups. */
function tables(): { y: Int32Array; u: Int32Array; v: Int32Array } {
  const y = new Int32Array(768);
  const u = new Int32Array(768);
  const v = new Int32Array(768);
  const ys = 219 / 255;
  const cs = 224 / 255;
  const weights = {
    y: [KR * ys, KG * ys, KB * ys],
    u: [(-KR / (2 * (1 - KB))) * cs, (-KG / (2 * (1 - KB))) * cs, 0.5 * cs],
    v: [0.5 * cs, (-KG / (2 * (1 - KR))) * cs, (-KB / (2 * (1 - KR))) * cs],
  };
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 256; i++) {
      y[c * 256 + i] = Math.round(weights.y[c]! * i * (1 << FIX));
      u[c * 256 + i] = Math.round(weights.u[c]! * i * (1 << FIX));
      v[c * 256 + i] = Math.round(weights.v[c]! * i * (1 << FIX));
    }
  }
  return { y, u, v };
}

/** Bytes of one yuva420p frame of `size` (chroma planes round odd sizes up, as ffmpeg's do). */
export function yuva420pBytes(size: FrameSize): number {
  const chroma = Math.ceil(size.width / 2) * Math.ceil(size.height / 2);
  return 2 * size.width * size.height + 2 * chroma;
}

/**
 * Converts frames of one size. Holds one frame of planes (2.5 bytes a pixel), the previous box
 * (reset before the next frame's is drawn) and the tables; `convert` allocates nothing but the
 * view it returns.
 */
export class YuvaConverter {
  readonly bytes: number;
  private readonly width: number;
  private readonly height: number;
  private readonly planes: Uint8Array;
  private readonly uOffset: number;
  private readonly vOffset: number;
  private readonly aOffset: number;
  private readonly chromaWidth: number;
  private readonly ty: Int32Array;
  private readonly tu: Int32Array;
  private readonly tv: Int32Array;
  /** The region drawn last frame, in even coordinates; empty at first (the planes start transparent). */
  private drawn: Bounds = { left: 0, top: 0, right: 0, bottom: 0 };
  /** This frame's region, swapped with `drawn` once drawn (two boxes, no new one per frame). */
  private next: Bounds = { left: 0, top: 0, right: 0, bottom: 0 };
  private readonly views = new WeakMap<ArrayBufferLike, Uint32Array>();

  constructor(size: FrameSize) {
    if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1)
      throw new Error('YuvaConverter reads pixels as little-endian 32-bit words; this platform is big-endian');
    const { width, height } = size;
    this.width = width;
    this.height = height;
    this.chromaWidth = Math.ceil(width / 2);
    const chroma = this.chromaWidth * Math.ceil(height / 2);
    this.uOffset = width * height;
    this.vOffset = this.uOffset + chroma;
    this.aOffset = this.vOffset + chroma;
    this.bytes = yuva420pBytes(size);
    this.planes = new Uint8Array(this.bytes);
    this.planes.fill(16, 0, this.uOffset);
    this.planes.fill(128, this.uOffset, this.aOffset);
    const t = tables();
    this.ty = t.y;
    this.tu = t.u;
    this.tv = t.v;
  }

  /**
   * Writes `frame` as yuva420p planes over the start of its own buffer (`bytes` of them; the
   * RGBA is gone afterwards) and returns that view. Outside `frame.alphaBounds` the frame must be
   * fully transparent, as every stage keeps it.
   */
  convert(frame: Frame): Uint8Array {
    if (frame.width !== this.width || frame.height !== this.height) {
      throw new Error(`YuvaConverter was made for ${this.width}x${this.height} but received a ${frame.width}x${frame.height} frame`);
    }
    const box = this.evenBox(frame.alphaBounds, this.next);
    this.clear(this.drawn);
    this.draw(frame.data, box);
    this.next = this.drawn;
    this.drawn = box;
    const out = frame.data.subarray(0, this.bytes);
    out.set(this.planes);
    return out;
  }

  /**
   * The frame's pixels as 32-bit words, a view made once per buffer (frames come from a pool of
   * a few buffers, so this allocates nothing per frame once each has been seen).
   */
  private wordsOf(rgba: Uint8Array): Uint32Array {
    let words = this.views.get(rgba.buffer);
    if (!words || words.byteOffset !== rgba.byteOffset) {
      if (rgba.byteOffset % 4 !== 0) throw new Error('YuvaConverter reads pixels as 32-bit words: the frame must start at a multiple of 4 bytes');
      words = new Uint32Array(rgba.buffer, rgba.byteOffset, this.width * this.height);
      this.views.set(rgba.buffer, words);
    }
    return words;
  }

  /** The box widened to even edges, so that it covers whole chroma blocks, into `out`; the frame when unknown. */
  private evenBox(bounds: Bounds | undefined, out: Bounds): Bounds {
    const { width, height } = this;
    if (!bounds) {
      out.left = out.top = 0;
      out.right = width;
      out.bottom = height;
    } else if (bounds.right <= bounds.left || bounds.bottom <= bounds.top) {
      out.left = out.top = out.right = out.bottom = 0;
    } else {
      out.left = Math.max(0, bounds.left & ~1);
      out.top = Math.max(0, bounds.top & ~1);
      out.right = Math.min(width, (bounds.right + 1) & ~1);
      out.bottom = Math.min(height, (bounds.bottom + 1) & ~1);
    }
    return out;
  }

  /** Back to transparent black inside `box` (the last frame's drawing). */
  private clear(box: Bounds): void {
    const { width, planes, chromaWidth, uOffset, vOffset, aOffset } = this;
    for (let y = box.top; y < box.bottom; y++) {
      planes.fill(16, y * width + box.left, y * width + box.right);
      planes.fill(0, aOffset + y * width + box.left, aOffset + y * width + box.right);
    }
    const cl = box.left >> 1;
    const cr = (box.right + 1) >> 1;
    for (let cy = box.top >> 1; cy < (box.bottom + 1) >> 1; cy++) {
      planes.fill(128, uOffset + cy * chromaWidth + cl, uOffset + cy * chromaWidth + cr);
      planes.fill(128, vOffset + cy * chromaWidth + cl, vOffset + cy * chromaWidth + cr);
    }
  }

  private draw(rgba: Uint8Array, box: Bounds): void {
    const { width, height, planes, chromaWidth, uOffset, aOffset, ty, tu, tv } = this;
    const words = this.wordsOf(rgba);
    const vFromU = this.vOffset - uOffset;
    const yBase = (16 << FIX) + HALF;
    const cBase = (128 << FIX) + HALF;
    for (let y = box.top; y < box.bottom; y += 2) {
      // The block's second row; the last row of an odd height pairs with itself (counted once).
      const twoRows = y + 1 < height;
      const below = twoRows ? width : 0;
      let c = uOffset + (y >> 1) * chromaWidth + (box.left >> 1);
      for (let x = box.left, i = y * width + x; x < box.right; x += 2, i += 2, c++) {
        const twoColumns = x + 1 < width;
        // The block's four pixels: i, i + 1 (right), i + below, i + below + 1. Missing ones (an
        // odd edge) repeat the pixel beside them and count as transparent for chroma.
        const right = twoColumns ? 1 : 0;
        // One 32-bit read a pixel (little-endian RGBA: R in the low byte).
        const w0 = words[i]!;
        const w1 = words[i + right]!;
        const w2 = words[i + below]!;
        const w3 = words[i + below + right]!;
        // A block of transparent black, most of a sticker's box (45% of the 1080p job's blocks):
        // clear() left exactly what it converts to (Y 16, A 0, U and V 128), so it is skipped.
        if ((w0 | w1 | w2 | w3) === 0) continue;
        const r0 = w0 & 255,
          g0 = (w0 >>> 8) & 255,
          b0 = (w0 >>> 16) & 255,
          a0 = w0 >>> 24;
        const r1 = w1 & 255,
          g1 = (w1 >>> 8) & 255,
          b1 = (w1 >>> 16) & 255,
          a1 = twoColumns ? w1 >>> 24 : 0;
        const r2 = w2 & 255,
          g2 = (w2 >>> 8) & 255,
          b2 = (w2 >>> 16) & 255,
          a2 = twoRows ? w2 >>> 24 : 0;
        const r3 = w3 & 255,
          g3 = (w3 >>> 8) & 255,
          b3 = (w3 >>> 16) & 255,
          a3 = twoRows && twoColumns ? w3 >>> 24 : 0;
        planes[i] = (yBase + ty[r0]! + ty[256 + g0]! + ty[512 + b0]!) >> FIX;
        planes[aOffset + i] = a0;
        if (twoColumns) {
          planes[i + 1] = (yBase + ty[r1]! + ty[256 + g1]! + ty[512 + b1]!) >> FIX;
          planes[aOffset + i + 1] = a1;
        }
        if (twoRows) {
          planes[i + below] = (yBase + ty[r2]! + ty[256 + g2]! + ty[512 + b2]!) >> FIX;
          planes[aOffset + i + below] = a2;
          if (twoColumns) {
            planes[i + below + 1] = (yBase + ty[r3]! + ty[256 + g3]! + ty[512 + b3]!) >> FIX;
            planes[aOffset + i + below + 1] = a3;
          }
        }
        const sa = a0 + a1 + a2 + a3;
        if (sa === 0) {
          planes[c] = 128;
          planes[c + vFromU] = 128;
          continue;
        }
        // Alpha-weighted mean colour of the block, rounded. A whole opaque block (43% of the
        // 1080p job's) weighs its pixels alike: (255 s + 510) / 1020 floors to (s + 2) / 4, the
        // same value without three divisions.
        let r: number, g: number, b: number;
        if (sa === 1020) {
          r = (r0 + r1 + r2 + r3 + 2) >> 2;
          g = (g0 + g1 + g2 + g3 + 2) >> 2;
          b = (b0 + b1 + b2 + b3 + 2) >> 2;
        } else {
          const half = sa >> 1;
          r = ((r0 * a0 + r1 * a1 + r2 * a2 + r3 * a3 + half) / sa) | 0;
          g = ((g0 * a0 + g1 * a1 + g2 * a2 + g3 * a3 + half) / sa) | 0;
          b = ((b0 * a0 + b1 * a1 + b2 * a2 + b3 * a3 + half) / sa) | 0;
        }
        planes[c] = (cBase + tu[r]! + tu[256 + g]! + tu[512 + b]!) >> FIX;
        planes[c + vFromU] = (cBase + tv[r]! + tv[256 + g]! + tv[512 + b]!) >> FIX;
      }
    }
  }
}
