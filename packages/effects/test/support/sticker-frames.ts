/**
 * Synthetic keyed frames for the sticker-effect tests: a character with anti-aliased (soft)
 * edges, straight alpha, and the colour of every transparent or partly transparent pixel's
 * background set to pure screen green, as a keyer that only writes alpha would leave it.
 */
import { computeAlphaBounds, createFrame, type Frame } from '@stickerkey/core';

export interface CharacterOptions {
  width: number;
  height: number;
  /** Fraction of the frame area the character's bounding box roughly covers. */
  cover?: number;
  /** Colour of the character. */
  color?: readonly [number, number, number];
  /** Set alphaBounds on the frame (as the keyer would). */
  bounds?: boolean;
}

/**
 * A blob: an ellipse body with a square "arm", soft edged over ~1.5 px. Transparent pixels and
 * the colour of edge pixels outside the shape are pure green (0,255,0): garbage a keyer leaves.
 */
export function keyedCharacter(o: CharacterOptions): Frame {
  const { width, height } = o;
  const frame = createFrame(width, height);
  const cover = o.cover ?? 0.2;
  const [cr, cg, cb] = o.color ?? [230, 120, 40];
  const cx = width / 2;
  const cy = height / 2;
  // Ellipse of area ~ cover * w * h (box of 2rx x 2ry covers `cover`).
  const rx = (Math.sqrt(cover) * width) / 2;
  const ry = (Math.sqrt(cover) * height) / 2;
  const data = frame.data;
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p += 4) {
      const px = x + 0.5 - cx;
      const py = y + 0.5 - cy;
      // Approximate signed distance to the ellipse (negative inside), in px.
      const k = Math.sqrt((px * px) / (rx * rx) + (py * py) / (ry * ry));
      const grad = Math.sqrt((px * px) / rx ** 4 + (py * py) / ry ** 4) / Math.max(k, 1e-9);
      let sd = (k - 1) / Math.max(grad, 1e-9);
      // A square arm sticking out to the right.
      const ax = Math.abs(px - rx * 0.9) - rx * 0.35;
      const ay = Math.abs(py + ry * 0.2) - ry * 0.15;
      const sdBox = Math.max(ax, ay);
      if (sdBox < sd) sd = sdBox;
      const alpha = Math.min(1, Math.max(0, 0.5 - sd / 1.5));
      const a = Math.round(alpha * 255);
      data[p + 3] = a;
      if (a === 0) {
        data[p] = 0;
        data[p + 1] = 255;
        data[p + 2] = 0;
      } else {
        // A little shading inside so that a golden can tell it apart from a flat fill.
        const shade = 0.85 + 0.15 * Math.sin(x * 0.05) * Math.cos(y * 0.07);
        data[p] = Math.round(cr * shade);
        data[p + 1] = Math.round(cg * shade);
        data[p + 2] = Math.round(cb * shade);
      }
    }
  }
  if (o.bounds !== false) frame.alphaBounds = computeAlphaBounds(frame, { left: 0, top: 0, right: 0, bottom: 0 });
  return frame;
}

/** Straight-alpha RGBA over an opaque background colour: 8-bit RGB per pixel. */
export function flatten(frame: Frame, bg: readonly [number, number, number]): Uint8Array {
  const n = frame.width * frame.height;
  const out = new Uint8Array(n * 3);
  const d = frame.data;
  for (let i = 0, p = 0, q = 0; i < n; i++, p += 4, q += 3) {
    const a = d[p + 3] / 255;
    out[q] = Math.round(d[p] * a + bg[0] * (1 - a));
    out[q + 1] = Math.round(d[p + 1] * a + bg[1] * (1 - a));
    out[q + 2] = Math.round(d[p + 2] * a + bg[2] * (1 - a));
  }
  return out;
}

export function cloneFrame(frame: Frame): Frame {
  return {
    ...frame,
    data: frame.data.slice(),
    alphaBounds: frame.alphaBounds ? { ...frame.alphaBounds } : undefined,
  };
}

/** A frame from explicit RGBA pixels (tests on 1x1 and 2x2 frames). */
export function frameOf(width: number, height: number, pixels: readonly number[]): Frame {
  const frame = createFrame(width, height);
  frame.data.set(pixels);
  return frame;
}

/**
 * Largest amount by which green exceeds red in the frame flattened over `bg`: the character is
 * orange (G < R), outlines white and shadows grey (G = R), backgrounds white or black (G = R), so
 * anything above a level or two is screen green leaking in from transparent pixels.
 */
export function greenExcess(frame: Frame, bg: readonly [number, number, number]): number {
  const flat = flatten(frame, bg);
  let worst = 0;
  for (let q = 0; q < flat.length; q += 3) {
    const excess = flat[q + 1] - flat[q];
    if (excess > worst) worst = excess;
  }
  return worst;
}

/** Pixels whose alpha is strictly between 0 and 255: the soft edge. */
export function edgePixels(frame: Frame): number[] {
  const out: number[] = [];
  for (let p = 0; p < frame.data.length; p += 4) {
    const a = frame.data[p + 3];
    if (a > 0 && a < 255) out.push(p);
  }
  return out;
}
