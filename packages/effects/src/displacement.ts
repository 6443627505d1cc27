/**
 * displacement: shifts pixels by a displacement map, as After Effects' Displacement Map does.
 *
 * Model: AE Displacement Map (max horizontal/vertical displacement, a map channel per axis, edge
 * behaviour) and FFmpeg's `vf_displace.c` (output(x, y) = input(x + dx, y + dy)). A map value of
 * 128 leaves the pixel in place, 0 samples `max` px to the left (or above), 255 samples
 * `max * 127/128` px to the right (or below). Units: pixels of the canvas.
 *
 * The map (a file, or fractal value noise by default) is static for the job, so `preload` turns it
 * into per-pixel sample offsets once (16 bits each, 1/64 px fixed point), which the texture cache
 * keeps instead of the map; `apply` only samples. Sampling
 * is bilinear and premultiplied (each tap weighted by its alpha), so transparent screen pixels
 * never bleed their colour into the edge: no dark or green fringe. Output is straight alpha.
 *
 * The source is copied into a scratch canvas with a one-pixel transparent border (the
 * `transparent` edge mode samples it); only each row's visible span is copied, and what the
 * last frame copied outside this frame's spans is cleared first, so the scratch outside the
 * current spans is always transparent.
 */
import { computeAlphaBounds, defineEffect, type Bounds, type Frame, type FrameSize, type OptionsOf } from '@stickerkey/core/effect';
import { A_MASK, A_SHIFT, B_SHIFT, G_SHIFT, PixelWords, R_SHIFT } from './internal/pixel-words.js';
import { loadDerived, sharedBytes, textureRgba, type Texture } from './textures.js';

const CHANNELS = ['red', 'green', 'blue', 'alpha', 'luminance'] as const;

const options = [
  { name: 'horizontal', type: 'number', default: 6, min: 0, max: 500, unit: 'px', help: 'Maximum horizontal displacement (map 0: -max, 128: none, 255: +max)' },
  { name: 'vertical', type: 'number', default: 6, min: 0, max: 500, unit: 'px', help: 'Maximum vertical displacement (map 0: -max, 128: none, 255: +max)' },
  { name: 'horizontalChannel', type: 'enum', values: CHANNELS, default: 'red', help: 'Map channel that drives the horizontal displacement' },
  { name: 'verticalChannel', type: 'enum', values: CHANNELS, default: 'green', help: 'Map channel that drives the vertical displacement' },
  {
    name: 'edges',
    type: 'enum',
    values: ['clamp', 'wrap', 'transparent'],
    default: 'clamp',
    help: 'Samples outside the canvas: repeat the edge pixel, wrap around, or transparent',
  },
  { name: 'map', type: 'string', default: null, help: 'PNG/JPEG displacement map, resized to cover the canvas; unset: procedural noise' },
  { name: 'scale', type: 'number', default: 48, min: 2, max: 4096, unit: 'px', help: 'Procedural map: size of the noise features' },
  { name: 'octaves', type: 'integer', default: 2, min: 1, max: 8, help: 'Procedural map: 1 is smooth noise, more adds finer fractal detail' },
  { name: 'seed', type: 'integer', default: 1, min: 0, max: 2147483647, help: 'Procedural map: seed (same seed, same map)' },
] as const;

type Options = OptionsOf<typeof options>;

/** Fixed point of the offsets: 1/64 px, so ±500 px fits an Int16 (500 * 64 = 32000). */
const FRAC = 6;
const ONE = 1 << FRAC;
const MASK = ONE - 1;
const HALF_WEIGHT = 1 << (2 * FRAC - 1);

interface State {
  width: number;
  height: number;
  identity: boolean;
  wrap: boolean;
  margin: number;
  /**
   * Per canvas pixel: sample offset in 1/64 px, x in the low 16 bits and y in the high 16 (both
   * signed): one load per pixel instead of one from each of two Int16 arrays, 4% less at 1080p.
   */
  offsets: Int32Array;
  /** Edge-handled scratch word index of canvas column/row (k - pad), for k in 0..len. */
  columns: Int32Array;
  rows: Int32Array;
  pad: number;
  /**
   * (width + 2) x (height + 2) RGBA words, transparent but for the spans of the last frame (rows
   * `lastTop`..`lastBottom` of spanLeft/spanRight), which the next frame clears where its own
   * copy does not cover them: the spans barely move from frame to frame, so little is cleared.
   */
  scratch: Uint32Array;
  lastTop: number;
  lastBottom: number;
  /** The frame's pixels as 32-bit words: one load per tap, one store per pixel. */
  words: PixelWords;
  region: Bounds;
  /** Per canvas row, first and one-past-last column holding a visible pixel (set by the copy). */
  spanLeft: Int32Array;
  spanRight: Int32Array;
  /** Alpha box found by apply when the frame carries none. */
  found: Bounds;
  /** Word indices of one row's edge pixels, sampled after the row (see sampleRowInside). */
  edgePixels: Int32Array;
}

