/**
 * The keyer's first pass, over every pixel: the colour-difference matte against the local screen
 * (see chroma-key.ts for the model), shadows on the screen keyed out, opaque pixels despilled, and
 * the edge pixels (0 < alpha < 1) listed for the edge pass (key-edges.ts).
 */
import { screenChannelOver, writeDespilled } from './key-despill.js';
import { finishEdge } from './key-edges.js';
import type { ChromaKeyState } from './key-state.js';
import { toByte } from './pixel-words.js';

/** Where no cells are needed (nothing spared): a shared empty array, no allocation. */
const NO_CELLS = new Uint8Array(0);

/**
 * The screen test for row y, the one part of the keying pass that runs on every pixel: screen
 * pixels become transparent black (so no later filter can pull screen colour into an edge);
 * canvas padding (alpha 0) stays as it is. Plain pixels (see tPlain: most of the character) are
 * finished here too, as they need nothing more than the test already computed: bounds, and spill
 * listed for despillRow (1 in 16 of them has any). The rest are listed in rowKept with their t,
 * for keyKeptRow to key. Returns how many were listed. The test itself runs in WebAssembly
 * (key-screen-test.ts), which reads only its own memory, where st.source lives: so the row's
 * colours as they came in are copied there first (for the later passes too, which need the
 * screen's after this zeroes them), and the test reads them while the copy is still in cache. One
 * copy of the whole frame before the first row cost 5-7% more of the keyer at 1080p: the test
 * read it back from memory. The screen comes back as runs.
 */
function keyScreenRow(st: ChromaKeyState, px: Uint32Array, y: number): number {
  const { kernel, rowSpan, width } = st;
  const row = y * width;
  st.source.set(px.subarray(row, row + width), row);
  const kept = kernel.screenRow(row, st.source.byteOffset);
  const { runs, out } = kernel;
  for (let k = 0, n = out[3]; k < n; k++) px.fill(0, runs[2 * k], runs[2 * k + 1]);
  rowSpan[0] = out[1];
  rowSpan[1] = out[2];
  rowSpan[2] = out[0];
  return kept;
}

/**
 * Despills the plain pixels keyScreenRow listed in row y by their amount (spill to limit), and
 * limits their RGB screen channel as writeDespilled does (key-despill.ts), on words. Plain
 * pixels are all listed where that channel can be over with no spill (see keyScreenRow).
 */
function despillRow(st: ChromaKeyState, px: Uint32Array, y: number): void {
  const { rowSpill, rowSpillD, cr, cg, cb, strength } = st;
  const c = st.screenChannel;
  const row = y * st.width;
  for (let k = 0, n = st.rowSpan[2]; k < n; k++) {
    const i = row + rowSpill[k];
    const d = rowSpillD[k];
    const v = px[i];
    const r = v & 255,
      g = (v >>> 8) & 255,
      b = (v >>> 16) & 255;
    let r8 = r,
      g8 = g,
      b8 = b;
    // 0 or less: listed for the RGB channel alone (listAll), most of them with nothing to do.
    if (d > 0) {
      r8 = toByte(r - d * cr);
      g8 = toByte(g - d * cg);
      b8 = toByte(b - d * cb);
    }
    if (c === 2) {
      const m = r8 > g8 ? r8 : g8;
      if (b8 > m) b8 = (b8 - (b8 - m) * strength) | 0;
    } else if (c === 1) {
      const m = r8 > b8 ? r8 : b8;
      if (g8 > m) g8 = (g8 - (g8 - m) * strength) | 0;
    } else if (c === 0) {
      const m = g8 > b8 ? g8 : b8;
      if (r8 > m) r8 = (r8 - (r8 - m) * strength) | 0;
    }
    if (r8 === r && g8 === g && b8 === b) continue;
    px[i] = (v & 0xff000000) | (b8 << 16) | (g8 << 8) | r8;
  }
}

/**
 * The pixels keyScreenRow kept in row y (neither screen nor plain): shadows keyed out, opaque ones
 * despilled (or spared, into st.spillRect), edges listed from index `edges` on with a provisional
 * alpha. Returns the new number of edges; rowSpan[3] and [4] get the row's first and last opaque
 * or edge x (-1 when none). A function per row, not a loop in keyPixels: keyPixels runs once a
 * frame, so V8 only ever ran this loop as on-stack-replaced code, where every constant from
 * before the loop (the weights, the ramp) came in boxed and was unboxed again at each use
 * (1080p: 275 instructions a kept pixel, 38.9M a frame).
 */
