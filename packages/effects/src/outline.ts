/**
 * outline: the sticker border, a round band of one colour around the character, laid UNDER it.
 *
 * Model: Photoshop's Stroke (position outside) / the die-cut border of a vinyl sticker. The band
 * is a round dilation of the alpha: every pixel within `width` px (euclidean) of the character's
 * 50% alpha contour, from an exact distance transform, so corners come out round rather than
 * square. Its outer edge is anti-aliased over one pixel, widened by `softness` px.
 * Units: width and softness in px, opacity in %.
 *
 * Squared distances between pixel centres are integers, so the band's coverage is a table
 * indexed by squared distance built in prepare: no square root per pixel.
 * The composite is the premultiplied "over" in straight alpha (character over border,
 * internal/over.ts): the colour a keyer left in transparent pixels has no weight, so no green fringe.
 *
 * margin = width + softness + 1; `frame.alphaBounds` grows by it.
 */
import { defineEffect, parseColor, type Bounds, type Frame, type FrameSize } from '@stickerkey/core/effect';
import { createDistanceScratch, squaredDistance, type DistanceScratch } from './internal/morphology.js';
import { overFlatColour } from './internal/over.js';
import { createRowSpans, findRowSpans, findSolidRuns, narrowRowSpans, widenRowSpans, type RowSpans } from './internal/row-spans.js';

const options = [
  { name: 'width', type: 'number', default: 12, min: 0, max: 200, unit: 'px', help: 'Width of the border around the character' },
  { name: 'color', type: 'color', default: '#ffffff', help: 'Colour of the border' },
  { name: 'softness', type: 'number', default: 0.5, min: 0, max: 50, unit: 'px', help: 'Extra blur of the outer edge (0: one-pixel anti-aliasing)' },
  { name: 'opacity', type: 'number', default: 100, min: 0, max: 100, unit: '%', help: 'Opacity of the border' },
] as const;

interface State {
  width: number;
  height: number;
  margin: number;
  identity: boolean;
  cr: number;
  cg: number;
  cb: number;
  /** Border alpha (0..255) by squared distance (px^2) from the nearest character pixel. */
  cover: Uint8Array;
  /** Distance (px) past which the border is 0: the distance transform need not look further. */
  reach: number;
  distance: DistanceScratch;
  rect: Bounds;
  /** Per row: first and one-past-last character pixel (alpha >= 128). */
  spans: RowSpans;
  /** Per row: the columns within reach of the character (the spans, widened on both axes). */
  windows: RowSpans;
  /** Per row: its longest run of opaque pixels. */
  runs: RowSpans;
  /** Per row: opaque pixels with opaque pixels all around (the runs, narrowed by one px): no work. */
  inside: RowSpans;
}

function marginOf(o: { width: number; softness: number }): number {
  return Math.ceil(o.width + o.softness + 1);
}

/**
 * The border under the character, over each row's window but the opaque inside it skips (its
 * pixels would keep their colour): in a function of its own, which V8 optimises apart from apply.
 */
function composite(s: State, data: Uint8Array, top: number, bottom: number): void {
  const { width, cover, cr, cg, cb } = s;
  const dist = s.distance.dist;
  const entries = cover.length;
  const winLeft = s.windows.left;
  const winRight = s.windows.right;
  const insideLeft = s.inside.left;
  const insideRight = s.inside.right;
  for (let y = top; y < bottom; y++) {
    // The window's two sides of the inside, which lies within it (its runs are in the span). An
    // empty inside sits at the rectangle's left: then the first side is empty, the second whole.
    for (let side = 0; side < 2; side++) {
      const from = side === 0 ? winLeft[y] : insideRight[y] > winLeft[y] ? insideRight[y] : winLeft[y];
      const to = side === 0 ? insideLeft[y] : winRight[y];
      for (let x = from, q = y * width + from, p = q << 2; x < to; x++, q++, p += 4) {
        const ac = data[p + 3];
        if (ac === 255) continue;
        const d2 = dist[q];
        if (d2 >= entries) continue; // beyond the border (also "no character at all")
        const ao = cover[d2 | 0];
        if (ao === 0) continue;
        if (ac === 0) {
          // Nothing over the border (most of it): the formula below gives exactly its colour
          // (C * under / under rounds back to C) at alpha Ao, without the division.
          data[p] = cr;
          data[p + 1] = cg;
          data[p + 2] = cb;
          data[p + 3] = ao;
          continue;
        }
        overFlatColour(data, p, ac, ao, cr, cg, cb); // character over border
      }
    }
  }
}