function marginOf(o: Options): number {
  return Math.ceil(Math.max(o.horizontal, o.vertical));
}

/** 0-255 value of `channel` at byte `p` of an RGBA map. Luminance: Rec. 709 weights in 8-bit fixed point. */
function channelReader(channel: (typeof CHANNELS)[number]): (map: Uint8Array, p: number) => number {
  switch (channel) {
    case 'red':
      return (m, p) => m[p];
    case 'green':
      return (m, p) => m[p + 1];
    case 'blue':
      return (m, p) => m[p + 2];
    case 'alpha':
      return (m, p) => m[p + 3];
    case 'luminance':
      return (m, p) => (54 * m[p] + 183 * m[p + 1] + 19 * m[p + 2] + 128) >> 8;
  }
}

/** Edge-handled lookup for coordinates -pad .. length + pad, as word offsets (times `stride`) into the bordered scratch. */
function edgeTable(length: number, pad: number, stride: number, edges: Options['edges']): Int32Array {
  const table = new Int32Array(length + 2 * pad + 2);
  for (let k = 0; k < table.length; k++) {
    const c = k - pad;
    let s: number;
    if (edges === 'clamp') s = c < 0 ? 0 : c >= length ? length - 1 : c;
    else if (edges === 'wrap') s = ((c % length) + length) % length;
    else s = c < 0 ? -1 : c >= length ? length : c; // the transparent border row/column
    table[k] = (s + 1) * stride;
  }
  return table;
}

/**
 * One output pixel from four opaque taps and bilinear fractions (1/64 px), as a word. Small enough
 * for V8 to inline into the row loops (not inlined, the call per pixel made the effect half as
 * slow again); the callers sort the taps into transparent, edge and opaque around it.
 */
function bilinearOpaque(v00: number, v01: number, v10: number, v11: number, wx: number, wy: number): number {
  // All four taps opaque (most of the character): plain bilinear, integers only, separable and two
  // bytes per multiply. Along x, each tap's bytes 0 and 2 (then 1 and 3) are weighted at once:
  // 255 * 64 fits the 16 bits between them. Along y, lane by lane (255 * 4096 would not). Exactly
  // the 2D weights (1 - wx)(1 - wy) ... summed, and endian-neutral: all four bytes are blended, and
  // the alpha byte, 255 in every tap, comes out 255.
  const ix = ONE - wx;
  const iy = ONE - wy;
  const pairs = 0xff00ff; // masks in locals: as literals they took 10 bytes of bytecode per use
  const low = 0xffff;
  const h0 = (v00 & pairs) * ix + (v01 & pairs) * wx;
  const h1 = (v10 & pairs) * ix + (v11 & pairs) * wx;
  const g0 = ((v00 >>> 8) & pairs) * ix + ((v01 >>> 8) & pairs) * wx;
  const g1 = ((v10 >>> 8) & pairs) * ix + ((v11 >>> 8) & pairs) * wx;
  const b0 = ((h0 & low) * iy + (h1 & low) * wy + 2048) >> 12;
  const b2 = ((h0 >>> 16) * iy + (h1 >>> 16) * wy + 2048) >> 12;
  const b1 = ((g0 & low) * iy + (g1 & low) * wy + 2048) >> 12;
  const b3 = ((g0 >>> 16) * iy + (g1 >>> 16) * wy + 2048) >> 12;
  return b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
}

/**
 * The edge of the character: each tap weighted by its alpha (premultiplied sampling), so the
 * colour a keyer left in transparent pixels has no weight; then back to straight colour by
 * dividing by the summed alpha weight. Writes pixels[i] from the taps at scratch words t00..t11.
 * Not inlined (the row loops would outgrow V8's budget), so it takes indices and writes the word
 * itself: a word with alpha >= 64 is no small integer, and passing four as arguments and returning
 * one boxed them, five heap numbers per edge pixel (290 KB of garbage a 720p frame).
 */
