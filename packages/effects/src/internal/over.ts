/**
 * The character laid over one flat colour (an outline's border, a drop shadow), the premultiplied
 * "over" written in straight alpha:
 *   A = Ac + Au (1 - Ac);  C = (Cc Ac + Cu Au (1 - Ac)) / A.
 * The character's colour is weighted by its alpha, so the colour a keyer left in transparent
 * pixels (screen green) has no weight and never shows. Straight alpha in and out.
 *
 * One pixel per call, so each effect keeps its own loop and skips (opaque runs, empty cells);
 * small and monomorphic (Uint8Array, numbers), so V8 inlines it into those loops.
 */

/**
 * Pixel `p` of `data`, of alpha `ac` (0..254; an opaque pixel stays as it is, which callers skip
 * cheaper), over colour (cr, cg, cb) at alpha `au` (1..255).
 */
export function overFlatColour(data: Uint8Array, p: number, ac: number, au: number, cr: number, cg: number, cb: number): void {
  const under = au * (255 - ac); // the colour's weight, in 255^2 units
  const a = ac * 255 + under;
  const k = 1 / a;
  data[p] = ((data[p] * ac * 255 + cr * under) * k + 0.5) | 0;
  data[p + 1] = ((data[p + 1] * ac * 255 + cg * under) * k + 0.5) | 0;
  data[p + 2] = ((data[p + 2] * ac * 255 + cb * under) * k + 0.5) | 0;
  data[p + 3] = (a / 255 + 0.5) | 0;
}