function keyKeptRow(st: ChromaKeyState, data: Uint8Array, px: Uint32Array, y: number, kept: number, edges: number): number {
  const { width, fracX, cellOf, rowInvL, rowDInvL, rowRgb, rowKept, rowKeptT } = st;
  const { shadowFull, shadowLo, invShadowRamp } = st;
  const w = st.screenTest;
  const k0 = w[0],
    k1 = w[1],
    k2 = w[2],
    q0 = w[3],
    q1 = w[4],
    q2 = w[5];
  const { oneMinusSim, invSoft, dHi, dLo, strength } = st;
  const halfBias = 0.5 * (dHi - dLo);
  const { protectStart, protectFull, invProtect } = st;
  const despill = strength > 0;
  const spared = st.spillRect;
  // Not reached unless protecting, when sparedCells exists (no allocation: a shared empty array).
  const sparedCells = st.sparedCells ?? NO_CELLS;
  const { spillShift: shift, spillCols } = st;
  const { edgeIdx, edgeA, edgeAin, edgeS } = st;
  const edgeCap = edgeIdx.length;
  const row = y * width,
    cellRow = (y >> shift) * spillCols;
  let first = -1,
    last = -1;
  for (let k = 0; k < kept; k++) {
    const x = rowKept[k];
    // keyScreenRow's screen test, which found it below 1 - similarity.
    let t = rowKeptT[k];
    const cell = cellOf[x];
    const p = (row + x) * 4;
    const v = px[p >> 2];
    const ain = v >>> 24;
    const r = v & 255,
      g = (v >>> 8) & 255,
      b = (v >>> 16) & 255;
    if (t > 0) {
      // A shadow on the screen is a darker copy of it: same excess per unit of brightness. Where
      // the pixel is darker than the local screen (by less than the shadow limit), judge the
      // excess relative to the pixel's own brightness, so the shadow keys out like the screen.
      const kb = (r + g + b) * (rowInvL[cell] + rowDInvL[cell] * fracX[x]);
      if (kb < 1 && kb > shadowLo) {
        const tn = t / kb;
        t = kb >= shadowFull ? tn : t + (tn - t) * (kb - shadowLo) * invShadowRamp;
      }
    }
    const af = (oneMinusSim - t) * invSoft;

    if (af <= 0) {
      // Shadow on the screen.
      px[p >> 2] = 0;
      continue;
    }

    if (af >= 1) {
      // Opaque but not plain (near the screen's colour: maybe spared): spill to limit.
      if (first < 0) first = x;
      last = x;
      if (!despill) continue;
      // The same arithmetic as the screen test's spill amount for plain pixels (key-screen-test.wat).
      const core = k0 * r + k1 * g + k2 * b;
      const d = (core - halfBias * Math.abs(q0 * r + q1 * g + q2 * b)) * strength;
      if (d <= 0 && t <= protectStart) {
        // No spill about the screen's hue, but its RGB channel may still be over (key-despill.ts).
        writeDespilled(st, data, p, r, g, b, 0, strength);
        continue;
      }
      // Away from the outline, spill is a small excess on a colour far from the screen; an
      // opaque colour that is itself close to the screen (teal on green) is a prop's: despill
      // fades out. Near the outline, despillNearOutline despills it in full after all, and
      // limits its RGB screen channel, which may be over with no spill about the screen's hue
      // (a violet at a blue screen's hard outline: held-out blue edge spill, one clip's encode).
      if (t > protectStart) {
        if (d <= 0 && !screenChannelOver(st, r, g, b)) continue;
        if (x < spared.left) spared.left = x;
        if (x >= spared.right) spared.right = x + 1;
        if (y < spared.top) spared.top = y;
        spared.bottom = y + 1;
        sparedCells[cellRow + (x >> shift)] = 1;
        if (d <= 0 || t >= protectFull) continue;
        const share = (protectFull - t) * invProtect;
        writeDespilled(st, data, p, r, g, b, d * share, strength * share);
        continue;
      }
      writeDespilled(st, data, p, r, g, b, d, strength);
      continue;
    }

    // Edge: the matte is refined and the colour unmixed in a second pass, once every opaque
    // neighbour is known; until then the pixel keeps its source colour and a provisional alpha.
    const alpha = (af * ain + 0.5) | 0;
    if (alpha === 0) {
      data[p] = data[p + 1] = data[p + 2] = data[p + 3] = 0;
      continue;
    }
    if (first < 0) first = x;
    last = x;
    const q = cell * 3;
    const f = fracX[x];
    const sr = rowRgb[q] + (rowRgb[q + 3] - rowRgb[q]) * f;
    const sg = rowRgb[q + 1] + (rowRgb[q + 4] - rowRgb[q + 1]) * f;
    const sb = rowRgb[q + 2] + (rowRgb[q + 5] - rowRgb[q + 2]) * f;
    if (edges < edgeCap) {
      edgeIdx[edges] = p;
      edgeA[edges] = af;
      edgeAin[edges] = ain;
      edgeS[edges * 3] = sr;
      edgeS[edges * 3 + 1] = sg;
      edgeS[edges * 3 + 2] = sb;
      edges++;
      // Below 255, so that pass 2 never takes it for an opaque neighbour.
      data[p + 3] = alpha < 255 ? alpha : 254;
    } else {
      finishEdge(st, data, p, af, ain, sr, sg, sb);
    }
  }
  const span = st.rowSpan;
  span[3] = first;
  span[4] = last;
  return edges;
}

