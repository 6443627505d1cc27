/**
 * The keyer's last, optional pass: choke/grow (min/max filter) and feather (gaussian) of the
 * keyed matte; pixels the matte grows into take the nearby character's colour (a premultiplied
 * blur). Setup (prepareRefine) apart from the per-frame work (refineMatte).
 */
import type { Bounds, Frame, FrameSize } from '@stickerkey/core/effect';
import { blurChannel, blurReach, blurRgba, boxRadiiForSigma, createBlurScratch, type BlurScratch } from './blur.js';
import type { ChromaKeyState } from './key-state.js';
import { createSquareScratch, dilateSquare, erodeSquare, type SquareScratch } from './morphology.js';
import { toByte } from './pixel-words.js';

export interface Refine {
  readonly grow: number;
  readonly radii: readonly number[];
  readonly reach: number;
  readonly bleedRadii: readonly number[];
  readonly matte: Uint8Array;
  readonly inAlpha: Uint8Array;
  readonly morph: SquareScratch;
  readonly blur1: BlurScratch;
  /** Premultiplied copy for the colour bleed, and its blur scratch; only when the matte grows. */
  readonly bleed: Uint8Array | null;
  readonly blur4: BlurScratch | null;
  readonly rect: Bounds;
}

export function prepareRefine(o: { readonly choke: number; readonly feather: number }, size: FrameSize): Refine | null {
  if (o.choke === 0 && o.feather === 0) return null;
  const grow = -o.choke;
  const radii = boxRadiiForSigma(o.feather);
  const reach = blurReach(radii);
  const outward = grow > 0 || reach > 0;
  // One box wide enough to reach across the grown ring is all the colour fill needs: it only has
  // to find the character's colour nearby, not to look like a gaussian.
  const bleedRadii = outward ? [Math.max(0, grow) + reach + 1] : [];
  return {
    grow,
    radii,
    reach,
    bleedRadii,
    matte: new Uint8Array(size.width * size.height),
    inAlpha: new Uint8Array(size.width * size.height),
    morph: createSquareScratch(size, Math.abs(grow)),
    blur1: createBlurScratch(size, 1),
    bleed: outward ? new Uint8Array(size.width * size.height * 4) : null,
    blur4: outward ? createBlurScratch(size, 4) : null,
    rect: { left: 0, top: 0, right: 0, bottom: 0 },
  };
}

/** Choke/grow then feather the keyed matte; pixels it grows into take the nearby character's colour. */
export function refineMatte(st: ChromaKeyState, rf: Refine, frame: Frame): void {
  const { width, height } = st;
  const data = frame.data;
  const rect = rf.rect;
  const spread = Math.max(0, rf.grow) + rf.reach + 1;
  rect.left = Math.max(0, st.bounds.left - spread);
  rect.top = Math.max(0, st.bounds.top - spread);
  rect.right = Math.min(width, st.bounds.right + spread);
  rect.bottom = Math.min(height, st.bounds.bottom + spread);
  if (st.bounds.right <= st.bounds.left) return;
  const matte = rf.matte;
  for (let y = rect.top; y < rect.bottom; y++) {
    for (let x = rect.left, i = y * width + x; x < rect.right; x++, i++) matte[i] = data[i * 4 + 3]!;
  }
  if (rf.grow > 0) dilateSquare(matte, width, height, rect, rf.grow, rf.morph);
  else if (rf.grow < 0) erodeSquare(matte, width, height, rect, -rf.grow, rf.morph);
  blurChannel(matte, width, height, rect, rf.radii, rf.blur1);

  const bleed = rf.bleed;
  if (bleed && rf.blur4) {
    // Premultiplied copy blurred wide enough to reach every pixel the matte grew into.
    for (let y = rect.top; y < rect.bottom; y++) {
      for (let x = rect.left, p = (y * width + x) * 4; x < rect.right; x++, p += 4) {
        const a = data[p + 3];
        bleed[p] = (data[p] * a + 127) / 255;
        bleed[p + 1] = (data[p + 1] * a + 127) / 255;
        bleed[p + 2] = (data[p + 2] * a + 127) / 255;
        bleed[p + 3] = a;
      }
    }
    blurRgba(bleed, width, height, rect, rf.bleedRadii, rf.blur4);
  }
  const inAlpha = rf.inAlpha;
  for (let y = rect.top; y < rect.bottom; y++) {
    for (let x = rect.left, i = y * width + x, p = i * 4; x < rect.right; x++, i++, p += 4) {
      const keyed = data[p + 3];
      const limit = inAlpha[i];
      const m = matte[i] < limit ? matte[i] : limit;
      if (keyed === 0 && m > 0) {
        if (bleed === null || bleed[p + 3] === 0) {
          data[p + 3] = 0;
          continue;
        }
        const inv = 255 / bleed[p + 3];
        const r = bleed[p] * inv,
          g = bleed[p + 1] * inv,
          b = bleed[p + 2] * inv;
        data[p] = toByte(r);
        data[p + 1] = toByte(g);
        data[p + 2] = toByte(b);
      }
      data[p + 3] = m;
      if (m === 0) data[p] = data[p + 1] = data[p + 2] = 0;
    }
  }
  // Outside the rectangle everything is transparent already: bounds need only look inside it.
  let left = width,
    right = 0,
    top = height,
    bottom = 0;
  for (let y = rect.top; y < rect.bottom; y++) {
    let first = -1,
      last = -1;
    for (let x = rect.left, p = (y * width + x) * 4 + 3; x < rect.right; x++, p += 4) {
      if (data[p] === 0) continue;
      if (first < 0) first = x;
      last = x;
    }
    if (first < 0) continue;
    if (first < left) left = first;
    if (last + 1 > right) right = last + 1;
    if (y < top) top = y;
    bottom = y + 1;
  }
  const b = st.bounds;
  if (right <= left) b.left = b.top = b.right = b.bottom = 0;
  else {
    b.left = left;
    b.top = top;
    b.right = right;
    b.bottom = bottom;
  }
}