function premultipliedTaps(
  pixels: Uint32Array,
  i: number,
  scratch: Uint32Array,
  t00: number,
  t01: number,
  t10: number,
  t11: number,
  wx: number,
  wy: number,
): void {
  const v00 = scratch[t00];
  const v01 = scratch[t01];
  const v10 = scratch[t10];
  const v11 = scratch[t11];
  const w00 = (ONE - wx) * (ONE - wy);
  const w01 = wx * (ONE - wy);
  const w10 = (ONE - wx) * wy;
  const w11 = wx * wy;
  const a00 = w00 * ((v00 >>> A_SHIFT) & 255);
  const a01 = w01 * ((v01 >>> A_SHIFT) & 255);
  const a10 = w10 * ((v10 >>> A_SHIFT) & 255);
  const a11 = w11 * ((v11 >>> A_SHIFT) & 255);
  const sa = a00 + a01 + a10 + a11;
  if (sa === 0) {
    pixels[i] = 0; // the only visible taps have zero weight
    return;
  }
  const inv = 1 / sa;
  const red =
    ((a00 * ((v00 >>> R_SHIFT) & 255) + a01 * ((v01 >>> R_SHIFT) & 255) + a10 * ((v10 >>> R_SHIFT) & 255) + a11 * ((v11 >>> R_SHIFT) & 255)) * inv + 0.5) | 0;
  const green =
    ((a00 * ((v00 >>> G_SHIFT) & 255) + a01 * ((v01 >>> G_SHIFT) & 255) + a10 * ((v10 >>> G_SHIFT) & 255) + a11 * ((v11 >>> G_SHIFT) & 255)) * inv + 0.5) | 0;
  const blue =
    ((a00 * ((v00 >>> B_SHIFT) & 255) + a01 * ((v01 >>> B_SHIFT) & 255) + a10 * ((v10 >>> B_SHIFT) & 255) + a11 * ((v11 >>> B_SHIFT) & 255)) * inv + 0.5) | 0;
  const alpha = (sa + HALF_WEIGHT) >> (2 * FRAC);
  pixels[i] = (red << R_SHIFT) | (green << G_SHIFT) | (blue << B_SHIFT) | (alpha << A_SHIFT);
}

/**
 * Samples output pixels `from`..`to` of row `y` (word index `start` for `from`), with the edge
 * behaviour's lookup tables: for rows and columns whose taps may fall off the canvas.
 */
function sampleRowAtEdge(
  pixels: Uint32Array,
  scratch: Uint32Array,
  offsets: Int32Array,
  columns: Int32Array,
  rows: Int32Array,
  pad: number,
  y: number,
  start: number,
  from: number,
  to: number,
): void {
  const aMask = A_MASK;
  const yFixed = y << FRAC;
  for (let x = from, i = start; x < to; x++, i++) {
    const o = offsets[i];
    const fx = (x << FRAC) + ((o << 16) >> 16);
    const fy = yFixed + (o >> 16);
    const kx = (fx >> FRAC) + pad; // arithmetic shift: floor, also for negative coordinates
    const ky = (fy >> FRAC) + pad;
    const c0 = columns[kx];
    const c1 = columns[kx + 1];
    const r0 = rows[ky];
    const r1 = rows[ky + 1];
    const v00 = scratch[r0 + c0];
    const v01 = scratch[r0 + c1];
    const v10 = scratch[r1 + c0];
    const v11 = scratch[r1 + c1];
    if (((v00 | v01 | v10 | v11) & aMask) === 0) pixels[i] = 0;
    else if ((v00 & v01 & v10 & v11 & aMask) !== aMask) premultipliedTaps(pixels, i, scratch, r0 + c0, r0 + c1, r1 + c0, r1 + c1, fx & MASK, fy & MASK);
    else pixels[i] = bilinearOpaque(v00, v01, v10, v11, fx & MASK, fy & MASK);
  }
}

/**
 * The same for pixels whose taps all lie on the canvas (all but a band `margin + 2` px wide along
 * its border, which the canvas padding keeps away from the character): the first tap is the
 * pixel's own scratch position plus its whole-pixel offsets, the others are the next column and
 * row, so no table is read (four loads fewer per pixel: 11.5 -> 9.8 ms at 1080p, a fifth covered).
 * The edge pixels (a twentieth of them) are only listed in `edgePixels` and sampled in a second
 * loop: with no call in it, the main loop is compiled without re-checking its arrays and
 * re-loading their bounds after each call (a fifth fewer instructions per pixel at 1080p).
 * The order does not matter: every pixel is sampled from the scratch, never from `pixels`.
 */
