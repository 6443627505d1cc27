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
 * pop it in). State: the previous frame's source colours (the keyer keeps them anyway, see
 * st.source: the two buffers swap) and the alphas this pass looked at; frames must come in order
 * (a stage runs them so), and any gap in frame.index (a seek, a new sequence) starts afresh.
 *
 * Only pixels that are partly transparent now (the edge pass's list) or were last frame (this
 * pass's own list) can need steadying: a pixel that was and is 0 or 255 has nothing to average.
 * So the pass visits those lists, not the frame: a walk over the rows' visible spans, comparing
 * every alpha with a plane of the last frame's, cost a fifth of the keyer's CPU for the few
 * pixels it changed, and a plane read at the listed pixels alone still cost a cache miss each.
 * Both lists are in pixel order, so one merge pairs each pixel with its alpha last frame; a
 * pixel in this frame's list alone was 0 or 255 then, and where its colour held, the one nearer
 * its alpha now.
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

/** Temporal history of one job. */
export interface TemporalState {
  /** The previous frame's source colours (swapped with st.source). */
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
  /** This frame's strand pixels and their alphas (see steadyMatte), sorted before the merge. */
  readonly strandIdx: Int32Array;
  readonly strandAlpha: Int16Array;
  /** frame.index of the previous frame; -2 when there is none. */
  lastIndex: number;
  /** K per change (0..CHANGE_FULL), in 1/256ths: one table read per pixel instead of a divide. */
  readonly gain: Uint16Array;
}

/**
 * `previous`: a frame-sized plane for the previous frame's colours (the screen test's memory holds
 * it, see key-screen-test.ts); `listCap`: how many pixels a frame can carry over (past it, the rest
 * have no history next frame).
 */
export function createTemporalState(previous: Uint32Array, listCap: number): TemporalState {
  const gain = new Uint16Array(CHANGE_FULL + 1);
  for (let c = 0; c <= CHANGE_FULL; c++) gain[c] = Math.round(256 * Math.max(K_MIN, c / CHANGE_FULL));
  return {
    previous,
    partial: new Int32Array(listCap),
    partialAlpha: new Int16Array(listCap),
    partialCount: 0,
    nextPartial: new Int32Array(listCap),
    nextAlpha: new Int16Array(listCap),
    strandIdx: new Int32Array(listCap),
    strandAlpha: new Int16Array(listCap),
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

/** No pixel index reaches this (the end of a list in the merge). */
const END = 0x7fffffff;

/**
 * After the edges are written and the outline despilled (that pass despills alpha-255 pixels only,
 * and this one may take a pixel just below 255): steadies the alphas of the edge pass's listed
 * pixels and of last frame's partly transparent ones against the previous frame's (see the
 * header), and records all it looked at for the next. The edge list: `listed` edges of
 * the keying pass (in pixel order), then up to `edges` the strand pixels the luma pass joined (in
 * the order of the edges they join, so nearly sorted). `follows`: from beginTemporal.
 */
export function steadyMatte(st: ChromaKeyState, tm: TemporalState, data: Uint8Array, px: Uint32Array, follows: boolean, listed: number, edges: number): void {
  const { edgeIdx } = st;
  const { partial, partialAlpha, strandIdx, strandAlpha } = tm;
  const count = tm.partialCount;
  const next = tm.nextPartial,
    nextAlpha = tm.nextAlpha;
  const cap = next.length;
  // Strand pixels first: last frame's alpha by binary search, taken out of the merge.
  let strands = 0;
  for (let k = listed; k < edges; k++) {
    const i = edgeIdx[k] >> 2;
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
    const now = follows ? settle(st, tm, data, px, i, a, ap) : a;
    // Insertion into order: each comes within about a row of the one before.
    let j = strands++;
    for (; j > 0 && strandIdx[j - 1] > i; j--) {
      strandIdx[j] = strandIdx[j - 1];
      strandAlpha[j] = strandAlpha[j - 1];
    }
    strandIdx[j] = i;
    strandAlpha[j] = now;
  }
  // The keying pass's edges and last frame's list, merged in pixel order.
  let made = 0;
  for (let e = 0, q = 0; e < listed || q < count;) {
    const ie = e < listed ? edgeIdx[e] >> 2 : END;
    const iq = q < count ? partial[q] : END;
    let i = ie,
      ap = -1;
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
    const now = follows ? settle(st, tm, data, px, i, a, ap) : a;
    if (made < cap) {
      next[made] = i;
      nextAlpha[made++] = now;
    }
  }
  // The strand pixels into the list, from the back (both parts are in order).
  if (made + strands > cap) strands = cap - made;
  for (let w = made + strands - 1, m = made - 1, g = strands - 1; g >= 0; w--) {
    if (m >= 0 && next[m] > strandIdx[g]) {
      next[w] = next[m];
      nextAlpha[w] = nextAlpha[m--];
    } else {
      next[w] = strandIdx[g];
      nextAlpha[w] = strandAlpha[g--];
    }
  }
  tm.partialCount = made + strands;
  tm.nextPartial = partial;
  tm.nextAlpha = partialAlpha;
  tm.partial = next;
  tm.partialAlpha = nextAlpha;
}

/**
 * The steadied alpha of pixel i, alpha `a` now and `ap` last frame (-1: not looked at then, so 0
 * or 255); writes it (or clears a pixel that pops in) when it differs from `a`.
 */
function settle(st: ChromaKeyState, tm: TemporalState, data: Uint8Array, px: Uint32Array, i: number, a: number, ap: number): number {
  if (a === ap || a === 0) return a;
  const { width, height } = st;
  const source = st.source,
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
  if (before === 0 && a < POP_IN) {
    px[i] = 0; // transparent black, as keying leaves the screen
    return 0;
  }
  const steady = before + (((a - before) * tm.gain[change] + 128) >> 8);
  data[i * 4 + 3] = steady;
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
