/**
 * surface-bevel: Photoshop's Bevel & Emboss (inner bevel, smooth technique) on the character.
 *
 * Model: the surface is a height field, the character's alpha blurred over `size` px (gaussian
 * sigma = size / 2, plus `soften`) and scaled by `depth`, so it rises over about `size` px inside
 * the edge; optionally a texture adds a bump pattern (Photoshop's Texture sub-option). Normals come
 * from a Sobel gradient; each pixel is lit Lambert-style by a distant light at `angle` (deg,
 * 0 = from the right, 90 = from above, counter-clockwise as in Photoshop: 120 = upper left) and
 * `altitude` (deg above the surface). Compared with a flat surface, what faces the light more is
 * screened with the highlight colour, what faces it less is multiplied by the shadow colour, so
 * flat areas stay untouched. Units: px, deg, % (opacities, depth, texture depth).
 *
 * A wide bevel (blur sigma >= 3 px) builds its height field and gradient at half resolution and
 * reads the gradient back bilinearly: the field is smooth, so nothing is lost, and the blur costs
 * a quarter. It is computed only on each row's visible span and what the blur spreads from it
 * (the screen around the character is flat at 0), and not over the opaque inside, flat at full
 * height: the cost follows the bevel band. The texture's own gradient is computed once per job
 * (prepare), at full resolution.
 *
 * Only colour changes, alpha stays: no colour is filtered (the height field comes from alpha), so
 * transparent pixels are skipped and there is nothing to premultiply. margin = 0.
 */
import { defineEffect, parseColor, type Bounds, type Frame, type FrameSize } from '@stickerkey/core/effect';
import {
  blurChannelF32,
  blurChannelF32Spans,
  blurReach,
  boxRadiiForSigma,
  createBlurScratchF32,
  createSpanBlurScratchF32,
  type BlurScratchF32,
  type SpanBlurScratchF32,
} from './internal/blur.js';
import { bilinearTable, firstColumns } from './internal/grid-readback.js';
import { createRowSpans, fullFrame, visibleSpans, type RowSpans } from './internal/row-spans.js';
import { loadTexture, textureAtSize, type Texture } from './textures.js';

const options = [
  { name: 'depth', type: 'number', default: 100, min: 1, max: 1000, unit: '%', help: 'Height of the bevel relative to its size (steeper = stronger shading)' },
  { name: 'direction', type: 'enum', values: ['up', 'down'], default: 'up', help: 'up: the character is raised; down: it is pressed in' },
  { name: 'size', type: 'number', default: 10, min: 0, max: 250, unit: 'px', help: 'Width of the bevel inside the edge' },
  { name: 'soften', type: 'number', default: 0, min: 0, max: 16, unit: 'px', help: 'Extra smoothing of the bevel' },
  { name: 'angle', type: 'number', default: 120, min: -360, max: 360, unit: 'deg', help: 'Light direction: 0 from the right, 90 from above, 120 upper left' },
  { name: 'altitude', type: 'number', default: 30, min: 0, max: 90, unit: 'deg', help: 'Light height above the surface: 90 straight down' },
  { name: 'highlightColor', type: 'color', default: '#ffffff', help: 'Colour screened on faces turned to the light' },
  { name: 'highlightOpacity', type: 'number', default: 75, min: 0, max: 100, unit: '%', help: 'Opacity of the highlight' },
  { name: 'shadowColor', type: 'color', default: '#000000', help: 'Colour multiplied on faces turned away from the light' },
  { name: 'shadowOpacity', type: 'number', default: 75, min: 0, max: 100, unit: '%', help: 'Opacity of the shadow' },
  {
    name: 'texture',
    type: 'string',
    default: null,
    help: 'PNG/JPEG bump texture (luminance = height); unset: procedural paper grain when textureDepth is not 0',
  },
  {
    name: 'textureDepth',
    type: 'number',
    default: 0,
    min: -1000,
    max: 1000,
    unit: '%',
    help: 'Strength of the texture bumps (0: no texture; 100: full texture range is 3 px high)',
  },
  { name: 'textureScale', type: 'number', default: 1, min: 0.25, max: 16, help: 'Procedural texture: grain size multiplier' },
  { name: 'seed', type: 'integer', default: 1, min: 0, max: 2147483647, help: 'Procedural texture: seed' },
] as const;