function sampleRowInside(
  pixels: Uint32Array,
  scratch: Uint32Array,
  offsets: Int32Array,
  stride: number,
  y: number,
  start: number,
  from: number,
  to: number,
  edgePixels: Int32Array,
): void {
  const aMask = A_MASK;
  // Scratch word of canvas pixel (x, y) is (y + 1) * stride + x + 1 (its one-pixel border).
  const rowBase = (y + 1) * stride + 1;
  let edges = 0;
  for (let x = from, i = start; x < to; x++, i++) {
    const o = offsets[i];
    const ox = (o << 16) >> 16;
    const oy = o >> 16;
    const t = rowBase + x + (oy >> FRAC) * stride + (ox >> FRAC);
    const v00 = scratch[t];
    const v01 = scratch[t + 1];
    const v10 = scratch[t + stride];
    const v11 = scratch[t + stride + 1];
    // All four transparent (most of the box around a character), some (the edge), or none.
    if (((v00 | v01 | v10 | v11) & aMask) === 0) pixels[i] = 0;
    else if ((v00 & v01 & v10 & v11 & aMask) !== aMask) edgePixels[edges++] = i;
    // Four equal opaque taps (the outline's flat band, about an eighth of the sampled pixels
    // behind the sticker preset's outline): any weights give the tap back exactly.
    else if (v00 === v01 && v00 === v10 && v00 === v11) pixels[i] = v00;
    else pixels[i] = bilinearOpaque(v00, v01, v10, v11, ox & MASK, oy & MASK);
  }
  // Pixel i is column from + (i - start): its first tap as above.
  const base = rowBase + from - start;
  for (let k = 0; k < edges; k++) {
    const i = edgePixels[k];
    const o = offsets[i];
    const ox = (o << 16) >> 16;
    const oy = o >> 16;
    const t = base + i + (oy >> FRAC) * stride + (ox >> FRAC);
    premultipliedTaps(pixels, i, scratch, t, t + 1, t + stride, t + stride + 1, ox & MASK, oy & MASK);
  }
}

/**
 * The map as per-canvas-pixel sample offsets (`State.offsets`), in shared memory so that the stage
 * thread reads the very bytes the cache keeps. (v - 128) / 128 * max, in 1/64 px: one multiply per
 * pixel through a 256-entry table. A map of another size than the canvas is sampled nearest.
 */
function sampleOffsets(o: Options, size: FrameSize, map: Texture): Uint8Array {
  const { width, height } = size;
  const bytes = sharedBytes(width * height * 4);
  const offsets = new Int32Array(bytes.buffer, bytes.byteOffset, width * height);
  const readX = channelReader(o.horizontalChannel);
  const readY = channelReader(o.verticalChannel);
  const lutX = new Int16Array(256);
  const lutY = new Int16Array(256);
  for (let v = 0; v < 256; v++) {
    lutX[v] = Math.round(((v - 128) / 128) * o.horizontal * ONE);
    lutY[v] = Math.round(((v - 128) / 128) * o.vertical * ONE);
  }
  // Its channels are read as RGBA (the procedural noise and files are; a grey map is spread).
  const mapData = map.channels === 4 ? map.data : textureRgba(map, map);
  const sameSize = map.width === width && map.height === height;
  for (let y = 0, i = 0; y < height; y++) {
    const my = sameSize ? y : Math.min(map.height - 1, Math.floor((y * map.height) / height));
    for (let x = 0; x < width; x++, i++) {
      const mx = sameSize ? x : Math.min(map.width - 1, Math.floor((x * map.width) / width));
      const p = (my * map.width + mx) * 4;
      offsets[i] = (lutX[readX(mapData, p)] & 0xffff) | (lutY[readY(mapData, p)] << 16);
    }
  }
  return bytes;
}

