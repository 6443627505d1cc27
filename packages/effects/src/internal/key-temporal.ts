/**
 * The keyer's temporal pass: the matte must not shimmer on the still parts of the character. Sensor
 * noise and the encoder's re-quantisation of a held pose move every edge pixel's colour by a few
 * levels from frame to frame, and the matte follows (a strand at alpha 0.3 wobbles between 0.25
 * and 0.35; a screen pixel near the threshold pops in and out). Where a pixel's source colour did
 * not change beyond that noise since the previous frame, its alpha is averaged with the previous
 * frame's (a recursive filter, as temporal denoisers do): k = clamp(change / CHANGE_FULL, K_MIN, 1),
 * alpha = prev + k (alpha - prev). A moving part changes its colour by tens of levels, so it gets
 * k = 1 and is not smeared; a still one averages its noise over about 1 / K_MIN frames.
 * Alpha only rises from 0 where the frame itself kept colour there (a pixel keyed to screen has no
 * colour to show), and a weak pixel over an unchanged screen stays 0 (hysteresis: noise does not
 * pop it in). State: the previous frame's source colours (the keyer copies them anyway, see
 * st.source: the two buffers swap) and its final alphas; frames must come in order (a stage runs
 * them so), and any gap in frame.index (a seek, a new sequence) starts afresh.
 */
import type { ChromaKeyState } from './key-state.js';

/** Sum of |change| of R, G and B (0-765) from which the new alpha is taken whole. */
const CHANGE_FULL = 36;
/** Least share of the new alpha taken where nothing changed. */
const K_MIN = 0.3;
/** An alpha (0-255) that noise could make of an unchanged screen pixel: kept at 0 if it was 0. */
const POP_IN = 24;
/**
 * A pixel's alpha depends on its 5x5 window (the edge pass's opaque neighbours, the luma pass's
 * sums), so motion is looked for this far around it too: with the pixel alone, a part sliding over
 * a still pixel dragged its alpha, and the matte took frames to settle once the pose held
 * (tuning set: the held frames flickered more than with no temporal pass at all).
 */
const MOTION_REACH = 2;

/** Temporal history of one job: previous source colours (swapped with st.source) and alphas. */
export interface TemporalState {
  previous: Uint32Array;
  /** The previous frame's final alphas; 0 outside its rows' visible spans. */
  readonly alpha: Uint8Array;
  /** Per row, the previous frame's visible span [left, right) (empty: right <= left). */
  readonly spanLeft: Int32Array;
  readonly spanRight: Int32Array;
  /** frame.index of the previous frame; -2 when there is none. */
  lastIndex: number;
  /** K per change (0..CHANGE_FULL), in 1/256ths: one table read per pixel instead of a divide. */
  readonly gain: Uint16Array;
}

export function createTemporalState(width: number, height: number): TemporalState {
  const gain = new Uint16Array(CHANGE_FULL + 1);
  for (let c = 0; c <= CHANGE_FULL; c++) gain[c] = Math.round(256 * Math.max(K_MIN, c / CHANGE_FULL));
  return {
    previous: new Uint32Array(width * height),
    alpha: new Uint8Array(width * height),
    spanLeft: new Int32Array(height),
    spanRight: new Int32Array(height),
    lastIndex: -2,
    gain,
  };
}

/**
 * Before the keying pass: hands the keyer the buffer to copy this frame's source colours into
 * (last frame's previous one) and keeps last frame's as `previous`. Returns whether the history
 * applies to this frame (it follows the last one).
 */
export function beginTemporal(st: ChromaKeyState, tm: TemporalState, index: number): boolean {
  const follows = index === tm.lastIndex + 1;
  const last = st.source;
  st.source = tm.previous;
  tm.previous = last;
  tm.lastIndex = index;
  return follows;
}

/**
 * After the edges are written and the outline despilled (that pass despills alpha-255 pixels only,
 * and this one may take a pixel just below 255): steadies the alphas against the previous frame's
 * (see the header) and records them for the next. `follows`: from beginTemporal.
 */
export function steadyMatte(st: ChromaKeyState, tm: TemporalState, data: Uint8Array, px: Uint32Array, follows: boolean): void {
  const { width, height, visibleLeft, visibleRight } = st;
  const { alpha: prevAlpha, spanLeft, spanRight, gain } = tm;
  const source = st.source,
    previous = tm.previous;
  // Row by row over the visible span only (alpha is 0 outside it: nothing to steady, nothing to
  // record), steadying and recording in one walk; then what is left of the previous span is cleared.
  for (let y = 0; y < height; y++) {
    const row = y * width;
    // An empty row has first -1, last -1: [-1, 0), which must not reach into the row above.
    const vl = visibleLeft[y] > 0 ? visibleLeft[y] : 0,
      vr = visibleRight[y];
    for (let x = vl, i = row + vl; x < vr; x++, i++) {
      const ap = prevAlpha[i];
      const a = px[i] >>> 24;
      // Most pixels: screen or opaque in both frames, nothing to steady nor to record (the walk
      // is over the whole span, haze on the screen included: two loads a pixel, no store).
      if (a === ap) continue;
      prevAlpha[i] = a;
      if (a === 0 || !follows) continue;
      let change = changeAt(source, previous, i);
      if (change >= CHANGE_FULL) continue;
      // The window's reach, at its four sides (the pixel's own change is cheaper and rules out most).
      const c = Math.max(
        changeAt(source, previous, x >= MOTION_REACH ? i - MOTION_REACH : i),
        changeAt(source, previous, x < width - MOTION_REACH ? i + MOTION_REACH : i),
        changeAt(source, previous, y >= MOTION_REACH ? i - MOTION_REACH * width : i),
        changeAt(source, previous, y < height - MOTION_REACH ? i + MOTION_REACH * width : i),
      );
      if (c >= CHANGE_FULL) continue;
      if (c > change) change = c;
      if (ap === 0 && a < POP_IN) {
        px[i] = 0; // transparent black, as keying leaves the screen
        prevAlpha[i] = 0;
        continue;
      }
      const steady = ap + (((a - ap) * gain[change] + 128) >> 8);
      data[i * 4 + 3] = steady;
      prevAlpha[i] = steady;
    }
    const pl = spanLeft[y],
      pr = spanRight[y];
    if (pr > pl) {
      const empty = vr <= vl;
      if (empty || pl < vl) prevAlpha.fill(0, row + pl, row + (empty ? pr : Math.min(pr, vl)));
      if (!empty && pr > vr) prevAlpha.fill(0, row + Math.max(pl, vr), row + pr);
    }
    spanLeft[y] = vl;
    spanRight[y] = vr;
  }
}

/** Sum of |change| of R, G and B of pixel i between two frames' words. */
function changeAt(source: Uint32Array, previous: Uint32Array, i: number): number {
  const s = source[i],
    q = previous[i];
  const dr = (s & 255) - (q & 255),
    dg = ((s >>> 8) & 255) - ((q >>> 8) & 255),
    db = ((s >>> 16) & 255) - ((q >>> 16) & 255);
  return (dr < 0 ? -dr : dr) + (dg < 0 ? -dg : dg) + (db < 0 ? -db : db);
}
