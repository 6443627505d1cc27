/**
 * The colour basis the keyer works in: RGB rotated about the grey axis so that the screen's hue
 * lands on pure green. In that basis the classic colour-difference key (`G - max(R, B)`, the
 * "screen excess") works for a screen of any hue: for a green screen the rotation is the identity,
 * for a blue screen it is the channel permutation B->G, and for any other hue it is the smooth
 * generalisation. A rotation about grey keeps neutral colours neutral (each row sums to 1), so
 * greys, whites and blacks always have zero excess, whatever the screen colour.
 */
import type { Rgb } from '@stickerkey/core/effect';

/** Rec. 709 luma weights: despill puts back the luma it removes, so edges do not darken. */
export const LUMA_R = 0.2126;
export const LUMA_G = 0.7152;
export const LUMA_B = 0.0722;

/** Hue angle in radians (red 0, green 2π/3, blue 4π/3, as in HSV), from RGB. */
export function hueOf(r: number, g: number, b: number): number {
  const h = Math.atan2(Math.sqrt(3) * (g - b), 2 * r - g - b);
  return h < 0 ? h + 2 * Math.PI : h;
}

/**
 * Row-major 3x3 rotation about the grey axis taking the hue of `screen` to green. Row 0 gives the
 * first "other" channel, row 1 the screen channel, row 2 the second "other" channel.
 */
export function screenBasis(screen: Rgb): Float64Array {
  const phi = (2 * Math.PI) / 3 - hueOf(screen.r, screen.g, screen.b);
  // Rodrigues: R = cos φ I + sin φ [k]x + (1 - cos φ) k kᵀ, k = (1,1,1)/√3.
  const c = Math.cos(phi);
  const s = Math.sin(phi) / Math.sqrt(3);
  const t = (1 - c) / 3;
  // prettier-ignore
  return Float64Array.of(
    c + t, t - s, t + s,
    t + s, c + t, t - s,
    t - s, t + s, c + t,
  );
}

/**
 * Screen excess of one colour in `basis`: screen channel minus the reference made of the other
 * two, `balance * max + (1 - balance) * mean` (balance 1: the classic `G - max(R, B)`).
 */
export function excessOf(basis: Float64Array, r: number, g: number, b: number, balance: number): number {
  const o1 = basis[0] * r + basis[1] * g + basis[2] * b;
  const s = basis[3] * r + basis[4] * g + basis[5] * b;
  const o2 = basis[6] * r + basis[7] * g + basis[8] * b;
  const hi = o1 > o2 ? o1 : o2;
  const lo = o1 > o2 ? o2 : o1;
  return s - (balance * hi + (1 - balance) * 0.5 * (hi + lo));
}
