/**
 * alpha-bevel: After Effects' Bevel Alpha, a lit and shaded band along the alpha edge.
 *
 * Model: the edge is a chiselled slope `edgeThickness` px wide: the height of a pixel is its
 * euclidean distance to the nearest transparent pixel (alpha < 50%) refined by its own alpha
 * (which says where between two pixels the edge lies), capped at the thickness,
 * from an exact distance transform; its gradient is a Sobel smoothed by a 3x3 box (5x5 in all),
 * which hides the distance's pixel steps. Only pixels of the band get that far, so it is cheap.
 * The slope's outward normal (the negative Sobel gradient) is compared with the light direction:
 * parts facing the light move towards the light colour, parts facing away darken, by
 * `lightIntensity`; the flat inside is untouched. Light angle as in After Effects: a compass
 * angle, 0 deg = from above, clockwise, default -60 (upper left). Units: px, deg, 0..1.
 *
 * Only colour changes, alpha stays; the heights come from alpha, so no colour is filtered and
 * transparent pixels are skipped. margin = 0.
 */
import { defineEffect, parseColor, type Bounds, type Frame, type FrameSize } from '@stickerkey/core/effect';
import { createDistanceScratch, squaredDistance, type DistanceScratch } from './internal/morphology.js';
import { createRowSpans, findRowSpans, fullFrame, findSolidRuns, narrowRowSpans, widenRowSpans, type RowSpans } from './internal/row-spans.js';

const options = [
  { name: 'edgeThickness', type: 'number', default: 3, min: 0, max: 100, unit: 'px', help: 'Width of the bevelled band inside the alpha edge' },
  {
    name: 'lightAngle',
    type: 'number',
    default: -60,
    min: -360,
    max: 360,
    unit: 'deg',
    help: 'Where the light comes from: 0 above, 90 right, -60 upper left (clockwise)',
  },
  { name: 'lightColor', type: 'color', default: '#ffffff', help: 'Colour of the light on the lit side' },
  { name: 'lightIntensity', type: 'number', default: 0.4, min: 0, max: 1, help: 'Strength of the lighting and darkening' },
] as const;

const INV255 = 1 / 255;

interface State {
  width: number;
  height: number;
  identity: boolean;
  /** Height (px) by squared distance d^2 to the nearest transparent pixel: max(0, d - 1); alpha adds 0..1. */
  heightOf: Float32Array;
  thickness: number;
  /** Towards the light, in image axes, times intensity. */
  lx: number;
  ly: number;
  intensity: number;
  cr: number;
  cg: number;
  cb: number;
  distance: DistanceScratch;
  /** The whole frame, for a frame without alphaBounds. */
  box: Bounds;
  rect: Bounds;
  /** Per row: first and one-past-last visible pixel. */
  spans: RowSpans;
  /** Per row: the columns whose distance the 5x5 windows of the visible pixels read. */
  windows: RowSpans;
  /** Per row: its longest run of pixels inside the alpha edge (alpha >= 128). */
  runs: RowSpans;
  /** Per row: pixels deeper inside than the distances look (the runs, narrowed by that): flat. */
  inside: RowSpans;
  /** Heights of five consecutive rows (row r at (r % 5) * width), for the 5x5 windows. */
  heights: Float64Array;
}

/**
 * The gradient: Sobel / 8 smoothed by a 3x3 box (hides the distance's pixel steps), a 5x5 kernel
 * that is separable, [1, 3, 4, 3, 1] across the derivative [-1, -1, 0, 1, 1], / 72. So per row of
 * the window: `across` = right pair - left pair, `along` = [1, 3, 4, 3, 1] of its five heights;
 * gx = [1, 3, 4, 3, 1] of the rows' `across`, gy = the lower two rows' `along` - the upper two's.
 * A dozen additions and a few multiplies instead of 50 multiply-adds on kernel tables (which
 * were half of alpha-bevel). The sums come in another order than the 5x5 kernel's, so the last
 * bits of the gradient differ from it (a channel may round the other way at .5).
 */