/** Height (px) of the full 0..255 texture range at textureDepth 100%. */
const TEXTURE_HEIGHT = 3;

interface Light {
  lx: number;
  ly: number;
  lz: number;
  /** 1 / the shade range above and below flat, so both ends reach full strength. */
  hiGain: number;
  loGain: number;
  /** Per channel: highlight colour x opacity / 255 (screen); opacity x (1 - shadow colour) (multiply). */
  hr: number;
  hg: number;
  hb: number;
  sr: number;
  sg: number;
  sb: number;
}

interface State extends Light {
  width: number;
  height: number;
  identity: boolean;
  /** 1: height field at full resolution; 2: at half resolution. */
  scale: number;
  gw: number;
  gh: number;
  radii: number[];
  reach: number;
  /** Height (px) of an opaque pixel (alpha 255), signed by direction; 0 when size is 0. */
  heightScale: number;
  /** Texture slope (px of height per px) at full alpha, per pixel, or null without texture. */
  textureGx: Float32Array | null;
  textureGy: Float32Array | null;
  /** Height field on the grid, then (scale 2) its gradient on the grid. */
  heights: Float32Array;
  gradX: Float32Array;
  gradY: Float32Array;
  /** Per grid cell (scale 2): 1 when the gradient is 0 on it and its right/lower neighbours. */
  quiet: Uint8Array;
  /** Per cell of one grid row (scale 2): the next cell at or after it that is not quiet. */
  loud: Int32Array;
  /** Per grid column c (0..gw): the first frame column whose read-back starts at cell c or later. */
  firstX: Int32Array;
  /** Bilinear read-back from the grid (scale 2): cells and weight of the second cell. */
  col0: Int32Array;
  col1: Int32Array;
  colW: Float32Array;
  row0: Int32Array;
  row1: Int32Array;
  rowW: Float32Array;
  /** Scale 1: the full blur's scratch. */
  blur: BlurScratchF32;
  /** Scale 2: the span blur's scratch. */
  spanBlur: SpanBlurScratchF32;
  /** Per frame row: first and last visible pixel. */
  visible: RowSpans;
  /** Per grid row (scale 2): where the heights may be non-zero (the rest of `heights` is 0). */
  heightSpans: RowSpans;
  /** Per grid row (scale 2): a run of cells at full height (opaque inside), before and after the blur. */
  fullRuns: RowSpans;
  /** Per grid row (scale 2): a run of cells whose gradient is 0, then one whose 2x2 flag is quiet. */
  flatRuns: RowSpans;
  quietRuns: RowSpans;
  /** The whole frame, for a frame without alphaBounds. */
  box: Bounds;
  rect: Bounds;
}

/** Sobel / 8 of the texture's luminance: its slope in levels per px, once per job. */
function textureSlopes(texture: Uint8Array, channels: 1 | 4, width: number, height: number, k: number): { gx: Float32Array; gy: Float32Array } {
  const lum = new Float32Array(width * height);
  // A grey texture's luminance is its level: (v * 77 + v * 150 + v * 29) / 256 is v exactly.
  if (channels === 1) lum.set(texture);
  else for (let i = 0, p = 0; i < lum.length; i++, p += 4) lum[i] = (texture[p] * 77 + texture[p + 1] * 150 + texture[p + 2] * 29) / 256;
  const gx = new Float32Array(width * height);
  const gy = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const up = (y > 0 ? y - 1 : 0) * width;
    const mid = y * width;
    const down = (y < height - 1 ? y + 1 : y) * width;
    for (let x = 0; x < width; x++) {
      const xl = x > 0 ? x - 1 : 0;
      const xr = x < width - 1 ? x + 1 : x;
      const a = lum[up + xl],
        b = lum[up + x],
        c = lum[up + xr];
      const d = lum[mid + xl],
        f = lum[mid + xr];
      const g = lum[down + xl],
        h = lum[down + x],
        i = lum[down + xr];
      gx[mid + x] = (c + 2 * f + i - a - 2 * d - g) * 0.125 * k;
      gy[mid + x] = (g + 2 * h + i - a - 2 * b - c) * 0.125 * k;
    }
  }
  return { gx, gy };
}

