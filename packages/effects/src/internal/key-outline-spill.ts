/**
 * The keyer's near-outline despill pass, after the edges are written: where despillProtect spared
 * opaque colours near the screen's (a teal prop on green), those within a few pixels of the
 * outline are despilled after all, since spill lives there. See spillDistances for why and how.
 */
import { despillBy } from './key-despill.js';
import type { ChromaKeyState } from './key-state.js';
import { squaredDistance } from './morphology.js';

/** Runs the pass when the keying pass spared anything (else nothing near the outline needs it). */
export function despillOutline(st: ChromaKeyState, px: Uint32Array, data: Uint8Array): void {
  if (st.spillWeight === null || st.spillRect.right <= st.spillRect.left) return;
  spillDistances(st, px);
  despillNearOutline(st, data);
}

/**
 * Spill lives next to the outline (light from the screen wrapping round the silhouette, 4:2:0
 * chroma bleed), so there opaque pixels are despilled in full, whatever despillProtect spared in
 * the keying pass, fading to that pass's result further in (see spillWeight). The distance is to
 * the nearest pixel with alpha < 255 (edges and screen, holes included), on a grid of small cells
 * (see spillShift), by the distance transform capped at the fade's end. Only pixels the keying
 * pass spared can need it (the rest are despilled in full already), so it runs on their box
 * alone, which is empty for a character with no colour near the screen's. Measured at 1080p: the
 * exact per-pixel transform over the character's box cost 60% more per frame than the whole
 * keyer did before; the cell grid costs a fraction of that.
 * Despill is linear along its axis, so despilling what remains by w gives
 * 1 - (1 - w)(1 - w_interior): full where w is 1, the interior's result where it is 0.
 */
function spillDistances(st: ChromaKeyState, px: Uint32Array): void {
  const { width, height, spillShift: shift, spillCols: cols, spillRows: rows } = st;
  const cells = st.spillCells!;
  const weight = st.spillWeight!;
  const s = st.spillRect;
  const r = st.spillDistRect; // in cells
  // Every pixel with alpha < 255 nearer to a spared pixel than the fade's end lies in the spared
  // box grown by that much (plus a cell for rounding), so distances inside it are right.
  const grow = Math.ceil(Math.sqrt(weight.length)) + 1;
  const cl = s.left >> shift,
    ct = s.top >> shift;
  const cr = ((s.right - 1) >> shift) + 1,
    cb = ((s.bottom - 1) >> shift) + 1;
  r.left = cl > grow ? cl - grow : 0;
  r.top = ct > grow ? ct - grow : 0;
  r.right = cr < cols - grow ? cr + grow : cols;
  r.bottom = cb < rows - grow ? cb + grow : rows;
  // A cell is a feature (255) when any of its pixels has alpha < 255.
  for (let cy = r.top; cy < r.bottom; cy++) cells.fill(0, cy * cols + r.left, cy * cols + r.right);
  const x1 = Math.min(width, r.right << shift);
  const y0 = r.top << shift,
    y1 = Math.min(height, r.bottom << shift);
  const cell = 1 << shift;
  const { visibleLeft, visibleRight } = st;
  for (let y = y0; y < y1; y++) {
    const row = (y >> shift) * cols;
    // Outside the row's visible span every alpha is 0: cells reaching out of it are features
    // without reading them (at 1080p zoom 1.4 the spared box is the character's, half of it
    // screen around the character).
    const vl = visibleLeft[y],
      vr = visibleRight[y];
    let ca = r.right,
      cb = r.right;
    if (vr > vl) {
      ca = (vl + cell - 1) >> shift; // first cell starting in the span
      cb = vr >= x1 ? r.right : vr >> shift; // cells before cb end in it
      if (ca < r.left) ca = r.left;
      if (cb > r.right) cb = r.right;
      if (cb < ca) cb = ca;
    }
    for (let cx = r.left; cx < ca; cx++) cells[row + cx] = 255;
    for (let cx = cb; cx < r.right; cx++) cells[row + cx] = 255;
    const i1 = y * width + x1;
    // The AND of a cell's words has alpha 255 only if all of them do: one test per cell, not per
    // pixel (per-pixel tests cost twice as much). A cell already found in an earlier row of it is
    // not read again (measured at 1080p zoom 1.4: this function 2.0 -> 1.5 ms).
    let cx = ca,
      i = y * width + (ca << shift);
    if (cell === 4) {
      // The usual cell at 1080p, in four loads of its own: with the loop over a cell's words the
      // function took half as long again (profile, 1080p zoom 1.4: 0.75 against 0.47 ms).
      for (; cx < cb && i + 4 <= i1; cx++, i += 4) {
        if (cells[row + cx] !== 0) continue;
        if ((px[i] & px[i + 1] & px[i + 2] & px[i + 3]) >>> 24 !== 255) cells[row + cx] = 255;
      }
    } else if (cell === 2) {
      // The usual cell at 720p, likewise (the loop over its words was half this function's time).
      for (; cx < cb && i + 2 <= i1; cx++, i += 2) {
        if (cells[row + cx] !== 0) continue;
        if ((px[i] & px[i + 1]) >>> 24 !== 255) cells[row + cx] = 255;
      }
    }
    for (; cx < cb; cx++, i += cell) {
      if (cells[row + cx] !== 0) continue;
      const end = i + cell < i1 ? i + cell : i1;
      let all = 0xffffffff;
      for (let w = i; w < end; w++) all &= px[w];
      if (all >>> 24 !== 255) cells[row + cx] = 255;
    }
  }
  squaredDistance(cells, cols, rows, r, 128, false, st.spillDist!, Math.sqrt(weight.length));
}

function despillNearOutline(st: ChromaKeyState, data: Uint8Array): void {
  const weight = st.spillWeight!;
  const { width, spillShift: shift, spillCols: cols } = st;
  const s = st.spillRect;
  const cap = weight.length; // squared distance (cells) at which the weight reaches 0
  const dist = st.spillDist!.dist;
  const cl = s.left >> shift,
    ct = s.top >> shift;
  const cr = ((s.right - 1) >> shift) + 1,
    cb = ((s.bottom - 1) >> shift) + 1;
  const spared = st.sparedCells!;
  // Cell by cell, only cells holding a spared pixel: the rest of the character is despilled in
  // full already, and the interior of a belly (far from any edge) is skipped a cell at a time.
  for (let cy = ct; cy < cb; cy++) {
    const y0 = cy << shift > s.top ? cy << shift : s.top;
    const y1 = (cy + 1) << shift < s.bottom ? (cy + 1) << shift : s.bottom;
    for (let cx = cl; cx < cr; cx++) {
      const c = cy * cols + cx;
      if (spared[c] === 0) continue;
      spared[c] = 0;
      const d2 = dist[c];
      if (d2 >= cap) continue;
      const w = weight[d2];
      if (w === 0) continue;
      const x0 = cx << shift > s.left ? cx << shift : s.left;
      const x1 = (cx + 1) << shift < s.right ? (cx + 1) << shift : s.right;
      for (let y = y0; y < y1; y++) {
        for (let x = x0, p = (y * width + x0) * 4; x < x1; x++, p += 4) {
          // Edges, seams and screen are finished (finishEdge despilled them in full).
          if (data[p + 3] === 255) despillBy(st, data, p, w);
        }
      }
    }
  }
}
