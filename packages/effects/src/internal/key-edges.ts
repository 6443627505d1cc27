/**
 * The keyer's edge pass, over the edge pixels the keying pass listed (0 < alpha < 1): the alpha
 * placed between the local screen colour and the nearby opaque colour, mostly by luma, then the
 * colour unmixed from the screen and despilled. See refineEdges.
 */
import { spillOf, writeDespilled } from './key-despill.js';
import type { ChromaKeyState } from './key-state.js';
import { clampChannel } from './pixel-words.js';
import { placeEdgesByLuma } from './key-edge-luma.js';
import { beginRow } from './window-columns.js';

/** Squared RGB distance below which a neighbour colour is too close to the screen to unmix against. */
const MIN_UNMIX_DISTANCE2 = 40 * 40;
/** BT.601 luma (what decoders use for SD and most uploads) and how much more it counts than chroma. */
const LY_R = 0.299;
const LY_G = 0.587;
const LY_B = 0.114;
const LUMA_WEIGHT = 16;
/** Opaque pixels (of 25) around a partial pixel with no transparent one that make it interior. */
const INTERIOR_OPAQUE = 12;

/**
 * Pass 2 over the edge pixels. A colour-difference matte over-estimates alpha where the character's
 * colour is far from neutral (an orange edge half over green has a strongly negative excess), so
 * where opaque pixels are near, the alpha is instead the position of the pixel on the line from
 * the local screen colour S to their mean colour F: a = (P - S).(F - S) / |F - S|^2 (as in
 * colour unmixing / Bayesian matting, with F taken from the 5x5 neighbourhood). Then the colour
 * is unmixed and despilled. Alphas are all computed before any is written, so a refined edge
 * never counts as an opaque neighbour. Returns how many edges there are now (the luma pass adds
 * strand pixels to the list).
 */
export function refineEdges(st: ChromaKeyState, data: Uint8Array, px: Uint32Array, listed: number): number {
  let edges = listed;
  const { width, height, edgeIdx, edgeA, edgeAin, edgeS, edgeOutline } = st;
  // 1 - t as a function of the ramp's alpha: t = (1 - similarity) - alpha * softness.
  const softness = 1 / st.invSoft,
    similarity = 1 - st.oneMinusSim;
  // Column sums of the windows (window-columns.ts): nothing writes px in this loop (alphas are
  // all computed before any is written), so a column summed once holds for the row's edges.
  const countCols = st.edgeCountColumns,
    colourCols = st.edgeColourColumns;
  const countStamp = countCols.stamp,
    counted = countCols.sums,
    colourStamp = colourCols.stamp,
    colours = colourCols.sums;
  let row = -1,
    countRow = 0,
    colourRow = 0;
  for (let k = 0; k < edges; k++) {
    const p = edgeIdx[k];
    const i = p >> 2;
    const y = (i / width) | 0;
    const x = i - y * width;
    const x0 = x > 1 ? x - 2 : 0,
      x1 = x < width - 2 ? x + 2 : width - 1;
    const y0 = y > 1 ? y - 2 : 0,
      y1 = y < height - 2 ? y + 2 : height - 1;
    if (y !== row) {
      row = y;
      countRow = beginRow(countCols);
      colourRow = beginRow(colourCols);
    }
    // First only count the opaque and the clear neighbours, branch-free on 32-bit words: where
    // screen, edges and character mix, a branch on each alpha mispredicts, and many edges have no
    // opaque neighbour at all (a prop near the screen's colour keyed partly transparent across
    // its whole area: 4 in 5 of the bench frame's 50k edges), so they need nothing more.
    // Both counts in one word (clear << 16), truncated to int32: no overflow check per pixel.
    let counts = 0;
    for (let c = x0; c <= x1; c++) {
      if (countStamp[c] !== countRow) {
        countStamp[c] = countRow;
        let column = 0;
        for (let w = y0 * width + c, end = y1 * width + c; w <= end; w += width) {
          const a = px[w] >>> 24;
          // 1 for 255 only; 0x10000 for 0 only
          column = (column + ((a + 1) >> 8) + (((a - 1) >> 31) & 0x10000)) | 0;
        }
        counted[c] = column;
      }
      counts = (counts + counted[c]) | 0;
    }
    const n = counts & 0xffff,
      clear = counts >>> 16;
    edgeOutline[k] = clear > 0 ? 1 : 0;
    if (n === 0) {
      // No opaque pixel near: no F to unmix against (glass, smoke, a strand, motion blur). Over a
      // neutral F, t = 1 - alpha exactly, while the matte's ramp (similarity, softness) maps
      // t = 0.7 (alpha 0.3) to 0.2 and drops all below 0.2: those areas came out too
      // transparent (tuning set: 3 in 4 of their error was under). Where 1 - t is the higher,
      // it is taken; the ramp stays where it is higher (a colour near the screen's, blue legs on
      // blue, which 1 - t would make more transparent still).
      const lin = edgeA[k] * softness + similarity;
      if (lin > edgeA[k]) edgeA[k] = lin;
      continue;
    }
    // No screen anywhere near and mostly opaque around: a seam between two colours inside the
    // character (4:2:0 chroma makes such seams look screen-ish), not an edge. Keep it opaque.
    if (clear === 0 && n >= INTERIOR_OPAQUE) {
      edgeA[k] = 1;
      continue;
    }
    // Red and blue in one word (16-bit lanes: 25 pixels sum to 6375 at most), as in key-edge-luma.ts.
    let frb = 0,
      fg = 0;
    for (let c = x0; c <= x1; c++) {
      if (colourStamp[c] !== colourRow) {
        colourStamp[c] = colourRow;
        let rb = 0,
          g = 0;
        for (let w = y0 * width + c, end = y1 * width + c; w <= end; w += width) {
          const v = px[w];
          const opaque = -(((v >>> 24) + 1) >> 8); // all ones for alpha 255, else 0
          rb = (rb + (v & opaque & 0xff00ff)) | 0;
          g = (g + ((v >>> 8) & opaque & 255)) | 0;
        }
        colours[c] = rb;
        colours[width + c] = g;
      }
      frb = (frb + colours[c]) | 0;
      fg = (fg + colours[width + c]) | 0;
    }
    const fr = frb & 0xffff,
      fb = frb >>> 16;
    const inv = 1 / n;
    const sr = edgeS[k * 3],
      sg = edgeS[k * 3 + 1],
      sb = edgeS[k * 3 + 2];
    // Projection in a luma-weighted space: decoded 4:2:0 video has sharp luma but chroma shared
    // by 2x2 pixels, so the luma difference locates the edge better than the colour.
    const dr = fr * inv - sr,
      dg = fg * inv - sg,
      db = fb * inv - sb;
    const dy = LY_R * dr + LY_G * dg + LY_B * db;
    const du = dr - dy,
      dv = db - dy;
    const dd = LUMA_WEIGHT * dy * dy + du * du + dv * dv;
    // F too close to S: the projection is unreliable, keep the colour-difference alpha.
    if (dd < MIN_UNMIX_DISTANCE2) continue;
    const pr = data[p] - sr,
      pg = data[p + 1] - sg,
      pb = data[p + 2] - sb;
    const py = LY_R * pr + LY_G * pg + LY_B * pb;
    const a = (LUMA_WEIGHT * py * dy + (pr - py) * du + (pb - py) * dv) / dd;
    const af = edgeA[k];
    edgeA[k] = a < af ? (a > 0 ? a : 0) : af;
  }
  // Then luma places them (4:2:0 chroma is blocky, luma sharp), before any colour is unmixed.
  edges = placeEdgesByLuma(st, data, px, edges);
  for (let k = 0; k < edges; k++) {
    const p = edgeIdx[k];
    finishEdge(st, data, p, edgeA[k], edgeAin[k], edgeS[k * 3], edgeS[k * 3 + 1], edgeS[k * 3 + 2]);
  }
  // The opaque pixels next to the outline: the matte called them opaque, but many are the
  // character's edge half over the screen, and they kept the screen light on them (despill
  // limits the RGB channel where it despills, but it spares colours near the screen's, and the
  // near-outline pass despills those only where the basis finds spill). Limited like the edges
  // (see finishEdge), only next to an edge on the outline: inside the character a prop near the
  // screen's colour is spared (despillProtect). Without it, held-out green edge colour error
  // 19.09 -> 19.32 levels.
  if (st.screenChannel >= 0 && st.strength > 0) {
    for (let k = 0; k < listed; k++) {
      if (edgeOutline[k] === 0) continue;
      const i = edgeIdx[k] >> 2;
      const x = i % width;
      const y = (i - x) / width;
      // Two pixels each way along the axes: where the truth is soft over a few pixels (motion
      // blur), the matte's edge is often narrower than it.
      if (x > 0) limitRim(st, data, px, i - 1);
      if (x > 1) limitRim(st, data, px, i - 2);
      if (x < width - 1) limitRim(st, data, px, i + 1);
      if (x < width - 2) limitRim(st, data, px, i + 2);
      if (y > 0) limitRim(st, data, px, i - width);
      if (y > 1) limitRim(st, data, px, i - 2 * width);
      if (y < height - 1) limitRim(st, data, px, i + width);
      if (y < height - 2) limitRim(st, data, px, i + 2 * width);
    }
  }
  return edges;
}

