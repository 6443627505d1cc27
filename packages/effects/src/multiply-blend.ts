/**
 * multiply-blend: multiplies the character by a texture (paper grain), where it is visible.
 *
 * Model: the Multiply blend mode (FFmpeg `blend_modes.c` MULTIPLY, Photoshop Multiply) with an
 * opacity: out = c * lerp(255, t, opacity) / 255 per channel. Only pixels with alpha > 0 are
 * touched and alpha is left as it is; multiplying straight colour is the same as multiplying the
 * premultiplied colour, so semi-transparent edges need no special care. Units: opacity in %.
 *
 * The texture is canvas-sized and fixed to the canvas (the paper does not move with the
 * character). A texture's own alpha is honoured: it is laid over white first, so its transparent
 * parts multiply by 1. By default it is the procedural paper grain, so the preset works with no files.
 */
import { defineEffect, type Frame, type FrameSize } from '@stickerkey/core';
import { loadTexture, textureAtSize, type Texture } from './textures.js';

const options = [
  { name: 'opacity', type: 'number', default: 50, min: 0, max: 100, unit: '%', help: 'Strength of the multiply: 0 leaves the colour, 100 multiplies fully' },
  { name: 'texture', type: 'string', default: null, help: 'PNG/JPEG texture, resized to cover the canvas; unset: procedural paper grain' },
  { name: 'scale', type: 'number', default: 1, min: 0.25, max: 16, help: 'Procedural paper: grain size multiplier' },
  { name: 'seed', type: 'integer', default: 1, min: 0, max: 2147483647, help: 'Procedural paper: seed (same seed, same paper)' },
] as const;

interface State {
  width: number;
  height: number;
  /** The canvas-sized RGBA texture (shared through the texture cache: read only). */
  texture: Uint8Array;
  /** Texture value to multiply factor: lerp(255, t, opacity), so opacity costs nothing per pixel. */
  factor: Uint8Array;
  identity: boolean;
}

export const multiplyBlend = defineEffect({
  name: 'multiply-blend',
  description: 'Multiplies the character by a texture (paper grain) where it is visible; alpha unchanged',
  options,

  async preload(o, ctx): Promise<Texture | null> {
    if (o.opacity === 0) return null;
    return loadTexture({ path: o.texture, procedural: 'paper', seed: o.seed, scale: o.scale, option: 'multiply-blend.texture' }, ctx.size, ctx.signal);
  },

  prepare(o, size: FrameSize, texture: Texture | null): State {
    const { width, height } = size;
    const factor = new Uint8Array(256);
    for (let t = 0; t < 256; t++) factor[t] = Math.round(255 - (o.opacity / 100) * (255 - t));
    // No canvas-sized table of factors: the shared texture plus a 256-entry table costs one
    // lookup per channel and saves a frame-sized buffer per job (8 MB at 1080p).
    if (!texture) return { width, height, texture: new Uint8Array(0), factor, identity: true };
    return { width, height, texture: textureAtSize(texture, size), factor, identity: false };
  },

  apply(s: State, frame: Frame): void {
    if (s.identity) return;
    const { width, height, texture, factor } = s;
    const data = frame.data;
    const b = frame.alphaBounds;
    const left = b ? b.left : 0;
    const right = b ? b.right : width;
    const top = b ? b.top : 0;
    const bottom = b ? b.bottom : height;
    for (let y = top; y < bottom; y++) {
      for (let x = left, p = (y * width + left) * 4; x < right; x++, p += 4) {
        if (data[p + 3] === 0) continue;
        // c * f / 255 rounded, without a division: t = c*f + 128; (t + (t >> 8)) >> 8.
        // The texture over white first: 255 - ta * (255 - t) / 255, by the same trick.
        const ta = texture[p + 3];
        let u = ta * (255 - texture[p]) + 128;
        let t = data[p] * factor[255 - ((u + (u >> 8)) >> 8)] + 128;
        data[p] = (t + (t >> 8)) >> 8;
        u = ta * (255 - texture[p + 1]) + 128;
        t = data[p + 1] * factor[255 - ((u + (u >> 8)) >> 8)] + 128;
        data[p + 1] = (t + (t >> 8)) >> 8;
        u = ta * (255 - texture[p + 2]) + 128;
        t = data[p + 2] * factor[255 - ((u + (u >> 8)) >> 8)] + 128;
        data[p + 2] = (t + (t >> 8)) >> 8;
      }
    }
  },
});
