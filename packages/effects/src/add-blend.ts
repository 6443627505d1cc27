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
import { defineEffect, parseColor, type Frame, type FrameSize } from '@stickerkey/core';
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
  /** Canvas-sized RGBA texture (shared through the texture cache: read only). */
  texture: Uint8Array;
  /** Premultiplied texture value to amount added: round(opacity * v). */
  amount: Uint8Array;
  addR: number;
  addG: number;
  addB: number;
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
    const { r, g, b } = parseColor(o.color);
    const mode = o.opacity === 0 ? 'none' : o.source === 'color' ? 'color' : 'texture';
    return {
      width,
      height,
      mode,
      texture: mode === 'texture' && texture ? textureAtSize(texture, size) : new Uint8Array(0),
      amount,
      addR: amount[r],
      addG: amount[g],
      addB: amount[b],
    };
  },

  apply(s: State, frame: Frame): void {
    if (s.mode === 'none') return;
    const { width, height } = s;
    const data = frame.data;
    const b = frame.alphaBounds;
    const left = b ? b.left : 0;
    const right = b ? b.right : width;
    const top = b ? b.top : 0;
    const bottom = b ? b.bottom : height;
    // Mode branch hoisted: one loop per source. Uint8Array stores wrap, so clamp by hand.
    if (s.mode === 'color') {
      const ar = s.addR;
      const ag = s.addG;
      const ab = s.addB;
      for (let y = top; y < bottom; y++) {
        for (let x = left, p = (y * width + left) * 4; x < right; x++, p += 4) {
          if (data[p + 3] === 0) continue;
          const r = data[p] + ar;
          const g = data[p + 1] + ag;
          const bl = data[p + 2] + ab;
          data[p] = r > 255 ? 255 : r;
          data[p + 1] = g > 255 ? 255 : g;
          data[p + 2] = bl > 255 ? 255 : bl;
        }
      }
      return;
    }
    const texture = s.texture;
    const amount = s.amount;
    for (let y = top; y < bottom; y++) {
      for (let x = left, p = (y * width + left) * 4; x < right; x++, p += 4) {
        if (data[p + 3] === 0) continue;
        // Texture premultiplied by its alpha (t * ta / 255 rounded, without a division).
        const ta = texture[p + 3];
        let u = texture[p] * ta + 128;
        const r = data[p] + amount[(u + (u >> 8)) >> 8];
        u = texture[p + 1] * ta + 128;
        const g = data[p + 1] + amount[(u + (u >> 8)) >> 8];
        u = texture[p + 2] * ta + 128;
        const bl = data[p + 2] + amount[(u + (u >> 8)) >> 8];
        data[p] = r > 255 ? 255 : r;
        data[p + 1] = g > 255 ? 255 : g;
        data[p + 2] = bl > 255 ? 255 : bl;
      }
    }
  },
});
