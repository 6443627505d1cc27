/**
 * displacement: shifts pixels by a displacement map, as After Effects' Displacement Map does.
 *
 * Model: AE Displacement Map (max horizontal/vertical displacement, a map channel per axis, edge
 * behaviour) and FFmpeg's `vf_displace.c` (output(x, y) = input(x + dx, y + dy)). A map value of
 * 128 leaves the pixel in place, 0 samples `max` px to the left (or above), 255 samples
 * `max * 127/128` px to the right (or below). Units: pixels of the canvas.
 *
 * The map (a file, or fractal value noise by default) is static for the job, so `prepare` turns it
 * into per-pixel sample offsets once (Int16, 1/64 px fixed point); `apply` only samples. Sampling
 * is bilinear and premultiplied (each tap weighted by its alpha), so transparent screen pixels
 * never bleed their colour into the edge: no dark or green fringe. Output is straight alpha.
 *
 * The source is copied into a scratch canvas with a one-pixel transparent border (the
 * `transparent` edge mode samples it); only the alpha bounding box is copied, and it is zeroed
 * again after use so the scratch outside the current box is always transparent.
 */
import { computeAlphaBounds, defineEffect, type Bounds, type Frame, type FrameSize, type OptionsOf } from '@stickerkey/core';
import { loadTexture, type Texture } from './textures.js';

const CHANNELS = ['red', 'green', 'blue', 'alpha', 'luminance'] as const;