const INV72 = 1 / 72;

/** Height of pixel q from its distance and alpha (for the window at the frame's edge only). */
function heightAt(s: State, data: Uint8Array, q: number): number {
  const heightOf = s.heightOf;
  const d2 = s.distance.dist[q];
  const h = d2 < heightOf.length ? heightOf[d2 | 0] + data[(q << 2) + 3] * INV255 : s.thickness;
  return h > s.thickness ? s.thickness : h;
}

/**
 * Step 2 of apply: lights and darkens the band pixels of rows bt..bb-1, from the distances in
 * s.distance; only each row's visible span (s.spans) is read.
 */
function lightBand(s: State, data: Uint8Array, bt: number, bb: number): void {
  const { width, height, heightOf, thickness } = s;
  const dist = s.distance.dist;
  const entries = heightOf.length;
  // Heights are flat (= thickness) from distance thickness + 1 on; the 5x5 window reaches
  // 2*sqrt(2) px, so a pixel this far in sees only flat heights.
  const flatFrom = (thickness + 1 + 2 * Math.SQRT2) ** 2;

  // 2. Light the slope: the outward normal is -gradient; compare it with the light direction.
  //    Only band pixels get here (a few per edge pixel), so a 5x5 window is affordable.
  const { lx, ly, intensity, cr, cg, cb } = s;
  const inv72 = INV72;
  const xMax = width - 1;
  const yMax = height - 1;
  const spanLeft = s.spans.left;
  const spanRight = s.spans.right;
  // Each height is read by the 25 windows around it: computed once per pixel into a ring of the
  // five rows the windows of row y span (row r in slot r % 5), over each row's window columns
  // (where the distances are). Kept in doubles, as computing them in the window gave them.
  // 46,000 band pixels read 1.2 million heights on the 1080p bench frame.
  // The inside (no transparent pixel within the distances' reach, which is past flatFrom) is flat:
  // its heights are all `thickness`, written with one fill(), and none of its pixels is lit. It lies
  // within the span; an empty one sits at the rectangle's left, so then the first side of it is
  // empty and the second the whole span or window.
  const ring = s.heights;
  const winLeft = s.windows.left;
  const winRight = s.windows.right;
  const insideLeft = s.inside.left;
  const insideRight = s.inside.right;
  let nextRow = bt - 2 > 0 ? bt - 2 : 0;
  for (let y = bt; y < bb; y++) {
    for (const last = y + 2 < yMax ? y + 2 : yMax; nextRow <= last; nextRow++) {
      const slot = (nextRow % 5) * width;
      const row = nextRow * width;
      const il = insideLeft[nextRow];
      const ir = insideRight[nextRow];
      ring.fill(thickness, slot + il, slot + ir);
      for (let side = 0; side < 2; side++) {
        const wl = winLeft[nextRow];
        const from = side === 0 ? wl : ir > wl ? ir : wl;
        const end = side === 0 ? il : winRight[nextRow];
        for (let x = from; x < end; x++) {
          // Height from the distance (by table) plus the pixel's own coverage, which places
          // the edge between pixels: the binary distance alone shows its staircase.
          const d2 = dist[row + x];
          let h = d2 < entries ? heightOf[d2 | 0] + data[((row + x) << 2) + 3] * INV255 : thickness;
          if (h > thickness) h = thickness;
          ring[slot + x] = h;
        }
      }
    }
    const mid = y * width;
    // Where the window's five rows start in the ring, less its two columns left of x: per row, not
    // per pixel (five divisions by 5 fewer per band pixel). Only read for y >= 2, where y - 2 =
    // y + 3 (mod 5) is not negative.
    const ring0 = ((y + 3) % 5) * width - 2;
    const ring1 = ((y + 4) % 5) * width - 2;
    const ring2 = (y % 5) * width - 2;
    const ring3 = ((y + 1) % 5) * width - 2;
    const ring4 = ((y + 2) % 5) * width - 2;
    const rowInside = y >= 2 && y <= yMax - 2;
    for (let side = 0; side < 2; side++) {
      const sl = spanLeft[y];
      const from = side === 0 ? sl : insideRight[y] > sl ? insideRight[y] : sl;
      const to = side === 0 ? insideLeft[y] : spanRight[y];
      for (let x = from, p = (mid + from) << 2; x < to; x++, p += 4) {
        // Distance first: the flat inside the run missed is skipped on one contiguous read.
        if (dist[mid + x] >= flatFrom || data[p + 3] === 0) continue;
        let gx: number;
        let gy: number;
        if (rowInside && x >= 2 && x <= xMax - 2) {
          // The whole window inside the frame (always, on a padded canvas): no clamping.
          let q = ring0 + x;
          let h0 = ring[q],
            h1 = ring[q + 1],
            h2 = ring[q + 2],
            h3 = ring[q + 3],
            h4 = ring[q + 4];
          const across0 = h3 + h4 - (h0 + h1);
          const along0 = h0 + h4 + 3 * (h1 + h3) + 4 * h2;
          q = ring1 + x;
          h0 = ring[q]!;
          h1 = ring[q + 1]!;
          h2 = ring[q + 2]!;
          h3 = ring[q + 3]!;
          h4 = ring[q + 4]!;
          const across1 = h3 + h4 - (h0 + h1);
          const along1 = h0 + h4 + 3 * (h1 + h3) + 4 * h2;
          q = ring2 + x;
          h0 = ring[q]!;
          h1 = ring[q + 1]!;
          h3 = ring[q + 3]!;
          h4 = ring[q + 4]!;
          const across2 = h3 + h4 - (h0 + h1);
          q = ring3 + x;
          h0 = ring[q]!;
          h1 = ring[q + 1]!;
          h2 = ring[q + 2]!;
          h3 = ring[q + 3]!;
          h4 = ring[q + 4]!;
          const across3 = h3 + h4 - (h0 + h1);
          const along3 = h0 + h4 + 3 * (h1 + h3) + 4 * h2;
          q = ring4 + x;
          h0 = ring[q]!;
          h1 = ring[q + 1]!;
          h2 = ring[q + 2]!;
          h3 = ring[q + 3]!;
          h4 = ring[q + 4]!;
          const across4 = h3 + h4 - (h0 + h1);
          const along4 = h0 + h4 + 3 * (h1 + h3) + 4 * h2;
          gx = (across0 + across4 + 3 * (across1 + across3) + 4 * across2) * inv72;
          gy = (along3 + along4 - (along0 + along1)) * inv72;
        } else {
          // Clamped to the frame: the same sums, heights computed on the spot.
          let acrossSum = 0;
          let alongSum = 0;
          for (let j = -2; j <= 2; j++) {
            const yy = y + j;
            const row = (yy < 0 ? 0 : yy > yMax ? yMax : yy) * width;
            const h0 = heightAt(s, data, row + (x - 2 < 0 ? 0 : x - 2));
            const h1 = heightAt(s, data, row + (x - 1 < 0 ? 0 : x - 1));
            const h2 = heightAt(s, data, row + x);
            const h3 = heightAt(s, data, row + (x + 1 > xMax ? xMax : x + 1));
            const h4 = heightAt(s, data, row + (x + 2 > xMax ? xMax : x + 2));
            const across = h3 + h4 - (h0 + h1);
            const along = h0 + h4 + 3 * (h1 + h3) + 4 * h2;
            acrossSum += (j === 0 ? 4 : j === -1 || j === 1 ? 3 : 1) * across;
            alongSum += (j < 0 ? -1 : j > 0 ? 1 : 0) * along;
          }
          gx = acrossSum * inv72;
          gy = alongSum * inv72;
        }
        const facing = -(gx * lx + gy * ly);
        if (facing > 0) {
          const k = (facing < 1 ? facing : 1) * intensity;
          const r0 = data[p];
          const g0 = data[p + 1];
          const b0 = data[p + 2];
          data[p] = (r0 + (cr - r0) * k + 0.5) | 0;
          data[p + 1] = (g0 + (cg - g0) * k + 0.5) | 0;
          data[p + 2] = (b0 + (cb - b0) * k + 0.5) | 0;
        } else if (facing < 0) {
          const k = 1 - (facing > -1 ? -facing : 1) * intensity;
          data[p] = (data[p] * k + 0.5) | 0;
          data[p + 1] = (data[p + 1] * k + 0.5) | 0;
          data[p + 2] = (data[p + 2] * k + 0.5) | 0;
        }
      }
    }
  }
}