/**
 * Light one pixel whose surface slope is (gx, gy) px of height per px: screen the highlight on
 * what faces the light more than a flat surface does, multiply the shadow on what faces it less.
 */
function shade(data: Uint8Array, p: number, gx: number, gy: number, l: Light): void {
  // Normal (-gx, -gy, 1) / |.|, dotted with the light, minus the flat surface's light.
  const delta = (l.lz - gx * l.lx - gy * l.ly) / Math.sqrt(gx * gx + gy * gy + 1) - l.lz;
  if (delta > 0) {
    const t = delta * l.hiGain;
    const k = t < 1 ? t : 1;
    const r0 = data[p];
    const g0 = data[p + 1];
    const b0 = data[p + 2];
    data[p] = (r0 + (255 - r0) * l.hr * k + 0.5) | 0;
    data[p + 1] = (g0 + (255 - g0) * l.hg * k + 0.5) | 0;
    data[p + 2] = (b0 + (255 - b0) * l.hb * k + 0.5) | 0;
  } else if (delta < 0) {
    const t = -delta * l.loGain;
    const k = t < 1 ? t : 1;
    data[p] = (data[p] * (1 - l.sr * k) + 0.5) | 0;
    data[p + 1] = (data[p + 1] * (1 - l.sg * k) + 0.5) | 0;
    data[p + 2] = (data[p + 2] * (1 - l.sb * k) + 0.5) | 0;
  }
}