/**
 * The grid, interpolated to row y once (st.rowInv, rowInvL, rowRgb and the differences to the
 * next node): per pixel only a lerp along x remains. Its own function for the reason keyKeptRow
 * is one.
 */
function gridRow(st: ChromaKeyState, y: number): void {
  const { height, cols, rows, nodeInv, nodeInvL, nodeRgb, rowInv, rowDInv, rowInvL, rowDInvL, rowRgb } = st;
  const yScale = height > 1 ? (rows - 1) / (height - 1) : 0;
  const fy = y * yScale;
  const j = Math.min(rows - 2, Math.floor(fy));
  const wy = fy - j;
  const n0 = j * cols,
    n1 = n0 + cols;
  for (let i = 0; i < cols; i++) {
    rowInv[i] = nodeInv[n0 + i] + (nodeInv[n1 + i] - nodeInv[n0 + i]) * wy;
    rowInvL[i] = nodeInvL[n0 + i] + (nodeInvL[n1 + i] - nodeInvL[n0 + i]) * wy;
    for (let c = 0; c < 3; c++) {
      const a = nodeRgb[(n0 + i) * 3 + c];
      rowRgb[i * 3 + c] = a + (nodeRgb[(n1 + i) * 3 + c] - a) * wy;
    }
  }
  for (let i = 0; i < cols - 1; i++) {
    rowDInv[i] = rowInv[i + 1] - rowInv[i];
    rowDInvL[i] = rowInvL[i + 1] - rowInvL[i];
  }
}

/**
 * The keying pass over the whole frame, row by row: the screen test (keyScreenRow), shadows, the
 * despill of opaque pixels (with despillProtect's sparing), and the edge pixels listed for the
 * edge pass with a provisional alpha. Writes the alpha bounds into st.bounds, the visible span of
 * each row and the box of the spared pixels; returns how many edges it listed.
 */
export function keyPixels(st: ChromaKeyState, data: Uint8Array, px: Uint32Array): number {
  const { width, height, rowSpan, visibleLeft, visibleRight } = st;
  const inAlpha = st.refine ? st.refine.inAlpha : null;
  let left = width,
    right = 0,
    top = height,
    bottom = 0;
  // Box of the opaque pixels despill spared (protected): only they can need despilling near the
  // outline later, everything else is despilled in full already.
  const spared = st.spillRect;
  spared.left = width;
  spared.right = 0;
  spared.top = height;
  spared.bottom = 0;
  let edges = 0;
  for (let y = 0; y < height; y++) {
    gridRow(st, y);

    // The refinement needs the input alpha after keying, to keep the padding transparent.
    if (inAlpha !== null) {
      for (let i = y * width, end = i + width; i < end; i++) inAlpha[i] = px[i] >>> 24;
    }
    const kept = keyScreenRow(st, px, y);
    despillRow(st, px, y);

    edges = keyKeptRow(st, data, px, y, kept, edges);
    let first = rowSpan[3],
      last = rowSpan[4];
    // Plain pixels are opaque: they count for the bounds like those keyed here.
    const plainFirst = rowSpan[0],
      plainLast = rowSpan[1];
    if (plainFirst >= 0) {
      if (first < 0 || plainFirst < first) first = plainFirst;
      if (plainLast > last) last = plainLast;
    }
    visibleLeft[y] = first;
    visibleRight[y] = last + 1;
    if (first >= 0) {
      if (first < left) left = first;
      if (last + 1 > right) right = last + 1;
      if (y < top) top = y;
      bottom = y + 1;
    }
  }
  const bounds = st.bounds;
  if (right <= left) {
    bounds.left = bounds.top = bounds.right = bounds.bottom = 0;
  } else {
    bounds.left = left;
    bounds.top = top;
    bounds.right = right;
    bounds.bottom = bottom;
  }
  return edges;
}
