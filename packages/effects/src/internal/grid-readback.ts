/**
 * Reading a coarse grid back at frame resolution. Effects that blur wide (drop shadow, surface
 * bevel) work on a grid `scale` times smaller, then sample it bilinearly per frame pixel; the
 * tables below are built once in `prepare` so the per-frame read-back is lookups only.
 */

export interface BilinearTable {
  /** Per frame column (or row): the grid cell at or before its centre, and the next one. */
  i0: Int32Array;
  i1: Int32Array;
  /** Weight of `i1`, 0..1 (callers store it as float or fixed point, as their loop needs). */
  w: Float64Array;
}

/** For each of `n` frame pixels, the grid cells around its centre and the weight of the second. */
export function bilinearTable(n: number, scale: number, cells: number): BilinearTable {
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const w = new Float64Array(n);
  for (let x = 0; x < n; x++) {
    const u = Math.max(0, (x + 0.5) / scale - 0.5);
    const a = Math.min(cells - 1, Math.floor(u));
    i0[x] = a;
    i1[x] = Math.min(cells - 1, a + 1);
    w[x] = u - a;
  }
  return { i0, i1, w };
}

/** For each grid column c (and `cells`): the first frame column x with col0[x] >= c (width if none). */
export function firstColumns(col0: Int32Array, cells: number, width: number): Int32Array {
  const first = new Int32Array(cells + 1).fill(width);
  for (let x = width - 1; x >= 0; x--) first[col0[x]] = x;
  for (let c = cells - 1; c >= 0; c--) if (first[c + 1] < first[c]) first[c] = first[c + 1]!;
  return first;
}
