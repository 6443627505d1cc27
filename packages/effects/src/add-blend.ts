/**
 * add-blend: adds a texture or a solid colour to the character (highlight, glow).
 *
 * Model: the Addition / Linear Dodge blend mode (FFmpeg `blend_modes.c` ADDITION) with an opacity:
 * out = min(255, c + opacity * s) per channel, only where alpha > 0, alpha unchanged. A texture's
 * own alpha is honoured (s is premultiplied by it, so transparent parts add nothing). Units:
 * opacity in %.
 *
 * The default texture is the procedural `grain` (the dark complement of the paper grain: light
 * speckles on black), so the preset works with no files; `source: color` adds a flat colour.
 */
import { defineEffect, parseColor, type Bounds, type Frame, type FrameSize } from '@stickerkey/core/effect';
import {
  A_MASK,
  addGreyRows,
  B_SHIFT,
  blendThroughTable,
  G_SHIFT,
  greyLevelsThrough,
  greyPlane,
  isOpaque,
  mul255,
  PixelWords,
  R_SHIFT,
  textureWords,
} from './internal/pixel-words.js';
import { createRowSpans, fullFrame, visibleSpans, type RowSpans } from './internal/row-spans.js';
import { loadTexture, textureAtSize, type Texture } from './textures.js';

const options = [
  { name: 'opacity', type: 'number', default: 25, min: 0, max: 100, unit: '%', help: 'Strength of the addition' },
  { name: 'source', type: 'enum', values: ['texture', 'color'], default: 'texture', help: 'Add a texture, or the flat colour' },
  { name: 'color', type: 'color', default: '#ffffff', help: 'Colour added when source is color' },
  { name: 'texture', type: 'string', default: null, help: 'PNG/JPEG texture, resized to cover the canvas; unset: procedural grain' },
  { name: 'scale', type: 'number', default: 1, min: 0.25, max: 16, help: 'Procedural grain: size multiplier' },
  { name: 'seed', type: 'integer', default: 1, min: 0, max: 2147483647, help: 'Procedural grain: seed (same seed, same grain)' },
] as const;

interface State {
  width: number;
  height: number;
  mode: 'none' | 'color' | 'texture';
  /** Canvas-sized texture as RGBA words, premultiplied by its own alpha when it has any transparency (read only). */
  texture: Uint32Array;
  /** Result by (texture value << 8 | colour): min(255, c + round(opacity * t)), so opacity and clamping cost nothing per pixel. */
  sum: Uint8Array;
  /** Grey texture (the procedural grain): round(opacity * t) per pixel, added two channels at a time instead of through `sum`. */
  amounts: Uint8Array | null;
  /** Colour source: what each channel adds. */
  addR: number;
  addG: number;
  addB: number;
  words: PixelWords;
  /** Per row, the visible pixels' columns (found per frame: the blend skips the screen around the character). */
  spans: RowSpans;
  box: Bounds;
}

/**
 * The texture as words, premultiplied by its own alpha when it has transparency (so transparent
 * parts add nothing). An opaque texture (the procedural grain, most files) is used as it is:
 * shared through the texture cache, no copy.
 */
function premultipliedTexture(bytes: Uint8Array): Uint32Array {
  if (isOpaque(bytes)) return textureWords(bytes);
  const out = new Uint8Array(bytes.length);
  for (let p = 0; p < bytes.length; p += 4) {
    const ta = bytes[p + 3];
    out[p] = mul255(bytes[p], ta);
    out[p + 1] = mul255(bytes[p + 1], ta);
    out[p + 2] = mul255(bytes[p + 2], ta);
    out[p + 3] = 255;
  }
  return new Uint32Array(out.buffer);
}

/**
 * The flat colour added over each row's visible span, on words: pixel-words' blendThroughTable
 * loop with constants for the texture, rather than a canvas-sized texture of one colour (a
 * buffer and a load per pixel for nothing).
 */
function addColorRows(px: Uint32Array, addR: number, addG: number, addB: number, width: number, spans: RowSpans, top: number, bottom: number): void {
  const aMask = A_MASK,
    rs = R_SHIFT,
    gs = G_SHIFT,
    bs = B_SHIFT;
  for (let y = top; y < bottom; y++) {
    for (let i = y * width + spans.left[y], end = y * width + spans.right[y]; i < end; i++) {
      const v = px[i];
      if ((v & aMask) === 0) continue;
      const r = ((v >>> rs) & 255) + addR;
      const g = ((v >>> gs) & 255) + addG;
      const b = ((v >>> bs) & 255) + addB;
      px[i] = (v & aMask) | ((r > 255 ? 255 : r) << rs) | ((g > 255 ? 255 : g) << gs) | ((b > 255 ? 255 : b) << bs);
    }
  }
}

export const addBlend = defineEffect({
  name: 'add-blend',
  description: 'Adds a texture or a colour (highlight, glow) where the character is visible; alpha unchanged',
  options,

  async preload(o, ctx): Promise<Texture | null> {
    if (o.opacity === 0 || o.source === 'color') return null;
    return loadTexture({ path: o.texture, procedural: 'grain', seed: o.seed, scale: o.scale, option: 'add-blend.texture' }, ctx.size, ctx.signal);
  },

  prepare(o, size: FrameSize, texture: Texture | null): State {
    const { width, height } = size;
    const amount = new Uint8Array(256);
    for (let v = 0; v < 256; v++) amount[v] = Math.round((o.opacity / 100) * v);
    const mode = o.opacity === 0 ? 'none' : o.source === 'color' ? 'color' : 'texture';
    // One 64 KB table of sums, as multiply-blend's table of products (a canvas-sized table of
    // amounts would cost 8 MB a job at 1080p).
    const sum = new Uint8Array(mode === 'texture' ? 65536 : 0);
    if (mode === 'texture') {
      for (let t = 0; t < 256; t++) for (let c = 0; c < 256; c++) sum[(t << 8) | c] = Math.min(255, c + amount[t]);
    }
    const { r, g, b } = parseColor(o.color);
    // A grey texture (the procedural grain) is its amounts' plane already, bar the table: no RGBA words at all.
    const grey = mode === 'texture' && texture?.channels === 1 ? greyLevelsThrough(textureAtSize(texture, size), amount) : null;
    const words = mode === 'texture' && texture && !grey ? premultipliedTexture(textureAtSize(texture, size)) : new Uint32Array(0);
    return {
      width,
      height,
      mode,
      texture: words,
      sum,
      amounts: grey ?? (mode === 'texture' ? greyPlane(words, amount) : null),
      addR: amount[r],
      addG: amount[g],
      addB: amount[b],
      words: new PixelWords(),
      spans: createRowSpans(height),
      box: { left: 0, top: 0, right: width, bottom: height },
    };
  },

  apply(s: State, frame: Frame): void {
    if (s.mode === 'none') return;
    const { width, height } = s;
    const data = frame.data;
    const box = frame.alphaBounds ?? fullFrame(s.box, width, height);
    if (box.right <= box.left || box.bottom <= box.top) return;
    visibleSpans(data, width, box, s.spans);
    const px = s.words.acquire(data);
    if (s.mode === 'color') addColorRows(px, s.addR, s.addG, s.addB, width, s.spans, box.top, box.bottom);
    else if (s.amounts !== null) addGreyRows(px, s.amounts, width, s.spans, box.top, box.bottom);
    else blendThroughTable(px, s.texture, s.sum, width, s.spans, box.top, box.bottom);
    s.words.release(data, px);
  },
});