const options = [
  { name: 'horizontal', type: 'number', default: 6, min: 0, max: 500, unit: 'px', help: 'Maximum horizontal displacement (map 0: -max, 128: none, 255: +max)' },
  { name: 'vertical', type: 'number', default: 6, min: 0, max: 500, unit: 'px', help: 'Maximum vertical displacement (map 0: -max, 128: none, 255: +max)' },
  { name: 'horizontalChannel', type: 'enum', values: CHANNELS, default: 'red', help: 'Map channel that drives the horizontal displacement' },
  { name: 'verticalChannel', type: 'enum', values: CHANNELS, default: 'green', help: 'Map channel that drives the vertical displacement' },
  { name: 'edges', type: 'enum', values: ['clamp', 'wrap', 'transparent'], default: 'clamp', help: 'Samples outside the canvas: repeat the edge pixel, wrap around, or transparent' },
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
/** Summed alpha weight when every tap is opaque. */
const OPAQUE = ONE * ONE * 255;

interface State {
  width: number;
  height: number;
  identity: boolean;
  wrap: boolean;
  margin: number;
  /** Per canvas pixel: sample offset in 1/64 px. */
  offsetX: Int16Array;
  offsetY: Int16Array;
  /** Edge-handled scratch byte offset of canvas column/row (k - pad), for k in 0..len. */
  columns: Int32Array;
  rows: Int32Array;
  pad: number;
  /** (width + 2) x (height + 2) RGBA, transparent except while a frame is being processed. */
  scratch: Uint8Array;
  /** The same scratch as one 32-bit word per pixel, for copying. */
  scratch32: Uint32Array;
  /** 32-bit views of the frame buffers seen so far (a pipeline cycles through a fixed pool). */
  views: WeakMap<ArrayBufferLike, Uint32Array>;
  region: Bounds;
  /** Alpha box found by apply when the frame carries none. */
  found: Bounds;
}

/**
 * A 32-bit view of `data` (RGBA words), made once per underlying buffer and reused: the pipeline's
 * frames come from a fixed pool, so after the first few frames this never allocates. Null when the
 * bytes are not 4-aligned (then the caller copies bytes).
 */
function words(s: State, data: Uint8Array): Uint32Array | null {
  if ((data.byteOffset & 3) !== 0) return null;
  let view = s.views.get(data.buffer);
  if (!view || view.byteOffset !== data.byteOffset || view.length !== data.length >> 2) {
    view = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
    s.views.set(data.buffer, view);
  }
  return view;
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

/** Edge-handled lookup for coordinates -pad .. length + pad, as byte offsets (times `stride`) into the bordered scratch. */
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

export const displacement = defineEffect({
  name: 'displacement',
  description: "Shifts pixels by a displacement map (After Effects' Displacement Map), bilinear and premultiplied",
  options,
  margin: marginOf,

  async preload(o, ctx): Promise<Texture> {
    return loadTexture(
      { path: o.map, procedural: 'noise', seed: o.seed, scale: o.scale, octaves: o.octaves, option: 'displacement.map' },
      ctx.size,
      ctx.signal,
    );
  },

  prepare(o, size: FrameSize, map: Texture): State {
    const { width, height } = size;
    const n = width * height;
    const offsetX = new Int16Array(n);
    const offsetY = new Int16Array(n);
    const readX = channelReader(o.horizontalChannel);
    const readY = channelReader(o.verticalChannel);
    // (v - 128) / 128 * max, in 1/64 px: one multiply per pixel through a 256-entry table.
    const lutX = new Int16Array(256);
    const lutY = new Int16Array(256);
    for (let v = 0; v < 256; v++) {
      lutX[v] = Math.round(((v - 128) / 128) * o.horizontal * ONE);
      lutY[v] = Math.round(((v - 128) / 128) * o.vertical * ONE);
    }
    // The map is canvas-sized when it comes from loadTexture; if not, it is sampled nearest.
    const sameSize = map.width === width && map.height === height;
    for (let y = 0, i = 0; y < height; y++) {
      const my = sameSize ? y : Math.min(map.height - 1, Math.floor((y * map.height) / height));
      for (let x = 0; x < width; x++, i++) {
        const mx = sameSize ? x : Math.min(map.width - 1, Math.floor((x * map.width) / width));
        const p = (my * map.width + mx) * 4;
        offsetX[i] = lutX[readX(map.data, p)];
        offsetY[i] = lutY[readY(map.data, p)];
      }
    }
    const margin = marginOf(o);
    const pad = margin + 2;
    const stride = (width + 2) * 4;
    const scratch = new Uint8Array(stride * (height + 2));
    return {
      width,
      height,
      identity: o.horizontal === 0 && o.vertical === 0,
      wrap: o.edges === 'wrap',
      margin,
      offsetX,
      offsetY,
      columns: edgeTable(width, pad, 4, o.edges),
      rows: edgeTable(height, pad, stride, o.edges),
      pad,
      scratch,
      scratch32: new Uint32Array(scratch.buffer, 0, scratch.length >> 2),
      views: new WeakMap(),
      region: { left: 0, top: 0, right: 0, bottom: 0 },
      found: { left: 0, top: 0, right: 0, bottom: 0 },
    };
  },

  apply(s: State, frame: Frame): void {
    if (s.identity) return;
    const { width, height, scratch, offsetX, offsetY, columns, rows, pad } = s;
    if (frame.width !== width || frame.height !== height) {
      throw new Error(`displacement prepared for ${width}x${height} but received a ${frame.width}x${frame.height} frame`);
    }
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

    const stride = (width + 2) * 4;
    // Copy the source box into the bordered scratch, a 32-bit word per pixel (subarray() per row
    // would allocate a view per row; the word views are made once per pool buffer, see words()).
    const src32 = words(s, data);
    const dst32 = s.scratch32;
    if (src32) {
      const sw = width + 2;
      for (let y = st; y < sb; y++) {
        const end = y * width + sr;
        for (let i = y * width + sl, j = (y + 1) * sw + sl + 1; i < end; i++, j++) dst32[j] = src32[i];
      }
    } else {
      for (let y = st; y < sb; y++) {
        const end = (y * width + sr) * 4;
        for (let p = (y * width + sl) * 4, q = (y + 1) * stride + (sl + 1) * 4; p < end; p++, q++) scratch[q] = data[p];
      }
    }

    const left = r.left;
    const right = r.right;
    for (let y = r.top; y < r.bottom; y++) {
      const yFixed = y << FRAC;
      for (let x = left, i = y * width + left, p = i * 4; x < right; x++, i++, p += 4) {
        const fx = (x << FRAC) + offsetX[i];
        const fy = yFixed + offsetY[i];
        const kx = (fx >> FRAC) + pad; // arithmetic shift: floor, also for negative coordinates
        const ky = (fy >> FRAC) + pad;
        const wx = fx & MASK;
        const wy = fy & MASK;
        const c0 = columns[kx];
        const c1 = columns[kx + 1];
        const r0 = rows[ky];
        const r1 = rows[ky + 1];
        const q00 = r0 + c0;
        const q01 = r0 + c1;
        const q10 = r1 + c0;
        const q11 = r1 + c1;
        // Bilinear weights (sum 4096) times each tap's alpha: premultiplied sampling.
        const w00 = (ONE - wx) * (ONE - wy);
        const w01 = wx * (ONE - wy);
        const w10 = (ONE - wx) * wy;
        const w11 = wx * wy;
        const a00 = w00 * scratch[q00 + 3];
        const a01 = w01 * scratch[q01 + 3];
        const a10 = w10 * scratch[q10 + 3];
        const a11 = w11 * scratch[q11 + 3];
        const sa = a00 + a01 + a10 + a11;
        if (sa === OPAQUE) {
          // Every tap that counts is opaque (most of the character): plain bilinear, integers only.
          data[p] = (w00 * scratch[q00] + w01 * scratch[q01] + w10 * scratch[q10] + w11 * scratch[q11] + HALF_WEIGHT) >> (2 * FRAC);
          data[p + 1] = (w00 * scratch[q00 + 1] + w01 * scratch[q01 + 1] + w10 * scratch[q10 + 1] + w11 * scratch[q11 + 1] + HALF_WEIGHT) >> (2 * FRAC);
          data[p + 2] = (w00 * scratch[q00 + 2] + w01 * scratch[q01 + 2] + w10 * scratch[q10 + 2] + w11 * scratch[q11 + 2] + HALF_WEIGHT) >> (2 * FRAC);
          data[p + 3] = 255;
        } else if (sa === 0) {
          data[p] = data[p + 1] = data[p + 2] = data[p + 3] = 0;
        } else {
          // Back to straight colour: divide the alpha-weighted sum by the summed alpha weights.
          const inv = 1 / sa;
          data[p] = ((a00 * scratch[q00] + a01 * scratch[q01] + a10 * scratch[q10] + a11 * scratch[q11]) * inv + 0.5) | 0;
          data[p + 1] = ((a00 * scratch[q00 + 1] + a01 * scratch[q01 + 1] + a10 * scratch[q10 + 1] + a11 * scratch[q11 + 1]) * inv + 0.5) | 0;
          data[p + 2] = ((a00 * scratch[q00 + 2] + a01 * scratch[q01 + 2] + a10 * scratch[q10 + 2] + a11 * scratch[q11 + 2]) * inv + 0.5) | 0;
          data[p + 3] = (sa + HALF_WEIGHT) >> (2 * FRAC);
        }
      }
    }

    // Leave the scratch transparent for the next frame (fill() takes no allocation).
    for (let y = st; y < sb; y++) {
      const q = (y + 1) * stride + (sl + 1) * 4;
      scratch.fill(0, q, q + (sr - sl) * 4);
    }
    if (bounds) {
      bounds.left = r.left;
      bounds.top = r.top;
      bounds.right = r.right;
      bounds.bottom = r.bottom;
    }
  },
});
