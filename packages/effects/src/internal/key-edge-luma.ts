/**
 * Edge alphas placed by luma. In 4:2:0 video (what users upload) the chroma that decides the key
 * is shared by 2x2 pixels, so a colour-difference matte is blocky along the outline and breaks
 * thin strands into dashes; the luma is sharp. Along an edge every pixel mixes the local screen S
 * with a foreground F, so its luma is Y = Y_S + alpha (Y_F - Y_S): within a small window the alpha
 * is proportional to the luma's difference from the screen's, L = Y - Y_S. The window's chroma
 * tells how much foreground it holds (the sum of the alphas, right on average even when each
 * is blocky); the luma tells where: alpha(x) = sum(alpha) * L(x) / sum(L). Where F's luma is too
 * close to the screen's to tell (sum(L) small), the colour-difference alpha stays.
 */
import type { ChromaKeyState } from './key-state.js';
import { LUMA_B, LUMA_G, LUMA_R } from './key-basis.js';
import { beginRow } from './window-columns.js';

/** Window radius (5x5: two chroma samples either side, whatever the grid's parity). */
const RADIUS = 2;
/** Mean |L| over the window below which luma cannot place the edge (0-255; above noise). */
const MIN_MEAN_CONTRAST = 2;
/** Least alpha luma must show in a pixel keyed to screen for it to join a strand. */
const MIN_GAP_ALPHA = 0.1;
/** Screen pixels a window needs to measure the screen's luma itself. */
const MIN_SCREEN_SAMPLES = 3;

/**
 * Moves each edge alpha (edgeA, from the edge pass) to where the luma puts it, and lists the
 * pixels of strands that keying dropped as edges too; returns the new number of edges. Reads the
 * frame's source pixels (st.source) for luma, since keying wrote the screen's to 0.
 */