export const alphaBevel = defineEffect({
  name: 'alpha-bevel',
  description: "After Effects' Bevel Alpha: lights and darkens a band along the alpha edge",
  options,

  margin() {
    return 0;
  },

  prepare(o, size: FrameSize): State {
    const t = o.edgeThickness;
    // Distances past the band are all "thickness": the table covers up to (t + 1)^2.
    const entries = Math.floor((t + 1) * (t + 1)) + 1;
    const heightOf = new Float32Array(entries);
    for (let d2 = 0; d2 < entries; d2++) heightOf[d2] = Math.max(0, Math.sqrt(d2) - 1);
    const angle = (o.lightAngle * Math.PI) / 180;
    const c = parseColor(o.lightColor);
    return {
      width: size.width,
      height: size.height,
      identity: t === 0 || o.lightIntensity === 0,
      heightOf,
      thickness: t,
      // Compass angle: 0 up (-y), 90 right (+x).
      lx: Math.sin(angle),
      ly: -Math.cos(angle),
      intensity: o.lightIntensity,
      cr: c.r,
      cg: c.g,
      cb: c.b,
      distance: createDistanceScratch(size),
      box: { left: 0, top: 0, right: 0, bottom: 0 },
      rect: { left: 0, top: 0, right: 0, bottom: 0 },
      spans: createRowSpans(size.height),
      windows: createRowSpans(size.height),
      runs: createRowSpans(size.height),
      inside: createRowSpans(size.height),
      heights: new Float64Array(5 * size.width),
    };
  },

  apply(s: State, frame: Frame): void {
    const { width, height, thickness } = s;
    if (s.identity) return;
    const data = frame.data;
    const { left: bl, top: bt, right: br, bottom: bb } = frame.alphaBounds ?? fullFrame(s.box, width, height);
    if (br <= bl || bb <= bt) return;
    // Two pixels around the character: the transparent ring the distances are measured from.
    const rect = s.rect;
    rect.left = Math.max(0, bl - 2);
    rect.top = Math.max(0, bt - 2);
    rect.right = Math.min(width, br + 2);
    rect.bottom = Math.min(height, bb + 2);

    // 1. Distances into the character, exact up to the band (and a little past it), only where
    //    they are read: each row's visible span (transparent pixels are never lit) and the 5x5
    //    windows around it. Outside that every pixel is transparent, a feature of the inverted
    //    transform (distance 0) as squaredDistance requires of its windows. A character's spans
    //    cover about half of its box.
    //    Nor inside the character past their reach (three quarters of the windows): per row, its
    //    longest run of pixels inside the alpha edge, narrowed by that reach, is known to be far.
    const { spans, windows, runs, inside } = s;
    const reach = thickness + 4; // exact below flatFrom
    findRowSpans(data, width, height, rect, 1, spans, 4, 3);
    findSolidRuns(data, width, height, rect, 128, spans, runs, 4, 3);
    narrowRowSpans(runs, width, height, rect, Math.ceil(reach) - 1, inside);
    widenRowSpans(spans, width, height, rect, 2, windows);
    squaredDistance(data, width, height, rect, 128, true, s.distance, reach, 4, 3, windows, inside);
    // 2. Light the band, in a function of its own: V8 optimises it apart from apply, so apply
    //    bailing out (it did, on the third frame, and then ran unoptimised for some 30 frames in
    //    the sticker stack: 16 ms instead of 9 at 1080p) cannot take the hot loop down with it.
    lightBand(s, data, bt, bb);
  },
});
