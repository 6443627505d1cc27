/**
 * The keyer's despill maths, in one place: the spill of a colour is how far its screen channel (in
 * the screen basis, see key-basis.ts) exceeds the limit `hi * dHi + lo * dLo` of the other two;
 * despill moves the colour back by that amount along the screen axis with its luma put back as grey
 * (the direction cr, cg, cb), so spill goes without darkening. The keying pass computes the same
 * amount from its screen test's dot products (key-screen-test.wat), where the basis is folded in.
 *
 * The basis follows the measured screen hue. A real screen is lit a little off pure blue (or
 * green), and then a colour despilled to the limit in the basis can still have its RGB channel
 * above the other two (a blue screen lit towards cyan leaves violet-blue on the mixed colours of
 * the outline). So despill also limits the screen's RGB channel (st.screenChannel, when the screen
 * peaks in one) to the max of the other two, by the same share as it despills: a despilled colour
 * has no screen-colour excess in RGB either, the way a user judges spill.
 */
import type { ChromaKeyState } from './key-state.js';
import { toByte } from './pixel-words.js';

/** Spill of a colour, 0-255 units before strength: positive where the screen channel is above its limit. */
export function spillOf(st: ChromaKeyState, r: number, g: number, b: number): number {
  const m = st.basis;
  const u1 = m[0] * r + m[1] * g + m[2] * b;
  const us = m[3] * r + m[4] * g + m[5] * b;
  const u2 = m[6] * r + m[7] * g + m[8] * b;
  const uhi = u1 > u2 ? u1 : u2;
  const ulo = u1 > u2 ? u2 : u1;
  return us - uhi * st.dHi - ulo * st.dLo;
}

/**
 * Writes the colour (r, g, b) despilled by `d` (0: as it is) into the RGB bytes at `p`, its RGB
 * screen channel then limited by `w` (0 none, 1 down to the max of the other two; despill's
 * strength times the share the caller despills by).
 */
export function writeDespilled(st: ChromaKeyState, data: Uint8Array, p: number, r: number, g: number, b: number, d: number, w: number): void {
  const r8 = toByte(r - d * st.cr),
    g8 = toByte(g - d * st.cg),
    b8 = toByte(b - d * st.cb);
  data[p] = r8;
  data[p + 1] = g8;
  data[p + 2] = b8;
  const c = st.screenChannel;
  if (c < 0) return;
  const v = c === 0 ? r8 : c === 1 ? g8 : b8;
  const o1 = c === 0 ? g8 : r8,
    o2 = c === 2 ? g8 : b8;
  const m = o1 > o2 ? o1 : o2;
  if (v > m) data[p + c] = v - (v - m) * w;
}

/**
 * Despills one opaque pixel by `w` of its spill (1: down to the limit), no protection; with no
 * spill about the screen's hue, still limits its RGB screen channel by `w` where that is over.
 */
export function despillBy(st: ChromaKeyState, data: Uint8Array, p: number, w: number): void {
  const r = data[p],
    g = data[p + 1],
    b = data[p + 2];
  const d = spillOf(st, r, g, b) * st.strength * w;
  if (d > 0) writeDespilled(st, data, p, r, g, b, d, st.strength * w);
  else if (screenChannelOver(st, r, g, b)) writeDespilled(st, data, p, r, g, b, 0, st.strength * w);
}

/** Whether the RGB channel the screen peaks in (st.screenChannel) is above both others in (r, g, b). */
export function screenChannelOver(st: ChromaKeyState, r: number, g: number, b: number): boolean {
  const c = st.screenChannel;
  if (c < 0) return false;
  const v = c === 0 ? r : c === 1 ? g : b;
  const o1 = c === 0 ? g : r,
    o2 = c === 2 ? g : b;
  return v > o1 && v > o2;
}
