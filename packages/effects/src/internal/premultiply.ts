/**
 * Straight <-> premultiplied RGBA8, in place, inside a rectangle.
 *
 * Effects that filter (blur, resample) must work premultiplied: a keyer leaves whatever colour it
 * likes (often the screen green) in fully transparent pixels, and a straight-alpha filter would
 * drag it into the edge. Premultiplying zeroes it; unpremultiplying hands back straight alpha.
 * ```ts
 * premultiply(frame.data, width, bounds);    // c = round(c * a / 255)
 * ...filter...
 * unpremultiply(frame.data, width, bounds);  // c = round(c * 255 / a), 0 where a = 0
 * ```
 */
import type { Bounds } from '@stickerkey/core/effect';

/** 255 / a for every alpha, so unpremultiplying multiplies instead of dividing per channel. */
const UNPREMULTIPLY = new Float32Array(256);
for (let a = 1; a < 256; a++) UNPREMULTIPLY[a] = 255 / a;

/** Exact round(x / 255) for 0 <= x <= 65025, with shifts (Blinn's trick). */
export function div255(x: number): number {
  const t = x + 128;
  return (t + (t >> 8)) >> 8;
}

export function premultiply(data: Uint8Array, width: number, bounds: Bounds): void {
  for (let y = bounds.top; y < bounds.bottom; y++) {
    for (let x = bounds.left, p = (y * width + x) * 4; x < bounds.right; x++, p += 4) {
      const a = data[p + 3];
      if (a === 255) continue;
      let t = data[p] * a + 128;
      data[p] = (t + (t >> 8)) >> 8;
      t = data[p + 1] * a + 128;
      data[p + 1] = (t + (t >> 8)) >> 8;
      t = data[p + 2] * a + 128;
      data[p + 2] = (t + (t >> 8)) >> 8;
    }
  }
}

export function unpremultiply(data: Uint8Array, width: number, bounds: Bounds): void {
  const inv = UNPREMULTIPLY;
  for (let y = bounds.top; y < bounds.bottom; y++) {
    for (let x = bounds.left, p = (y * width + x) * 4; x < bounds.right; x++, p += 4) {
      const a = data[p + 3];
      if (a === 255) continue;
      const k = inv[a]; // 0 when a = 0: transparent pixels come out black, never garbage
      const r = (data[p] * k + 0.5) | 0;
      const g = (data[p + 1] * k + 0.5) | 0;
      const b = (data[p + 2] * k + 0.5) | 0;
      // A filter can leave colour slightly above alpha after rounding: clamp.
      data[p] = r > 255 ? 255 : r;
      data[p + 1] = g > 255 ? 255 : g;
      data[p + 2] = b > 255 ? 255 : b;
    }
  }
}