export const displacement = defineEffect({
  name: 'displacement',
  description: "Shifts pixels by a displacement map (After Effects' Displacement Map), bilinear and premultiplied",
  options,
  margin: marginOf,

  async preload(o, ctx): Promise<Int32Array> {
    if (o.horizontal === 0 && o.vertical === 0) return new Int32Array(0);
    // The map only ever becomes these offsets: they are what the cache keeps, not the 9 MB map,
    // and they are worked out here, while the keyer waits for its first frame, not in prepare,
    // which runs after the keyer's set-up on the stage thread that the first frame waits for.
    const recipe = `offsets:${o.horizontal}:${o.vertical}:${o.horizontalChannel}:${o.verticalChannel}`;
    const spec = { path: o.map, procedural: 'noise', seed: o.seed, scale: o.scale, octaves: o.octaves, option: 'displacement.map' } as const;
    const derived = await loadDerived(spec, ctx.size, recipe, 4, (map) => sampleOffsets(o, ctx.size, map), ctx.signal);
    return new Int32Array(derived.data.buffer, derived.data.byteOffset, derived.data.byteLength >> 2);
  },

  prepare(o, size: FrameSize, offsets: Int32Array): State {
    const { width, height } = size;
    const identity = o.horizontal === 0 && o.vertical === 0;
    if (!identity && offsets.length !== width * height) {
      throw new Error(`Expected ${width * height} displacement offsets for ${width}x${height} but received ${offsets.length}`);
    }
    const margin = marginOf(o);
    const pad = margin + 2;
    const stride = width + 2;
    return {
      width,
      height,
      identity,
      wrap: o.edges === 'wrap',
      margin,
      offsets,
      columns: edgeTable(width, pad, 1, o.edges),
      rows: edgeTable(height, pad, stride, o.edges),
      pad,
      scratch: new Uint32Array(stride * (height + 2)),
      lastTop: 0,
      lastBottom: 0,
      words: new PixelWords(),
      region: { left: 0, top: 0, right: 0, bottom: 0 },
      spanLeft: new Int32Array(height),
      spanRight: new Int32Array(height),
      found: { left: 0, top: 0, right: 0, bottom: 0 },
      edgePixels: new Int32Array(width),
    };
  },

  apply(s: State, frame: Frame): void {
    if (s.identity) return;
    const { width, height, scratch, offsets, columns, rows, pad } = s;
    const data = frame.data;
    const bounds = frame.alphaBounds;
    // Source rectangle: the alpha box (everything outside it is transparent). Without one, find it:
    // a scan of the alpha bytes costs far less than resampling the empty screen around a character.
    const box = bounds ?? computeAlphaBounds(frame, s.found);
    if (box.right <= box.left || box.bottom <= box.top) return; // nothing visible to move
    const sl = box.left;
    const st = box.top;
    const sr = box.right;
    const sb = box.bottom;
    // Output rectangle: the source grown by the reach of the map, except with wrap, where a pixel
    // on one side may sample the other.
    const r = s.region;
    if (!s.wrap) {
      const m = s.margin + 1;
      r.left = sl - m < 0 ? 0 : sl - m;
      r.top = st - m < 0 ? 0 : st - m;
      r.right = sr + m > width ? width : sr + m;
      r.bottom = sb + m > height ? height : sb + m;
    } else {
      r.left = 0;
      r.top = 0;
      r.right = width;
      r.bottom = height;
    }

    const pixels = s.words.acquire(data);

    // Note on each row of the source box where its visible pixels start and end, and copy that
    // span into the bordered scratch (a word loop: subarray() per row would allocate). Outside
    // the spans the scratch stays transparent, which samples exactly like the transparent pixels
    // there: a transparent tap has no weight whatever its colour.
    const stride = width + 2;
    const { spanLeft, spanRight } = s;
    const aMask = A_MASK; // a local: each read of an imported binding is a checked load
    // The last frame's spans on rows outside this frame's box: cleared whole.
    const lastTop = s.lastTop;
    const lastBottom = s.lastBottom;
    for (let y = lastTop; y < lastBottom; y++) {
      if (y >= st && y < sb) continue;
      const j = (y + 1) * stride + 1;
      if (spanRight[y] > spanLeft[y]) scratch.fill(0, j + spanLeft[y], j + spanRight[y]);
    }
    for (let y = st; y < sb; y++) {
      const row = y * width;
      const oldLeft = y >= lastTop && y < lastBottom ? spanLeft[y] : 0;
      const oldRight = y >= lastTop && y < lastBottom ? spanRight[y] : 0;
      // From each end, eight pixels per test while their alpha is all 0 (no alpha exceeds the OR of
      // them): most of the box around a character is screen.
      let first = sl;
      for (
        let p = row + first;
        first + 8 <= sr &&
        ((pixels[p] | pixels[p + 1] | pixels[p + 2] | pixels[p + 3] | pixels[p + 4] | pixels[p + 5] | pixels[p + 6] | pixels[p + 7]) & aMask) === 0;
        p += 8
      )
        first += 8;
      while (first < sr && (pixels[row + first] & aMask) === 0) first++;
      let last = sr - 1;
      for (
        let p = row + last;
        last - 8 >= first &&
        ((pixels[p] | pixels[p - 1] | pixels[p - 2] | pixels[p - 3] | pixels[p - 4] | pixels[p - 5] | pixels[p - 6] | pixels[p - 7]) & aMask) === 0;
        p -= 8
      )
        last -= 8;
      while (last > first && (pixels[row + last] & aMask) === 0) last--;
      // An empty row spans nothing: left past right, so it widens no window below.
      const newLeft = first < sr ? first : sr;
      const newRight = first < sr ? last + 1 : sl;
      spanLeft[y] = newLeft;
      spanRight[y] = newRight;
      // The last frame's span less this one's (which the copy overwrites). With this row empty
      // (newLeft = sr > newRight = sl), the two parts still cover the whole old span.
      if (oldRight > oldLeft) {
        const rowStart = (y + 1) * stride + 1;
        scratch.fill(0, rowStart + oldLeft, rowStart + (oldRight < newLeft ? oldRight : newLeft));
        scratch.fill(0, rowStart + (oldLeft > newRight ? oldLeft : newRight), rowStart + oldRight);
      }
      // Four words per iteration, so the loop compare and increments are paid once per four words.
      let j = (y + 1) * stride + 1 + first;
      let k = row + first;
      const end = row + last + 1;
      for (; k + 4 <= end; k += 4, j += 4) {
        scratch[j] = pixels[k]!;
        scratch[j + 1] = pixels[k + 1]!;
        scratch[j + 2] = pixels[k + 2]!;
        scratch[j + 3] = pixels[k + 3]!;
      }
      for (; k < end; k++, j++) scratch[j] = pixels[k]!;
    }

    const left = r.left;
    const right = r.right;
    // A pixel's four taps lie within `reach` px of it on both axes (the offsets are at most the
    // margin, plus one for the floor and one for the second tap; edge clamping only pulls taps
    // towards the frame's edge). So on each output row only the columns within reach of a visible
    // pixel of the rows within reach can receive anything: the rest of the row (the screen around
    // the character, often half the region) is written transparent without sampling. With wrap,
    // taps may come from the far side: every column is sampled.
    const reach = s.margin + 1;
    const wrap = s.wrap;
    // Pixels whose taps cannot leave the canvas: offsets floor to at most margin + 1 px either
    // way, and the second tap is one further.
    const inside = s.margin + 2;
    const insideLeft = inside;
    const insideRight = width - inside;
    const insideTop = inside;
    const insideBottom = height - inside;
    for (let y = r.top; y < r.bottom; y++) {
      const row = y * width;
      let from = left;
      let to = right;
      if (!wrap) {
        let lo = width;
        let hi = 0;
        const y0 = y - reach < st ? st : y - reach;
        const y1 = y + reach + 1 > sb ? sb : y + reach + 1;
        for (let yy = y0; yy < y1; yy++) {
          if (spanLeft[yy] < lo) lo = spanLeft[yy]!;
          if (spanRight[yy] > hi) hi = spanRight[yy]!;
        }
        if (hi <= lo) {
          from = left; // nothing visible within reach: the whole row is transparent
          to = left;
        } else {
          from = lo - reach > left ? lo - reach : left;
          to = hi + reach < right ? hi + reach : right;
          if (to < from) to = from;
        }
        pixels.fill(0, row + left, row + from);
        pixels.fill(0, row + to, row + right);
      }
      if (y < insideTop || y >= insideBottom || to <= insideLeft || from >= insideRight) {
        sampleRowAtEdge(pixels, scratch, offsets, columns, rows, pad, y, row + from, from, to);
        continue;
      }
      const midFrom = from > insideLeft ? from : insideLeft;
      const midTo = to < insideRight ? to : insideRight;
      if (from < midFrom) sampleRowAtEdge(pixels, scratch, offsets, columns, rows, pad, y, row + from, from, midFrom);
      sampleRowInside(pixels, scratch, offsets, stride, y, row + midFrom, midFrom, midTo, s.edgePixels);
      if (midTo < to) sampleRowAtEdge(pixels, scratch, offsets, columns, rows, pad, y, row + midTo, midTo, to);
    }

    s.lastTop = st;
    s.lastBottom = sb;
    s.words.release(data, pixels);
    if (bounds) {
      bounds.left = r.left;
      bounds.top = r.top;
      bounds.right = r.right;
      bounds.bottom = r.bottom;
    }
  },
});
