/**
 * The order of the keyer's per-pixel passes: row by row, each pass as many rows behind the keying
 * as its reads and writes reach, so that the source colours they need (luma, temporal change)
 * come from a ring of the last rows, still in cache, instead of a copy of the frame (at 1080p an
 * 8 MB copy a frame, and a cache miss at each later read of it: together a sixth of the keyer's
 * CPU time). Every pass does for a row exactly what it did for the whole frame in this order
 * (key all, project all edges, write their alphas, place all by luma, finish all, limit the rim,
 * steady all): each lag below is the least that keeps every read of a pass after every write it
 * read before, and before every write it read after.
 *
 * Rows behind the keying (row y just keyed):
 * - PROJECT (key-edges projectEdgeRow): reads the keyed pixels of its 5x5 window, down to row y.
 * - PLACE (key-edge-luma writeEdgeAlphasRow): writes edge alphas, which the projection's windows
 *   must not see: after the projection of every row within 2.
 * - LUMA (key-edge-luma placeEdgeRowByLuma): reads the written alphas of its window (rows 2
 *   ahead) and joins strand pixels 1 row ahead, which no projection may see (theirs reach 2 back).
 * - FINISH (key-edges finishEdgeRow): writes final alphas, which every luma window over them must
 *   read before; strands found by the luma pass of row e are finished with row e + 1 (the windows
 *   that read them reach row e + 3, LUMA_LAG - FINISH_LAG rows ahead of the finished one).
 * - STEADY (key-temporal steadyRow): reads the final alphas of its row (strands of the row are
 *   found up to a row later, and finished with the row after that); its writes wait for the end
 *   of the frame (see key-temporal.ts).
 * - RIM (key-edges limitRimRow): writes the colours of opaque pixels 2 rows either side, which
 *   the projection's windows read, and which must already be final (a finished edge or strand
 *   can be opaque).
 */
import type { ChromaKeyState } from './key-state.js';
import { finishEdgeRow, limitRimRow, projectEdgeRow } from './key-edges.js';
import { placeEdgeRowByLuma, writeEdgeAlphasRow } from './key-edge-luma.js';
import { beginKeying, endKeying, keyRow } from './key-matte.js';
import { steadyRow } from './key-temporal.js';

const PROJECT_LAG = 2;
const PLACE_LAG = 4;
const LUMA_LAG = 6;
const FINISH_LAG = 8;
const STEADY_LAG = 10;
const RIM_LAG = 12;

/**
 * Rows of source colours kept without the temporal pass (st.sourceRows, a power of 2): from the
 * luma pass's window (2 rows behind it) up to the row being keyed.
 */
export const SOURCE_ROWS = 16;
if (SOURCE_ROWS < LUMA_LAG + 3) throw new Error('SOURCE_ROWS must hold the luma window and the rows ahead of it');

/**
 * Keys the frame: the keying pass, the edge and luma passes, and the temporal pass's decisions
 * (stabilize, after beginTemporal), row by row. Leaves the near-outline despill and the temporal
 * pass's writes (endTemporal) to the caller.
 */
export function keyFrame(st: ChromaKeyState, data: Uint8Array, px: Uint32Array): void {
  const { height } = st;
  const tm = st.temporal;
  beginKeying(st);
  for (let y = 0; y < height + RIM_LAG; y++) {
    if (y < height) keyRow(st, data, px, y);
    let r = y - PROJECT_LAG;
    if (r >= 0 && r < height) projectEdgeRow(st, data, px, r);
    r = y - PLACE_LAG;
    if (r >= 0 && r < height) writeEdgeAlphasRow(st, data, r);
    r = y - LUMA_LAG;
    if (r >= 0 && r < height) placeEdgeRowByLuma(st, px, r);
    r = y - FINISH_LAG;
    if (r >= 0 && r < height) {
      // The strands that no luma window still to come can read: those the rows up to r - 1 found,
      // and at the last row all.
      const through = r === height - 1 ? r : r - 1;
      finishEdgeRow(st, data, r, through >= 0 ? st.strandsThrough[through] : 0);
    }
    r = y - STEADY_LAG;
    if (tm !== null && r >= 0 && r < height) steadyRow(st, tm, px, r);
    r = y - RIM_LAG;
    if (r >= 0 && r < height) limitRimRow(st, data, px, r);
  }
  endKeying(st);
}