export const surfaceBevel = defineEffect({
  name: 'surface-bevel',
  description: "Photoshop's Bevel & Emboss (inner bevel) on the character, from its alpha and optionally a texture",
  options,

  margin() {
    return 0;
  },

  async preload(o, ctx): Promise<Texture | null> {
    if (o.textureDepth === 0) return null;
    return loadTexture({ path: o.texture, procedural: 'paper', seed: o.seed, scale: o.textureScale, option: 'surface-bevel.texture' }, ctx.size, ctx.signal);
  },

  prepare(o, size: FrameSize, texture: Texture | null | undefined): State {
    const { width, height } = size;
    const sign = o.direction === 'up' ? 1 : -1;
    const sigma = Math.sqrt((o.size / 2) ** 2 + o.soften ** 2);
    const scale = o.size > 0 && sigma >= 3 ? 2 : 1;
    const gw = Math.ceil(width / scale);
    const gh = Math.ceil(height / scale);
    const radii = o.size > 0 ? boxRadiiForSigma(sigma / scale) : [];
    const angle = (o.angle * Math.PI) / 180;
    const altitude = (o.altitude * Math.PI) / 180;
    const flat = Math.sin(altitude);
    const hi = parseColor(o.highlightColor);
    const sh = parseColor(o.shadowColor);
    const hk = o.highlightOpacity / 100 / 255;
    const sk = o.shadowOpacity / 100;
    const useTexture = o.textureDepth !== 0 && texture != null;
    // Texture height in px per luminance level, per unit of alpha (0..255).
    const slopes = useTexture
      ? textureSlopes(textureAtSize(texture, size), texture.channels, width, height, (sign * TEXTURE_HEIGHT * o.textureDepth) / 100 / 255 / 255)
      : null;
    const cols = bilinearTable(width, scale, gw);
    const rows = bilinearTable(height, scale, gh);
    return {
      width,
      height,
      identity: (o.size === 0 && !useTexture) || (o.highlightOpacity === 0 && o.shadowOpacity === 0),
      scale,
      gw,
      gh,
      radii,
      reach: blurReach(radii),
      // Height grows with size so that the slope, hence the shading, does not fade on big bevels.
      heightScale: o.size > 0 ? (sign * o.size * o.depth) / 100 / 255 : 0,
      textureGx: slopes ? slopes.gx : null,
      textureGy: slopes ? slopes.gy : null,
      // Towards the light, in image axes (rows grow downwards, so "above" is -y).
      lx: Math.cos(altitude) * Math.cos(angle),
      ly: -Math.cos(altitude) * Math.sin(angle),
      lz: flat,
      hiGain: 1 / Math.max(1e-3, 1 - flat),
      loGain: 1 / Math.max(1e-3, flat),
      hr: hi.r * hk,
      hg: hi.g * hk,
      hb: hi.b * hk,
      sr: sk * (1 - sh.r / 255),
      sg: sk * (1 - sh.g / 255),
      sb: sk * (1 - sh.b / 255),
      heights: new Float32Array(gw * gh),
      gradX: new Float32Array(scale === 1 ? 0 : gw * gh),
      gradY: new Float32Array(scale === 1 ? 0 : gw * gh),
      quiet: new Uint8Array(scale === 1 ? 0 : gw * gh),
      loud: new Int32Array(scale === 1 ? 0 : gw + 1),
      firstX: firstColumns(cols.i0, gw, width),
      col0: cols.i0,
      col1: cols.i1,
      colW: Float32Array.from(cols.w),
      row0: rows.i0,
      row1: rows.i1,
      rowW: Float32Array.from(rows.w),
      blur: createBlurScratchF32(scale === 1 ? { width: gw, height: gh } : { width: 0, height: 0 }),
      spanBlur: createSpanBlurScratchF32(scale === 1 ? { width: 0, height: 0 } : { width: gw, height: gh }),
      visible: createRowSpans(scale === 1 ? 0 : height),
      heightSpans: createRowSpans(scale === 1 ? 0 : gh),
      fullRuns: createRowSpans(scale === 1 ? 0 : gh),
      flatRuns: createRowSpans(scale === 1 ? 0 : gh),
      quietRuns: createRowSpans(scale === 1 ? 0 : gh),
      box: { left: 0, top: 0, right: 0, bottom: 0 },
      rect: { left: 0, top: 0, right: 0, bottom: 0 },
    };
  },

  apply(s: State, frame: Frame): void {
    const { width, height, heights, scale, gw, gh } = s;
    if (s.identity) return;
    const data = frame.data;
    const box = frame.alphaBounds ?? fullFrame(s.box, width, height);
    const { left: bl, top: bt, right: br, bottom: bb } = box;
    if (br <= bl || bb <= bt) return;
    // Heights are needed one cell around the character (gradient, bilinear read-back) and as far
    // as the blur reaches (so the rectangle's clamped edge is transparent, like the world outside).
    const grow = s.reach + 2;
    const rect = s.rect;
    const left = (rect.left = Math.max(0, Math.floor(bl / scale) - grow));
    const top = (rect.top = Math.max(0, Math.floor(bt / scale) - grow));
    const right = (rect.right = Math.min(gw, Math.ceil(br / scale) + grow));
    const bottom = (rect.bottom = Math.min(gh, Math.ceil(bb / scale) + grow));
    const hs = s.heightScale;
    const tgx = s.textureGx;
    const tgy = s.textureGy;

    // 1. Height field on the grid: alpha (2x2-averaged at half resolution), blurred, in px.
    if (scale === 1) {
      for (let y = top; y < bottom; y++) {
        for (let x = left, q = y * width + left, p = (q << 2) + 3; x < right; x++, q++, p += 4) heights[q] = data[p] * hs;
      }
      blurChannelF32(heights, gw, gh, rect, s.radii, s.blur);
      // 2a. Full resolution: Sobel straight from the heights, light each visible pixel.
      const xMax = width - 1;
      const yMax = height - 1;
      for (let y = bt; y < bb; y++) {
        const up = (y > 0 ? y - 1 : 0) * width;
        const mid = y * width;
        const down = (y < yMax ? y + 1 : yMax) * width;
        for (let x = bl, p = (mid + bl) << 2; x < br; x++, p += 4) {
          const alpha = data[p + 3];
          if (alpha === 0) continue;
          const xl = x > 0 ? x - 1 : 0;
          const xr = x < xMax ? x + 1 : xMax;
          const a = heights[up + xl],
            b = heights[up + x],
            c = heights[up + xr];
          const d = heights[mid + xl],
            f = heights[mid + xr];
          const g = heights[down + xl],
            h = heights[down + x],
            i = heights[down + xr];
          // Sobel, divided by 8: height change per pixel.
          let gx = (c + 2 * f + i - a - 2 * d - g) * 0.125;
          let gy = (g + 2 * h + i - a - 2 * b - c) * 0.125;
          if (tgx !== null) {
            gx += tgx[mid + x] * alpha;
            gy += tgy![mid + x] * alpha;
          }
          if (gx === 0 && gy === 0) continue;
          shade(data, p, gx, gy, s);
        }
      }
      return;
    }

    // Half resolution. Per row, only the columns around the visible pixels hold anything: the
    // screen around the character (about half of its box) is 0 in the height field and flat in
    // the gradient, so the field, its blur and its gradient are computed on the row spans only.
    // `heights` is 0 outside the spans of the last frame: clear those, fill this frame's.
    const visible = s.visible;
    visibleSpans(data, width, box, visible);
    const heightSpans = s.heightSpans;
    const spanFrom = heightSpans.left;
    const spanTo = heightSpans.right;
    const { fullRuns, flatRuns, quietRuns } = s;
    for (let gy = 0; gy < gh; gy++) {
      if (spanFrom[gy] < spanTo[gy]) heights.fill(0, gy * gw + spanFrom[gy], gy * gw + spanTo[gy]);
      spanFrom[gy] = spanTo[gy] = 0;
      fullRuns.left[gy] = fullRuns.right[gy] = 0;
    }
    // The inside of the character is at full height, and stays there through the blur but for
    // the reach from its edge: per row its longest run of opaque cells is passed to the blur, which
    // skips it and says where the result is still full; there the gradient is 0 and need not be
    // computed either. Over the spans, the inside is most of the work saved.
    const k = hs * 0.25;
    const fullHeight = Math.fround(1020 * k);
    for (let gy = top; gy < bottom; gy++) {
      const ya = 2 * gy;
      const yb = ya + 1 < height ? ya + 1 : ya;
      // The cells holding a visible pixel of either frame row.
      let lo = br;
      let hi = bl;
      if (ya >= bt && ya < bb && visible.left[ya] < visible.right[ya]) {
        lo = visible.left[ya]!;
        hi = visible.right[ya]!;
      }
      if (yb >= bt && yb < bb && visible.left[yb] < visible.right[yb]) {
        if (visible.left[yb] < lo) lo = visible.left[yb]!;
        if (visible.right[yb] > hi) hi = visible.right[yb]!;
      }
      if (lo >= hi) continue;
      const from = lo >> 1;
      const to = ((hi - 1) >> 1) + 1;
      spanFrom[gy] = from;
      spanTo[gy] = to;
      const rowA = ya * width;
      const rowB = yb * width;
      let runFrom = -1;
      let fullFrom = 0;
      let fullTo = 0;
      for (let gx = from, q = gy * gw + from; gx < to; gx++, q++) {
        const xa = 2 * gx;
        const xb = xa + 1 < width ? xa + 1 : xa;
        const sum = data[((rowA + xa) << 2) + 3] + data[((rowA + xb) << 2) + 3] + data[((rowB + xa) << 2) + 3] + data[((rowB + xb) << 2) + 3];
        heights[q] = sum * k;
        if (sum === 1020) {
          if (runFrom < 0) runFrom = gx;
        } else if (runFrom >= 0) {
          if (gx - runFrom > fullTo - fullFrom) {
            fullFrom = runFrom;
            fullTo = gx;
          }
          runFrom = -1;
        }
      }
      if (runFrom >= 0 && to - runFrom > fullTo - fullFrom) {
        fullFrom = runFrom;
        fullTo = to;
      }
      fullRuns.left[gy] = fullFrom;
      fullRuns.right[gy] = fullTo;
    }
    // From here heightSpans holds, per grid row, where the blurred heights may be non-zero, and
    // fullRuns where they are still exactly fullHeight.
    blurChannelF32Spans(heights, gw, gh, rect, s.radii, heightSpans, s.spanBlur, fullRuns, fullHeight);

    // 2b. Gradient on the grid (per frame px: / 2), then read back bilinearly. Computed on each
    // row's span and the one above it, one cell wider: all that the 2x2 widening of the flags
    // below reads (it looks one cell right and one row down).
    const { gradX, gradY, quiet } = s;
    const gxMax = gw - 1;
    for (let gy = top; gy < bottom; gy++) {
      let from = right;
      let to = left;
      if (spanFrom[gy] < spanTo[gy]) {
        from = spanFrom[gy]!;
        to = spanTo[gy]!;
      }
      if (gy > top && spanFrom[gy - 1] < spanTo[gy - 1]) {
        if (spanFrom[gy - 1] < from) from = spanFrom[gy - 1]!;
        if (spanTo[gy - 1] > to) to = spanTo[gy - 1]!;
      }
      if (from >= to) continue;
      from = from - 1 > left ? from - 1 : left;
      to = to + 1 < right ? to + 1 : right;
      const gyUp = gy > top ? gy - 1 : top;
      const gyDown = gy < bottom - 1 ? gy + 1 : gy;
      const up = gyUp * gw;
      const mid = gy * gw;
      const down = gyDown * gw;
      // Cells whose 3x3 neighbourhood lies in the full runs of the three rows: gradient 0.
      let flatFrom = Math.max(fullRuns.left[gyUp], fullRuns.left[gy], fullRuns.left[gyDown]) + 1;
      let flatTo = Math.min(fullRuns.right[gyUp], fullRuns.right[gy], fullRuns.right[gyDown]) - 1;
      if (flatFrom < from) flatFrom = from;
      if (flatTo > to) flatTo = to;
      if (flatFrom >= flatTo) flatFrom = flatTo = to;
      flatRuns.left[gy] = flatFrom;
      flatRuns.right[gy] = flatTo;
      gradX.fill(0, mid + flatFrom, mid + flatTo);
      gradY.fill(0, mid + flatFrom, mid + flatTo);
      quiet.fill(1, mid + flatFrom, mid + flatTo);
      // The row's two sides of the flat run (empty when there is none: it then sits at `to`).
      for (let side = 0; side < 2; side++) {
        const end = side === 0 ? flatFrom : to;
        for (let gx = side === 0 ? from : flatTo; gx < end; gx++) {
          const xl = gx > left ? gx - 1 : left;
          const xr = gx < right - 1 && gx < gxMax ? gx + 1 : gx;
          const a = heights[up + xl],
            b = heights[up + gx],
            c = heights[up + xr];
          const d = heights[mid + xl],
            f = heights[mid + xr];
          const g = heights[down + xl],
            h = heights[down + gx],
            i = heights[down + xr];
          // The full-resolution loop's Sobel, kept as its own copy: here on grid cells of 2 px (so
          // / 16 per px), clamped to the rectangle, stored for the read-back instead of lit at once.
          const sx = (c + 2 * f + i - a - 2 * d - g) * 0.0625;
          const sy = (g + 2 * h + i - a - 2 * b - c) * 0.0625;
          gradX[mid + gx] = sx;
          gradY[mid + gx] = sy;
          quiet[mid + gx] = sx === 0 && sy === 0 ? 1 : 0; // flat cell; widened to 2x2 below
        }
      }
    }
    // Cells whose 2x2 read-back neighbourhood is flat: the inside of the character, most of it.
    // One byte read there instead of eight floats. In place, left to right and top down: the
    // right and lower neighbours read are still the per-cell flags.
    // Where a cell and its right neighbour are flat on this row and the next, the flag stays 1.
    for (let gy = top; gy < bottom; gy++) {
      const mid = gy * gw;
      const down = gy + 1 < bottom ? gw : 0;
      const from = spanFrom[gy];
      const to = spanTo[gy];
      if (from >= to) continue;
      const gyDown = gy + 1 < bottom ? gy + 1 : gy;
      let quietFrom = Math.max(flatRuns.left[gy], flatRuns.left[gyDown], from);
      let quietTo = Math.min(flatRuns.right[gy], flatRuns.right[gyDown], to + 1) - 1;
      if (quietFrom >= quietTo) quietFrom = quietTo = to;
      quietRuns.left[gy] = quietFrom;
      quietRuns.right[gy] = quietTo;
      // Left to right on both sides of the quiet run, which keeps its flags (all 1).
      for (let side = 0; side < 2; side++) {
        const start = side === 0 ? from : quietTo;
        const end = side === 0 ? quietFrom : to;
        for (let gx = start, q = mid + start; gx < end; gx++, q++) {
          const r = gx + 1 < right ? 1 : 0;
          quiet[q] = quiet[q] & quiet[q + r] & quiet[q + down] & quiet[q + down + r];
        }
      }
    }
    const useQuiet = tgx === null;
    const { col0, col1, colW, row0, row1, rowW, loud, firstX } = s;
    let loudRow = -1;
    for (let y = bt; y < bb; y++) {
      // Only the visible pixels are lit; they read cells within the spans of both grid rows.
      const visibleTo = visible.right[y];
      if (visible.left[y] >= visibleTo) continue;
      const ra = row0[y] * gw;
      const rb = row1[y] * gw;
      const wy = rowW[y];
      const mid = y * width;
      if (useQuiet && ra !== loudRow) {
        // Two frame rows read each grid row: for each of its cells, the next one not quiet.
        const from = spanFrom[row0[y]];
        const to = spanTo[row0[y]];
        const quietFrom = quietRuns.left[row0[y]];
        const quietTo = quietRuns.right[row0[y]];
        // Right to left: after the quiet run, the run itself (one fill), then before it.
        const hasRun = quietFrom < quietTo;
        let next = to;
        for (let c = to - 1, end = hasRun ? quietTo : from; c >= end; c--) {
          if (quiet[ra + c] !== 1) next = c;
          loud[c] = next;
        }
        if (hasRun) {
          loud.fill(next, quietFrom, quietTo);
          for (let c = quietFrom - 1; c >= from; c--) {
            if (quiet[ra + c] !== 1) next = c;
            loud[c] = next;
          }
        }
        loudRow = ra;
      }
      for (let x = visible.left[y]; x < visibleTo; x++) {
        const i0 = col0[x];
        if (useQuiet && quiet[ra + i0] === 1) {
          // Flat up to the next loud cell (the inside, the far outside): jump to the first pixel
          // that reads it, so the cost follows the bevel band, not the box.
          const nx = firstX[loud[i0]];
          if (nx > x + 1) x = nx - 1;
          continue;
        }
        const p = (mid + x) << 2;
        const alpha = data[p + 3];
        if (alpha === 0) continue;
        const i1 = col1[x];
        const wx = colW[x];
        const xa = gradX[ra + i0] + (gradX[ra + i1] - gradX[ra + i0]) * wx;
        const xb = gradX[rb + i0] + (gradX[rb + i1] - gradX[rb + i0]) * wx;
        const ya = gradY[ra + i0] + (gradY[ra + i1] - gradY[ra + i0]) * wx;
        const yb = gradY[rb + i0] + (gradY[rb + i1] - gradY[rb + i0]) * wx;
        let gx = xa + (xb - xa) * wy;
        let gy = ya + (yb - ya) * wy;
        if (tgx !== null) {
          gx += tgx[mid + x] * alpha;
          gy += tgy![mid + x] * alpha;
        }
        if (gx === 0 && gy === 0) continue;
        shade(data, p, gx, gy, s);
      }
    }
  },
});
