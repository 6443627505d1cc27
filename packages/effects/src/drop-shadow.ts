/**
 * drop-shadow: a soft, offset copy of the character's alpha in one colour, laid UNDER it.
 *
 * Model: After Effects' Drop Shadow (colour, opacity, direction, distance, softness, shadow only).
 * Direction is a compass angle as in After Effects: 0 deg casts the shadow up, 90 right, 135
 * down-right (the default), clockwise. Softness is the gaussian sigma of the shadow's edge in px
 * (approximated by three box blurs), distance the offset in px (rounded to whole pixels).
 *
 * Only alpha is blurred (the shadow is one flat colour), so no colour is ever filtered. The
 * composite is the premultiplied "over" written in straight alpha: the character's colour is
 * weighted by its alpha, so whatever colour a keyer left in transparent pixels (green garbage)
 * has no weight and never shows. Straight alpha out.
 *
 * Work is limited to the alpha bounds (when the frame has them) and their shifted, blurred copy;
 * `frame.alphaBounds` grows to cover the shadow. margin = distance + blur reach.
 */
import { defineEffect, parseColor, type Bounds, type Frame, type FrameSize } from '@stickerkey/core';
import { blurChannel, blurReach, boxRadiiForSigma, createBlurScratch, type BlurScratch } from './internal/blur.js';

const options = [
  { name: 'color', type: 'color', default: '#000000', help: 'Colour of the shadow' },
  { name: 'opacity', type: 'number', default: 50, min: 0, max: 100, unit: '%', help: 'Opacity of the shadow' },
  { name: 'direction', type: 'number', default: 135, min: -360, max: 360, unit: 'deg', help: 'Where the shadow falls: 0 up, 90 right, 135 down-right (clockwise)' },
  { name: 'distance', type: 'number', default: 10, min: 0, max: 1000, unit: 'px', help: 'Offset of the shadow from the character' },
  { name: 'softness', type: 'number', default: 6, min: 0, max: 250, unit: 'px', help: 'Blur of the shadow edge (gaussian sigma)' },
  { name: 'shadowOnly', type: 'boolean', default: false, help: 'Output the shadow alone, without the character' },
] as const;

interface State {
  width: number;
  height: number;
  dx: number;
  dy: number;
  radii: number[];
  reach: number;
  cr: number;
  cg: number;
  cb: number;
  shadowOnly: boolean;
  /** Shadow alpha 0..255 after the blur -> after opacity. */
  opacityLut: Uint8Array;
  /** The shadow matte, frame-sized, one channel. */
  matte: Uint8Array;
  blur: BlurScratch;
  shadowRect: Bounds;
}

function offsets(o: { direction: number; distance: number }): { dx: number; dy: number } {
  const theta = (o.direction * Math.PI) / 180;
  // Rows grow downwards, so "up" is -y. `+ 0` turns -0 into 0.
  return { dx: Math.round(Math.sin(theta) * o.distance) + 0, dy: Math.round(-Math.cos(theta) * o.distance) + 0 };
}

