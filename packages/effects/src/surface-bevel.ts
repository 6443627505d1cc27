/**
 * surface-bevel: Photoshop's Bevel & Emboss (inner bevel, smooth technique) on the character.
 *
 * Model: the surface is a height field, the character's alpha blurred over `size` px (gaussian
 * sigma = size / 2, plus `soften`) and scaled by `depth`, so it rises over about `size` px inside
 * the edge; optionally a texture adds a bump pattern (Photoshop's Texture sub-option). Normals come
 * from a Sobel gradient; each pixel is lit Lambert-style by a distant light at `angle` (deg,
 * 0 = from the right, 90 = from above, counter-clockwise as in Photoshop: 120 = upper left) and
 * `altitude` (deg above the surface). Compared with a flat surface, what faces the light more is
 * screened with the highlight colour, what faces it less is multiplied by the shadow colour, so
 * flat areas stay untouched. Units: px, deg, % (opacities, depth, texture depth).
 *
 * Only colour changes, alpha stays: no colour is filtered (the height field comes from alpha), so
 * transparent pixels are skipped and there is nothing to premultiply. margin = 0.
 */
import { defineEffect, parseColor, type Bounds, type Frame, type FrameSize } from '@stickerkey/core';
import { blurChannelF32, blurReach, boxRadiiForSigma, createBlurScratchF32, type BlurScratchF32 } from './internal/blur.js';
import { loadTexture, textureAtSize, type Texture } from './textures.js';

const options = [
  { name: 'depth', type: 'number', default: 100, min: 1, max: 1000, unit: '%', help: 'Height of the bevel relative to its size (steeper = stronger shading)' },
  { name: 'direction', type: 'enum', values: ['up', 'down'], default: 'up', help: 'up: the character is raised; down: it is pressed in' },
  { name: 'size', type: 'number', default: 10, min: 0, max: 250, unit: 'px', help: 'Width of the bevel inside the edge' },
  { name: 'soften', type: 'number', default: 0, min: 0, max: 16, unit: 'px', help: 'Extra smoothing of the bevel' },
  { name: 'angle', type: 'number', default: 120, min: -360, max: 360, unit: 'deg', help: 'Light direction: 0 from the right, 90 from above, 120 upper left' },
  { name: 'altitude', type: 'number', default: 30, min: 0, max: 90, unit: 'deg', help: 'Light height above the surface: 90 straight down' },
  { name: 'highlightColor', type: 'color', default: '#ffffff', help: 'Colour screened on faces turned to the light' },
  { name: 'highlightOpacity', type: 'number', default: 75, min: 0, max: 100, unit: '%', help: 'Opacity of the highlight' },
  { name: 'shadowColor', type: 'color', default: '#000000', help: 'Colour multiplied on faces turned away from the light' },
  { name: 'shadowOpacity', type: 'number', default: 75, min: 0, max: 100, unit: '%', help: 'Opacity of the shadow' },
  { name: 'texture', type: 'string', default: null, help: 'PNG/JPEG bump texture (luminance = height); unset: procedural paper grain when textureDepth is not 0' },
  { name: 'textureDepth', type: 'number', default: 0, min: -1000, max: 1000, unit: '%', help: 'Strength of the texture bumps (0: no texture; 100: full texture range is 3 px high)' },
  { name: 'textureScale', type: 'number', default: 1, min: 0.25, max: 16, help: 'Procedural texture: grain size multiplier' },
  { name: 'seed', type: 'integer', default: 1, min: 0, max: 2147483647, help: 'Procedural texture: seed' },
] as const;

/** Height (px) of the full 0..255 texture range at textureDepth 100%. */
const TEXTURE_HEIGHT = 3;