export function placeEdgesByLuma(st: ChromaKeyState, data: Uint8Array, px: Uint32Array, edges: number): number {
  const { width, height, edgeIdx, edgeA, edgeAin, edgeS, edgeLumaA: out, visibleLeft, visibleRight, bounds } = st;
  const edgeCap = edgeIdx.length;
  let total = edges;
  // The alphas the edge pass found, into the alpha bytes, so that the windows read them.
  for (let k = 0; k < edges; k++) {
    const a = (edgeA[k] * 255 + 0.5) | 0;
    data[edgeIdx[k] + 3] = a;
  }
  // Column sums of the windows (window-columns.ts), six lanes: the alphas, the counts, the
  // colour of all and of the screen pixels. Joining a strand pixel below corrects its column.
  const source = st.source;
  const cols = st.lumaColumns;
  const stamp = cols.stamp,
    sums = cols.sums;
  const A = 0,
    COUNTS = width,
    TRB = 2 * width,
    TG = 3 * width,
    ZRB = 4 * width,
    ZG = 5 * width;
  let row = -1,
    rowStamp = 0;
  for (let k = 0; k < edges; k++) {
    const af = edgeA[k];
    out[k] = af;
    if (af >= 1) continue; // a seam inside the character (see refineEdges)
    const p = edgeIdx[k];
    const i = p >> 2;
    const y = (i / width) | 0;
    const x = i - y * width;
    const x0 = x >= RADIUS ? x - RADIUS : 0,
      x1 = x < width - RADIUS ? x + RADIUS : width - 1;
    const y0 = y >= RADIUS ? y - RADIUS : 0,
      y1 = y < height - RADIUS ? y + RADIUS : height - 1;
    if (y !== row) {
      row = y;
      rowStamp = beginRow(cols);
    }
    // The screen's luma next to the edge, from the pixels keyed to screen around it (a shadow the
    // character casts darkens it); the estimate's where there are too few. Luma is linear, so the
    // window sums the channels as integers, of all its pixels and of those keyed to screen
    // (branch-free: where screen and character mix, a branch on each alpha mispredicts), and
    // takes their luma once: a luma per pixel was half this pass's cost. Red and blue are summed
    // in one word (16-bit lanes: a 5x5 window sums to 6375 at most), as are the counts of opaque
    // and of screen pixels, and every sum is truncated to int32 (| 0: no overflow check): with
    // nine sums in nine registers V8 spilled them, and the loop cost 85 instructions a pixel.
    let sumA = 0,
      counts = 0,
      trb = 0,
      tg = 0,
      zrb = 0,
      zg = 0;
    for (let c = x0; c <= x1; c++) {
      if (stamp[c] !== rowStamp) {
        stamp[c] = rowStamp;
        let ca = 0,
          cc = 0,
          crb = 0,
          cg = 0,
          czrb = 0,
          czg = 0;
        for (let w = y0 * width + c, end = y1 * width + c; w <= end; w += width) {
          const s = source[w];
          const a = px[w] >>> 24;
          const rb = s & 0xff00ff,
            g = (s >>> 8) & 255;
          const screen = (a - 1) >> 31; // all ones for alpha 0, else 0
          crb = (crb + rb) | 0;
          cg = (cg + g) | 0;
          czrb = (czrb + (rb & screen)) | 0;
          czg = (czg + (g & screen)) | 0;
          cc = (cc + ((a + 1) >> 8) + (screen & 0x10000)) | 0; // opaque, and screen << 16
          ca = (ca + a) | 0;
        }
        sums[A + c] = ca;
        sums[COUNTS + c] = cc;
        sums[TRB + c] = crb;
        sums[TG + c] = cg;
        sums[ZRB + c] = czrb;
        sums[ZG + c] = czg;
      }
      sumA = (sumA + sums[A + c]) | 0;
      counts = (counts + sums[COUNTS + c]) | 0;
      trb = (trb + sums[TRB + c]) | 0;
      tg = (tg + sums[TG + c]) | 0;
      zrb = (zrb + sums[ZRB + c]) | 0;
      zg = (zg + sums[ZG + c]) | 0;
    }
    const tr = trb & 0xffff,
      tb = trb >>> 16,
      zr = zrb & 0xffff,
      zb = zrb >>> 16;
    const opaque = counts & 0xffff,
      ns = counts >>> 16;
    const count = (x1 - x0 + 1) * (y1 - y0 + 1);
    const n = count - ns;
    const sumYs = LUMA_R * zr + LUMA_G * zg + LUMA_B * zb;
    const sumY = LUMA_R * (tr - zr) + LUMA_G * (tg - zg) + LUMA_B * (tb - zb);
    const ys = ns >= MIN_SCREEN_SAMPLES ? sumYs / ns : LUMA_R * edgeS[k * 3] + LUMA_G * edgeS[k * 3 + 1] + LUMA_B * edgeS[k * 3 + 2];
    const sumL = sumY - n * ys;
    if (sumL * sumL < MIN_MEAN_CONTRAST * MIN_MEAN_CONTRAST * count * count) continue;
    const s = source[i];
    const l = LUMA_R * (s & 255) + LUMA_G * ((s >>> 8) & 255) + LUMA_B * ((s >>> 16) & 255) - ys;
    const a = ((sumA / 255) * l) / sumL;
    out[k] = a <= 0 ? 0 : a >= 1 ? 1 : a;
    // A strand (no opaque pixel near): its pixels whose chroma share fell below the key's
    // threshold were keyed to screen, which breaks it into dashes. Where the luma shows them, they
    // join the edges with the alpha it gives. Only a pixel keyed to screen (alpha 0) can join, so
    // a window with none (inside smoke, glass, a haze of strands) has nothing to look for.
    if (opaque !== 0 || ns === 0) continue;
    const scale = sumA / 255 / sumL;
    for (let yy = y > 0 ? y - 1 : 0, ye = y < height - 1 ? y + 1 : y; yy <= ye; yy++) {
      for (let xx = x > 0 ? x - 1 : 0, xe = x < width - 1 ? x + 1 : x; xx <= xe; xx++) {
        const w = yy * width + xx;
        if (px[w] !== 0 || total >= edgeCap) continue;
        const s = source[w];
        const ain = s >>> 24;
        if (ain === 0) continue; // canvas padding
        const aw = (LUMA_R * (s & 255) + LUMA_G * ((s >>> 8) & 255) + LUMA_B * ((s >>> 16) & 255) - ys) * scale;
        if (aw < MIN_GAP_ALPHA) continue;
        // Back to its source colour, for finishEdge to unmix; alpha 1 marks it taken.
        px[w] = (s & 0xffffff) | (1 << 24);
        // Its column, summed with it as screen (alpha 0), for the windows of this row still to come
        // (rows after this one sum their columns afresh).
        if (stamp[xx] === rowStamp) {
          sums[A + xx] += 1;
          sums[COUNTS + xx] -= 0x10000;
          sums[ZRB + xx] -= s & 0xff00ff;
          sums[ZG + xx] -= (s >>> 8) & 255;
        }
        edgeIdx[total] = w * 4;
        edgeAin[total] = ain;
        edgeS[total * 3] = edgeS[k * 3]!;
        edgeS[total * 3 + 1] = edgeS[k * 3 + 1]!;
        edgeS[total * 3 + 2] = edgeS[k * 3 + 2]!;
        out[total] = aw >= 1 ? 1 : aw;
        total++;
        if (visibleRight[yy] <= visibleLeft[yy]) {
          visibleLeft[yy] = xx;
          visibleRight[yy] = xx + 1;
        } else {
          if (xx < visibleLeft[yy]) visibleLeft[yy] = xx;
          if (xx >= visibleRight[yy]) visibleRight[yy] = xx + 1;
        }
        if (bounds.right <= bounds.left) {
          bounds.left = xx;
          bounds.right = xx + 1;
          bounds.top = yy;
          bounds.bottom = yy + 1;
        } else {
          if (xx < bounds.left) bounds.left = xx;
          if (xx >= bounds.right) bounds.right = xx + 1;
          if (yy < bounds.top) bounds.top = yy;
          if (yy >= bounds.bottom) bounds.bottom = yy + 1;
        }
      }
    }
  }
  for (let k = 0; k < total; k++) edgeA[k] = out[k]!;
  return total;
}