export const dropShadow = defineEffect({
  name: 'drop-shadow',
  description: 'A soft offset shadow of the character, composited under it',
  options,

  margin(o) {
    const { dx, dy } = offsets(o);
    return Math.max(Math.abs(dx), Math.abs(dy)) + blurReach(boxRadiiForSigma(o.softness));
  },

  prepare(o, size: FrameSize): State {
    const { dx, dy } = offsets(o);
    const radii = boxRadiiForSigma(o.softness);
    const c = parseColor(o.color);
    const opacityLut = new Uint8Array(256);
    for (let v = 0; v < 256; v++) opacityLut[v] = Math.round((v * o.opacity) / 100);
    return {
      width: size.width,
      height: size.height,
      dx,
      dy,
      radii,
      reach: blurReach(radii),
      cr: c.r,
      cg: c.g,
      cb: c.b,
      shadowOnly: o.shadowOnly,
      opacityLut,
      matte: new Uint8Array(size.width * size.height),
      blur: createBlurScratch(size, 1),
      shadowRect: { left: 0, top: 0, right: 0, bottom: 0 },
    };
  },

  apply(s: State, frame: Frame): void {
    const { width, height, dx, dy, reach, matte, opacityLut, cr, cg, cb } = s;
    if (frame.width !== width || frame.height !== height) {
      throw new Error(`drop-shadow prepared for ${width}x${height} but received a ${frame.width}x${frame.height} frame`);
    }
    const data = frame.data;
    const ab = frame.alphaBounds;
    // Source rectangle: where the character can be.
    const sl = ab ? ab.left : 0;
    const st = ab ? ab.top : 0;
    const sr = ab ? ab.right : width;
    const sb = ab ? ab.bottom : height;
    if (sr <= sl || sb <= st) return; // nothing visible, nothing casts a shadow

    // Shadow rectangle: the source shifted, grown by what the blur spreads, inside the frame.
    const hl = Math.max(0, sl + dx - reach);
    const ht = Math.max(0, st + dy - reach);
    const hr = Math.min(width, sr + dx + reach);
    const hb = Math.min(height, sb + dy + reach);
    // Work rectangle: both (shadow-only clears the character, so it needs the source too).
    const wl = Math.min(sl, hl);
    const wt = Math.min(st, ht);
    const wr = Math.max(sr, hr);
    const wb = Math.max(sb, hb);

    // 1. The shifted alpha into the matte over the work rectangle (zeros where nothing falls).
    for (let y = wt; y < wb; y++) {
      const sy = y - dy;
      const rowInside = sy >= st && sy < sb;
      for (let x = wl, q = y * width + wl, p = ((sy * width + wl - dx) << 2) + 3; x < wr; x++, q++, p += 4) {
        const sx = x - dx;
        matte[q] = rowInside && sx >= sl && sx < sr ? data[p]! : 0;
      }
    }

    // 2. Soften it. The blur only touches the shadow rectangle; outside it the matte is 0.
    const shadowRect = s.shadowRect; // reused: no object per frame
    shadowRect.left = hl;
    shadowRect.top = ht;
    shadowRect.right = hr;
    shadowRect.bottom = hb;
    blurChannel(matte, width, height, shadowRect, s.radii, s.blur);

    // 3. Character over shadow, premultiplied maths in straight alpha:
    //    A = Ac + As(1 - Ac);  C = (Cc Ac + Cs As (1 - Ac)) / A.
    if (s.shadowOnly) {
      for (let y = wt; y < wb; y++) {
        for (let x = wl, q = y * width + wl, p = q << 2; x < wr; x++, q++, p += 4) {
          data[p] = cr;
          data[p + 1] = cg;
          data[p + 2] = cb;
          data[p + 3] = opacityLut[matte[q]!]!;
        }
      }
    } else {
      for (let y = wt; y < wb; y++) {
        for (let x = wl, q = y * width + wl, p = q << 2; x < wr; x++, q++, p += 4) {
          const ac = data[p + 3]!;
          if (ac === 255) continue; // opaque character hides the shadow
          const as = opacityLut[matte[q]!]!;
          if (as === 0) continue;
          const under = as * (255 - ac); // shadow weight, in 255^2 units
          const a = ac * 255 + under;
          const k = 1 / a;
          data[p] = ((data[p]! * ac * 255 + cr * under) * k + 0.5) | 0;
          data[p + 1] = ((data[p + 1]! * ac * 255 + cg * under) * k + 0.5) | 0;
          data[p + 2] = ((data[p + 2]! * ac * 255 + cb * under) * k + 0.5) | 0;
          data[p + 3] = (a / 255 + 0.5) | 0;
        }
      }
    }

    if (ab) {
      // The shadow may now be visible anywhere in its rectangle.
      if (s.shadowOnly && (hr <= hl || hb <= ht)) {
        ab.left = ab.top = ab.right = ab.bottom = 0;
      } else if (s.shadowOnly) {
        ab.left = hl;
        ab.top = ht;
        ab.right = hr;
        ab.bottom = hb;
      } else {
        ab.left = wl;
        ab.top = wt;
        ab.right = wr;
        ab.bottom = wb;
      }
    }
  },
});
