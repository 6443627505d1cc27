/**
 * alpha-bevel: After Effects' Bevel Alpha, a lit and shaded band along the alpha edge.
 *
 * Model: the edge is a chiselled slope `edgeThickness` px wide: the height of a pixel is its
 * euclidean distance to the nearest transparent pixel (alpha < 50%), capped at the thickness,
 * from an exact distance transform, then smoothed by a 3 px box so that pixel steps do not show.
 * The slope's outward normal (the negative Sobel gradient) is compared with the light direction:
 * parts facing the light move towards the light colour, parts facing away darken, by
 * `lightIntensity`; the flat inside is untouched. Light angle as in After Effects: a compass
 * angle, 0 deg = from above, clockwise, default -60 (upper left). Units: px, deg, 0..1.
 *
 * Only colour changes, alpha stays; the heights come from alpha, so no colour is filtered and
 * transparent pixels are skipped. margin = 0.
 */
import { defineEffect, parseColor, type Bounds, type Frame, type FrameSize } from '@stickerkey/core';
import { blurChannelF32, createBlurScratchF32, type BlurScratchF32 } from './internal/blur.js';
import { createDistanceScratch, squaredDistance, type DistanceScratch } from './internal/morphology.js';

const options = [
  { name: 'edgeThickness', type: 'number', default: 3, min: 0, max: 100, unit: 'px', help: 'Width of the bevelled band inside the alpha edge' },
  { name: 'lightAngle', type: 'number', default: -60, min: -360, max: 360, unit: 'deg', help: 'Where the light comes from: 0 above, 90 right, -60 upper left (clockwise)' },
  { name: 'lightColor', type: 'color', default: '#ffffff', help: 'Colour of the light on the lit side' },
  { name: 'lightIntensity', type: 'number', default: 0.4, min: 0, max: 1, help: 'Strength of the lighting and darkening' },
] as const;

/** The heights are smoothed by one box of this radius, to hide the pixel steps of the distance. */
const SMOOTH_RADII = [1];

interface State {
  width: number;
  height: number;
  identity: boolean;
  /** Height (px) by squared distance to the nearest transparent pixel: min(d - 0.5, thickness). */
  heightOf: Float32Array;
  thickness: number;
  /** Towards the light, in image axes, times intensity. */
  lx: number;
  ly: number;
  intensity: number;
  cr: number;
  cg: number;
  cb: number;
  matte: Uint8Array;
  heights: Float32Array;
  distance: DistanceScratch;
  blur: BlurScratchF32;
  rect: Bounds;
}

export const alphaBevel = defineEffect({
  name: 'alpha-bevel',
  description: "After Effects' Bevel Alpha: lights and darkens a band along the alpha edge",
  options,

  margin() {
    return 0;
  },

  prepare(o, size: FrameSize): State {
    const t = o.edgeThickness;
    // Distances past the band are all "thickness": the table covers up to (t + 0.5)^2.
    const entries = Math.floor((t + 0.5) * (t + 0.5)) + 1;
    const heightOf = new Float32Array(entries);
    for (let d2 = 0; d2 < entries; d2++) heightOf[d2] = Math.min(t, Math.max(0, Math.sqrt(d2) - 0.5));
    const angle = (o.lightAngle * Math.PI) / 180;
    const c = parseColor(o.lightColor);
    return {
      width: size.width,
      height: size.height,
      identity: t === 0 || o.lightIntensity === 0,
      heightOf,
      thickness: t,
      // Compass angle: 0 up (-y), 90 right (+x).
      lx: Math.sin(angle),
      ly: -Math.cos(angle),
      intensity: o.lightIntensity,
      cr: c.r,
      cg: c.g,
      cb: c.b,
      matte: new Uint8Array(size.width * size.height),
      heights: new Float32Array(size.width * size.height),
      distance: createDistanceScratch(size),
      blur: createBlurScratchF32(size),
      rect: { left: 0, top: 0, right: 0, bottom: 0 },
    };
  },

  apply(s: State, frame: Frame): void {
    const { width, height, matte, heights, heightOf, thickness } = s;
    if (frame.width !== width || frame.height !== height) {
      throw new Error(`alpha-bevel prepared for ${width}x${height} but received a ${frame.width}x${frame.height} frame`);
    }
    if (s.identity) return;
    const data = frame.data;
    const ab = frame.alphaBounds;
    const bl = ab ? ab.left : 0;
    const bt = ab ? ab.top : 0;
    const br = ab ? ab.right : width;
    const bb = ab ? ab.bottom : height;
    if (br <= bl || bb <= bt) return;
    // Two pixels around the character: the transparent ring the distances are measured from,
    // and the smoothing box's reach.
    const rect = s.rect;
    const left = (rect.left = Math.max(0, bl - 2));
    const top = (rect.top = Math.max(0, bt - 2));
    const right = (rect.right = Math.min(width, br + 2));
    const bottom = (rect.bottom = Math.min(height, bb + 2));

    // 1. Heights: distance into the character, capped at the thickness, lightly smoothed.
    for (let y = top; y < bottom; y++) {
      for (let x = left, q = y * width + left, p = (q << 2) + 3; x < right; x++, q++, p += 4) matte[q] = data[p]!;
    }
    squaredDistance(matte, width, height, rect, 128, true, s.distance);
    const dist = s.distance.dist;
    const entries = heightOf.length;
    for (let y = top; y < bottom; y++) {
      for (let q = y * width + left, end = y * width + right; q < end; q++) {
        const d2 = dist[q]!;
        heights[q] = d2 < entries ? heightOf[d2 | 0]! : thickness;
      }
    }
    blurChannelF32(heights, width, height, rect, SMOOTH_RADII, s.blur);

    // 2. Light the slope: the outward normal is -gradient; compare it with the light direction.
    const { lx, ly, intensity, cr, cg, cb } = s;
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
        // Sobel / 8: the slope is 1 (one px of height per px) across the band, 0 on the flat.
        const gx = (c + 2 * f + i - a - 2 * d - g) * 0.125;
        const gy = (g + 2 * h + i - a - 2 * b - c) * 0.125;
        const facing = -(gx * lx + gy * ly);
        if (facing > 0) {
          const k = (facing < 1 ? facing : 1) * intensity;
          const r0 = data[p]!;
          const g0 = data[p + 1]!;
          const b0 = data[p + 2]!;
          data[p] = (r0 + (cr - r0) * k + 0.5) | 0;
          data[p + 1] = (g0 + (cg - g0) * k + 0.5) | 0;
          data[p + 2] = (b0 + (cb - b0) * k + 0.5) | 0;
        } else if (facing < 0) {
          const k = 1 - (facing > -1 ? -facing : 1) * intensity;
          data[p] = (data[p]! * k + 0.5) | 0;
          data[p + 1] = (data[p + 1]! * k + 0.5) | 0;
          data[p + 2] = (data[p + 2]! * k + 0.5) | 0;
        }
      }
    }
  },
});
