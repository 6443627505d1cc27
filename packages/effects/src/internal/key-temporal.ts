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
 * st.source: the two buffers swap) and the alphas this pass looked at; frames must come in order
 * (a stage runs them so), and any gap in frame.index (a seek, a new sequence) starts afresh.
 *
 * Only pixels that are partly transparent now (the edge pass's list) or were last frame (this
 * pass's own list) can need steadying: a pixel that was and is 0 or 255 has nothing to average.
 * So the pass visits those lists, not the frame: a walk over the rows' visible spans, comparing
 * every alpha with the last frame's plane, cost a fifth of the keyer's CPU for the few pixels it
 * changed. The alphas it records carry the frame's stamp; a pixel without last frame's stamp was
 * 0 or 255 then, and where its colour held, the one nearer its alpha now.
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
  /** Per pixel, (stamp << 8) | alpha of the frame this pass last looked at it in. */
  readonly seen: Int32Array;
  /** The pixels left partly transparent last frame, and the list being made for the next. */
  partial: Int32Array;
  partialCount: number;
  nextPartial: Int32Array;
  /** The current frame's stamp (1, 2, ...; 0 is never one). */
  stamp: number;
  /** frame.index of the previous frame; -2 when there is none. */
  lastIndex: number;
  /** K per change (0..CHANGE_FULL), in 1/256ths: one table read per pixel instead of a divide. */
  readonly gain: Uint16Array;
}

/** `listCap`: how many partly transparent pixels a frame can carry over (the edge list's length). */
export function createTemporalState(width: number, height: number, listCap: number): TemporalState {
  const gain = new Uint16Array(CHANGE_FULL + 1);
  for (let c = 0; c <= CHANGE_FULL; c++) gain[c] = Math.round(256 * Math.max(K_MIN, c / CHANGE_FULL));
  return {
    previous: new Uint32Array(width * height),
    seen: new Int32Array(width * height),
    partial: new Int32Array(listCap),
    partialCount: 0,
    nextPartial: new Int32Array(listCap),
    stamp: 0,
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
 * and this one may take a pixel just below 255): steadies the alphas of the edge pass's `edges`
 * listed pixels and of last frame's partly transparent ones against the previous frame's (see the
 * header), and records them for the next. `follows`: from beginTemporal.
 */
export function steadyMatte(st: ChromaKeyState, tm: TemporalState, data: Uint8Array, px: Uint32Array, follows: boolean, edges: number): void {
  const { edgeIdx } = st;
  const { seen, partial } = tm;
  const last = tm.stamp;
  const stamp = last < 0x7fffff ? last + 1 : 1; // (stamp << 8) stays a positive int32
  tm.stamp = stamp;
  const next = tm.nextPartial;
  const cap = next.length;
  let count = 0;
  // This frame's edges, then last frame's partial pixels that are not among them.
  for (let k = 0, n = edges + tm.partialCount; k < n; k++) {
    const i = k < edges ? edgeIdx[k] >> 2 : partial[k - edges];
    const was = seen[i];
    if (was >> 8 === stamp) continue; // listed twice
    const a = px[i] >>> 24;
    const now = follows ? settle(st, tm, data, px, i, a, was >> 8 === last ? was & 255 : -1) : a;
    seen[i] = (stamp << 8) | now;
    if (now > 0 && now < 255 && count < cap) next[count++] = i;
  }
  tm.nextPartial = partial;
  tm.partial = next;
  tm.partialCount = count;
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