/** Limits pixel i's screen channel to the max of the other two if it is opaque (see refineEdges). */
function limitRim(st: ChromaKeyState, data: Uint8Array, px: Uint32Array, i: number): void {
  if (px[i] >>> 24 !== 255) return;
  limitScreenChannel(st, data, i * 4);
}

/** The screen's RGB channel (st.screenChannel, 0 or more) down to the max of the other two, by despill's strength. */
function limitScreenChannel(st: ChromaKeyState, data: Uint8Array, p: number): void {
  const c = st.screenChannel;
  const o1 = data[p + (c === 0 ? 1 : 0)],
    o2 = data[p + (c === 2 ? 1 : 2)];
  const m = o1 > o2 ? o1 : o2;
  const v = data[p + c];
  if (v > m) data[p + c] = v - (v - m) * st.strength;
}

/** Writes an edge pixel: alpha `af` times the input alpha, colour unmixed from S and despilled. */
export function finishEdge(st: ChromaKeyState, data: Uint8Array, p: number, af: number, ain: number, sr: number, sg: number, sb: number): void {
  const alpha = (af * ain + 0.5) | 0;
  if (alpha === 0) {
    data[p] = data[p + 1] = data[p + 2] = data[p + 3] = 0;
    return;
  }
  data[p + 3] = alpha;
  const strength = st.strength;
  if (strength === 0) return;
  const k = (1 - af) * strength;
  const inv = 1 / (1 - k);
  const fr = clampChannel((data[p] - k * sr) * inv);
  const fg = clampChannel((data[p + 1] - k * sg) * inv);
  const fb = clampChannel((data[p + 2] - k * sb) * inv);
  const d = spillOf(st, fr, fg, fb) * strength;
  // With the RGB screen channel limited even where the basis finds no spill: an edge is where a
  // screen lit off blue (or green) shows over a new background (see key-despill.ts).
  writeDespilled(st, data, p, fr, fg, fb, d > 0 ? d : 0, strength);
}
