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
 * pop it in). State: the previous frame's source colours and the alphas this pass looked at; frames
 * must come in order (a stage runs them so), and any gap in frame.index (a seek, a new sequence)
 * starts afresh.
 *
 * Only pixels that are partly transparent now (the edge pass's list) or were last frame (this
 * pass's own list) can need steadying: a pixel that was and is 0 or 255 has nothing to average.
 * So the pass visits those lists, not the frame: a walk over the rows' visible spans, comparing
 * every alpha with a plane of the last frame's, cost a fifth of the keyer's CPU for the few
 * pixels it changed, and a plane read at the listed pixels alone still cost a cache miss each.
 * Both lists are in pixel order, so one merge pairs each pixel with its alpha last frame; a
 * pixel in this frame's list alone was 0 or 255 then, and where its colour held, the one nearer
 * its alpha now.
 *
 * The pass runs row by row a few rows behind the keying (key-rows.ts), so this frame's source
 * colours (st.sourceRows, copied row by row as they are keyed: the whole frame's, which become
 * the next frame's `previous`) are read while still in cache. Its writes wait for the end of the
 * frame (endTemporal): the near-outline despill, which runs on the whole frame once the edges are
 * written, must see the alphas as the edge pass left them (it despills alpha 255 only).
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

/** Temporal history of one job, and where the pass is in the current frame. */
export interface TemporalState {
  /** The previous frame's source colours (swapped with st.sourceRows). */
  previous: Uint32Array;
  /**
   * The pixels this pass looked at last frame (its edges, and those it carried over because they
   * were still partly transparent), in pixel order, and their alphas then (-1 once a strand pixel
   * of this frame took it); then the lists being made for the next frame (swapped).
   */
  partial: Int32Array;
  partialAlpha: Int16Array;
  partialCount: number;
  nextPartial: Int32Array;
  nextAlpha: Int16Array;
  /**
   * This frame's strand pixels, sorted as they come (from strandHead to strandTail those not
   * steadied yet), and their steadied alphas.
   */
  readonly strandIdx: Int32Array;
  readonly strandAlpha: Int16Array;
  /** The alphas the pass changes (0: the pixel cleared), written at the end of the frame. */
  readonly writeIdx: Int32Array;
  readonly writeAlpha: Uint8Array;
  /** frame.index of the previous frame; -2 when there is none. */
  lastIndex: number;
  /** Whether the history applies to this frame (it follows the last one). */
  follows: boolean;
  /** In this frame: the next entry of `partial` to merge, strands taken from the edge list, list lengths. */
  partialAt: number;
  strandsSeen: number;
  strandHead: number;
  strandTail: number;
  made: number;
  writes: number;
  /** K per change (0..CHANGE_FULL), in 1/256ths: one table read per pixel instead of a divide. */
  readonly gain: Uint16Array;
}

/**
 * `listCap`: how many pixels a frame can carry over (past it, the rest have no history next
 * frame); `edgeCap`: the edge list's length (the pass looks at up to both together).
 */
export function createTemporalState(width: number, height: number, listCap: number, edgeCap: number): TemporalState {
  const gain = new Uint16Array(CHANGE_FULL + 1);
  for (let c = 0; c <= CHANGE_FULL; c++) gain[c] = Math.round(256 * Math.max(K_MIN, c / CHANGE_FULL));
  return {
    previous: new Uint32Array(width * height),
    partial: new Int32Array(listCap),
    partialAlpha: new Int16Array(listCap),
    partialCount: 0,
    nextPartial: new Int32Array(listCap),
    nextAlpha: new Int16Array(listCap),
    strandIdx: new Int32Array(edgeCap),
    strandAlpha: new Int16Array(edgeCap),
    writeIdx: new Int32Array(listCap + edgeCap),
    writeAlpha: new Uint8Array(listCap + edgeCap),
    lastIndex: -2,
    follows: false,
    partialAt: 0,
    strandsSeen: 0,
    strandHead: 0,
    strandTail: 0,
    made: 0,
    writes: 0,
    gain,
  };
}

/**
 * Before the frame is keyed: whether the history applies to it (it follows the last one); hands
 * the keyer the buffer to copy this frame's source colours into (last frame's previous one) and
 * keeps last frame's as `previous`.
 */
export function beginTemporal(st: ChromaKeyState, tm: TemporalState, index: number): void {
  const last = st.sourceRows;
  st.sourceRows = tm.previous;
  tm.previous = last;
  tm.follows = index === tm.lastIndex + 1;
  tm.lastIndex = index;
  tm.partialAt = 0;
  tm.strandsSeen = 0;
  tm.strandHead = 0;
  tm.strandTail = 0;
  tm.made = 0;
  tm.writes = 0;
}

/** No pixel index reaches this (the end of a list in the merge). */
const END = 0x7fffffff;

/**
 * Steadies the alphas of row r (final: see key-rows.ts) against the previous frame's (see the
 * header): the edge pass's pixels of the row (the keying pass's edges and the strand pixels the
 * luma pass joined) and last frame's partly transparent ones, and records all it looked at for
 * the next frame, in pixel order.
 */
export function steadyRow(st: ChromaKeyState, tm: TemporalState, px: Uint32Array, r: number): void {
  const { edgeIdx } = st;
  const { partial, partialAlpha, strandIdx, strandAlpha, follows } = tm;
  const count = tm.partialCount;
  const rowEnd = (r + 1) * st.width;
  // The strands finished since the last row, into order (each comes within about a row of the
  // one before): the rows up to r have all theirs by now (see key-rows.ts).
  const last = edgeIdx.length - 1;
  let tail = tm.strandTail;
  for (let s = tm.strandsSeen, n = st.strandsFinished; s < n; s++) {
    const i = edgeIdx[last - s] >> 2;
    let j = tail++;
    for (; j > tm.strandHead && strandIdx[j - 1] > i; j--) strandIdx[j] = strandIdx[j - 1];
    strandIdx[j] = i;
  }
  tm.strandTail = tail;
  tm.strandsSeen = st.strandsFinished;
  // This row's strands first: last frame's alpha by binary search, taken out of the merge.
  const strandsFrom = tm.strandHead;
  let g = strandsFrom;
  for (; g < tail && strandIdx[g] < rowEnd; g++) {
    const i = strandIdx[g];
    let lo = 0,
      hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (partial[mid] < i) lo = mid + 1;
      else hi = mid;
    }
    let ap = -1;
    if (lo < count && partial[lo] === i) {
      ap = partialAlpha[lo];
      partialAlpha[lo] = -1;
    }
    const a = px[i] >>> 24;
    strandAlpha[g] = follows ? settle(st, tm, i, a, ap) : a;
  }
  const strandsEnd = g;
  tm.strandHead = strandsEnd;
  // The keying pass's edges of the row, last frame's list and the strands, merged in pixel order.
  const next = tm.nextPartial,
    nextAlpha = tm.nextAlpha;
  const cap = next.length;
  let made = tm.made;
  let q = tm.partialAt;
  g = strandsFrom;
  for (let e = st.edgeRowStart[r], eEnd = st.edgeRowStart[r + 1]; ;) {
    const ie = e < eEnd ? edgeIdx[e] >> 2 : END;
    const iq = q < count && partial[q] < rowEnd ? partial[q] : END;
    const ig = g < strandsEnd ? strandIdx[g] : END;
    let i = ie,
      now: number;
    if (ig < ie && ig < iq) {
      i = ig;
      now = strandAlpha[g++];
    } else if (ie === END && iq === END) {
      break;
    } else {
      let ap = -1;
      if (ie <= iq) {
        e++;
        if (ie === iq) ap = partialAlpha[q++];
      } else {
        i = iq;
        ap = partialAlpha[q++];
        // Only partly transparent ones come back (0 and 255 are there as history for this frame's
        // edges), and not those a strand pixel took above.
        if (ap <= 0 || ap === 255) continue;
      }
      const a = px[i] >>> 24;
      now = follows ? settle(st, tm, i, a, ap) : a;
    }
    if (made < cap) {
      next[made] = i;
      nextAlpha[made++] = now;
    }
  }
  tm.made = made;
  tm.partialAt = q;
}

/**
 * After the near-outline despill: writes the alphas the pass steadied, and keeps the pixels it
 * looked at as the next frame's history.
 */
export function endTemporal(tm: TemporalState, data: Uint8Array, px: Uint32Array): void {
  const { writeIdx, writeAlpha } = tm;
  for (let w = 0, n = tm.writes; w < n; w++) {
    const i = writeIdx[w],
      a = writeAlpha[w];
    if (a === 0)
      px[i] = 0; // transparent black, as keying leaves the screen
    else data[i * 4 + 3] = a;
  }
  const { partial, partialAlpha } = tm;
  tm.partialCount = tm.made;
  tm.partial = tm.nextPartial;
  tm.partialAlpha = tm.nextAlpha;
  tm.nextPartial = partial;
  tm.nextAlpha = partialAlpha;
}

/**
 * The steadied alpha of pixel i, alpha `a` now and `ap` last frame (-1: not looked at then, so 0
 * or 255); records it for endTemporal (0 for a pixel that pops in: cleared) when it differs from `a`.
 */
function settle(st: ChromaKeyState, tm: TemporalState, i: number, a: number, ap: number): number {
  if (a === ap || a === 0) return a;
  const { width, height } = st;
  // With the pass on, st.sourceRows holds the whole frame (see there).
  const source = st.sourceRows,
    previous = tm.previous;
  let change = changeAt(source, previous, i);
  if (change >= CHANGE_FULL) return a;
  const y = (i / width) | 0;
  const x = i - y * width;
  // The window's reach, at its four sides (the pixel's own change is cheaper and rules out most).
  const c = Math.max(
    changeAt(source, previous, x >= MOTION_REACH ? i - MOTION_REACH : i),
    changeAt(source, previous, x < width - MOTION_REACH ? i + MOTION_REACH : i),
    changeAt(source, previous, y >= MOTION_REACH ? i - MOTION_REACH * width : i),
    changeAt(source, previous, y < height - MOTION_REACH ? i + MOTION_REACH * width : i),
  );
  if (c >= CHANGE_FULL) return a;
  if (c > change) change = c;
  // Not looked at last frame: it was 0 or 255, and its colour held, so the one nearer.
  const before = ap >= 0 ? ap : a < 128 ? 0 : 255;
  if (before === a) return a;
  // A weak pixel over what was screen stays transparent (steady is never 0 otherwise: at least a
  // share K_MIN of the way from `before` to `a`, both above 0, or from 0 to at least POP_IN).
  const steady = before === 0 && a < POP_IN ? 0 : before + (((a - before) * tm.gain[change] + 128) >> 8);
  tm.writeIdx[tm.writes] = i;
  tm.writeAlpha[tm.writes++] = steady;
  return steady;
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