export const outline = defineEffect({
  name: 'outline',
  description: 'The white sticker border: a round band around the character, under it',
  options,

  margin(o) {
    return o.width === 0 || o.opacity === 0 ? 0 : marginOf(o);
  },

  prepare(o, size: FrameSize): State {
    const c = parseColor(o.color);
    // Feature pixels (alpha >= 128) sit about half a pixel inside the 50% contour, so the outer
    // edge is at width + 0.5 from their centres; the ramp there spans 1 + softness px.
    const edge = o.width + 0.5;
    const ramp = 1 + o.softness;
    const far = edge + ramp / 2;
    const entries = Math.floor(far * far) + 1;
    const cover = new Uint8Array(entries);
    for (let d2 = 0; d2 < entries; d2++) {
      const t = Math.min(1, Math.max(0, (edge - Math.sqrt(d2)) / ramp + 0.5));
      cover[d2] = Math.round(t * o.opacity * 2.55);
    }
    return {
      width: size.width,
      height: size.height,
      margin: marginOf(o),
      identity: o.width === 0 || o.opacity === 0,
      cr: c.r,
      cg: c.g,
      cb: c.b,
      cover,
      reach: Math.sqrt(entries),
      distance: createDistanceScratch(size),
      rect: { left: 0, top: 0, right: 0, bottom: 0 },
      spans: createRowSpans(size.height),
      windows: createRowSpans(size.height),
      runs: createRowSpans(size.height),
      inside: createRowSpans(size.height),
    };
  },

  apply(s: State, frame: Frame): void {
    const { width, height, margin } = s;
    if (s.identity) return;
    const data = frame.data;
    const ab = frame.alphaBounds;
    if (ab && (ab.right <= ab.left || ab.bottom <= ab.top)) return;
    const rect = s.rect;
    rect.left = ab ? Math.max(0, ab.left - margin) : 0;
    rect.top = ab ? Math.max(0, ab.top - margin) : 0;
    rect.right = ab ? Math.min(width, ab.right + margin) : width;
    rect.bottom = ab ? Math.min(height, ab.bottom + margin) : height;
    const { left, top, right, bottom } = rect;

    // Only pixels within reach of a character pixel (alpha >= 128) can get any border: per row,
    // the columns within reach of the character's span on the rows within reach. Elsewhere in the
    // box (half of it, for a standing character) neither the distance nor the composite does any
    // work. The distance is exact below `reach`; a reach of r px rounds up to a cap of ceil(r), so
    // the windows reach ceil(r) - 1 px, beyond which every distance is >= ceil(r).
    // Inside the windows, the inside of the character is most of the work and needs none: an
    // opaque pixel is at distance 0 and keeps its colour. Per row, its longest run of opaque
    // pixels, narrowed by one so that the pixels above are opaque too, is skipped by both.
    const { spans, windows, runs, inside } = s;
    findRowSpans(data, width, height, rect, 128, spans, 4, 3);
    findSolidRuns(data, width, height, rect, 255, spans, runs, 4, 3);
    narrowRowSpans(runs, width, height, rect, 1, inside);
    widenRowSpans(spans, width, height, rect, Math.ceil(s.reach) - 1, windows);
    squaredDistance(data, width, height, rect, 128, false, s.distance, s.reach, 4, 3, windows, inside);
    composite(s, data, top, bottom);

    if (ab) {
      ab.left = left;
      ab.top = top;
      ab.right = right;
      ab.bottom = bottom;
    }
  },
});