interface State {
  width: number;
  height: number;
  identity: boolean;
  radii: number[];
  reach: number;
  /** Height (px) of an opaque pixel, signed by direction; 0 when size is 0. */
  heightScale: number;
  /** Height (px) per unit of luminance (0..255*256) x alpha (0..255), signed by direction. */
  textureScale: number;
  texture: Uint8Array | null;
  lx: number;
  ly: number;
  lz: number;
  /** 1 / the shade range above and below flat, so both ends reach full strength. */
  hiGain: number;
  loGain: number;
  /** Per channel: highlight colour x opacity (screen); opacity x (1 - shadow colour) (multiply). */
  hr: number;
  hg: number;
  hb: number;
  sr: number;
  sg: number;
  sb: number;
  heights: Float32Array;
  blur: BlurScratchF32;
  rect: Bounds;
}

export const surfaceBevel = defineEffect({
  name: 'surface-bevel',
  description: "Photoshop's Bevel & Emboss (inner bevel) on the character, from its alpha and optionally a texture",
  options,

  margin() {
    return 0;
  },

  async preload(o, ctx): Promise<Texture | null> {
    if (o.textureDepth === 0) return null;
    return loadTexture(
      { path: o.texture, procedural: 'paper', seed: o.seed, scale: o.textureScale, option: 'surface-bevel.texture' },
      ctx.size,
      ctx.signal,
    );
  },

  prepare(o, size: FrameSize, texture: Texture | null | undefined): State {
    const sign = o.direction === 'up' ? 1 : -1;
    const sigma = Math.sqrt((o.size / 2) ** 2 + o.soften ** 2);
    const radii = o.size > 0 ? boxRadiiForSigma(sigma) : [];
    const angle = (o.angle * Math.PI) / 180;
    const altitude = (o.altitude * Math.PI) / 180;
    const flat = Math.sin(altitude);
    const hi = parseColor(o.highlightColor);
    const sh = parseColor(o.shadowColor);
    const hk = o.highlightOpacity / 100 / 255;
    const sk = o.shadowOpacity / 100;
    const useTexture = o.textureDepth !== 0 && texture != null;
    return {
      width: size.width,
      height: size.height,
      identity: (o.size === 0 && !useTexture) || (o.highlightOpacity === 0 && o.shadowOpacity === 0),
      radii,
      reach: blurReach(radii),
      // Height grows with size so that the slope, hence the shading, does not fade on big bevels.
      heightScale: o.size > 0 ? (sign * o.size * o.depth) / 100 / 255 : 0,
      textureScale: useTexture ? (sign * TEXTURE_HEIGHT * o.textureDepth) / 100 / (255 * 256) / 255 : 0,
      texture: useTexture ? textureAtSize(texture!, size) : null,
      // Towards the light, in image axes (rows grow downwards, so "above" is -y).
      lx: Math.cos(altitude) * Math.cos(angle),
      ly: -Math.cos(altitude) * Math.sin(angle),
      lz: flat,
      hiGain: 1 / Math.max(1e-3, 1 - flat),
      loGain: 1 / Math.max(1e-3, flat),
      hr: hi.r * hk,
      hg: hi.g * hk,
      hb: hi.b * hk,
      sr: sk * (1 - sh.r / 255),
      sg: sk * (1 - sh.g / 255),
      sb: sk * (1 - sh.b / 255),
      heights: new Float32Array(size.width * size.height),
      blur: createBlurScratchF32(size),
      rect: { left: 0, top: 0, right: 0, bottom: 0 },
    };
  },

  apply(s: State, frame: Frame): void {
    const { width, height, heights } = s;
    if (frame.width !== width || frame.height !== height) {
      throw new Error(`surface-bevel prepared for ${width}x${height} but received a ${frame.width}x${frame.height} frame`);
    }
    if (s.identity) return;
    const data = frame.data;
    const ab = frame.alphaBounds;
    const bl = ab ? ab.left : 0;
    const bt = ab ? ab.top : 0;
    const br = ab ? ab.right : width;
    const bb = ab ? ab.bottom : height;
    if (br <= bl || bb <= bt) return;
    // Heights are needed one pixel around the character (Sobel) and as far as the blur reaches
    // (so the rectangle's clamped edge is transparent, as the world outside it is).
    const grow = s.reach + 1;
    const rect = s.rect;
    const left = (rect.left = Math.max(0, bl - grow));
    const top = (rect.top = Math.max(0, bt - grow));
    const right = (rect.right = Math.min(width, br + grow));
    const bottom = (rect.bottom = Math.min(height, bb + grow));

    // 1. Height field: alpha, blurred, scaled to px.
    for (let y = top; y < bottom; y++) {
      for (let x = left, q = y * width + left, p = (q << 2) + 3; x < right; x++, q++, p += 4) heights[q] = data[p]!;
    }
    blurChannelF32(heights, width, height, rect, s.radii, s.blur);
    const hs = s.heightScale;
    const texture = s.texture;
    if (texture) {
      // Bumps only where the character is, in proportion to its alpha.
      const ts = s.textureScale;
      for (let y = top; y < bottom; y++) {
        for (let x = left, q = y * width + left, p = q << 2; x < right; x++, q++, p += 4) {
          const lum = texture[p]! * 77 + texture[p + 1]! * 150 + texture[p + 2]! * 29; // 0..255*256
          heights[q] = heights[q]! * hs + lum * ts * data[p + 3]!;
        }
      }
    } else {
      for (let y = top; y < bottom; y++) {
        for (let q = y * width + left, end = y * width + right; q < end; q++) heights[q] = heights[q]! * hs;
      }
    }

    // 2. Light each visible pixel; flat stays as it is.
    const { lx, ly, lz, hiGain, loGain, hr, hg, hb, sr, sg, sb } = s;
    const xMax = width - 1;
    const yMax = height - 1;
    for (let y = bt; y < bb; y++) {
      const up = (y > 0 ? y - 1 : 0) * width;
      const mid = y * width;
      const down = (y < yMax ? y + 1 : yMax) * width;
      for (let x = bl, p = (mid + bl) << 2; x < br; x++, p += 4) {
        if (data[p + 3] === 0) continue;
        const xl = x > 0 ? x - 1 : 0;
        const xr = x < xMax ? x + 1 : xMax;
        const a = heights[up + xl]!;
        const b = heights[up + x]!;
        const c = heights[up + xr]!;
        const d = heights[mid + xl]!;
        const f = heights[mid + xr]!;
        const g = heights[down + xl]!;
        const h = heights[down + x]!;
        const i = heights[down + xr]!;
        // Sobel, divided by 8: height change per pixel.
        const gx = (c + 2 * f + i - a - 2 * d - g) * 0.125;
        const gy = (g + 2 * h + i - a - 2 * b - c) * 0.125;
        if (gx === 0 && gy === 0) continue;
        // Normal (-gx, -gy, 1) / |.|, dotted with the light, minus the flat surface's light.
        const delta = (lz - gx * lx - gy * ly) / Math.sqrt(gx * gx + gy * gy + 1) - lz;
        if (delta > 0) {
          const t = delta * hiGain;
          const k = t < 1 ? t : 1;
          // Screen: c + (255 - c) * colour * opacity * k.
          const r0 = data[p]!;
          const g0 = data[p + 1]!;
          const b0 = data[p + 2]!;
          data[p] = (r0 + (255 - r0) * hr * k + 0.5) | 0;
          data[p + 1] = (g0 + (255 - g0) * hg * k + 0.5) | 0;
          data[p + 2] = (b0 + (255 - b0) * hb * k + 0.5) | 0;
        } else if (delta < 0) {
          const t = -delta * loGain;
          const k = t < 1 ? t : 1;
          // Multiply by lerp(1, colour, opacity * k).
          data[p] = (data[p]! * (1 - sr * k) + 0.5) | 0;
          data[p + 1] = (data[p + 1]! * (1 - sg * k) + 0.5) | 0;
          data[p + 2] = (data[p + 2]! * (1 - sb * k) + 0.5) | 0;
        }
      }
    }
  },
});
