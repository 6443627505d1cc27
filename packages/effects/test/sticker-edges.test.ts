/**
 * The four sticker effects on awkward frames: odd sizes (half-resolution grids with a half
 * cell), characters cut by the frame border, offsets that push the shadow off the frame. With and
 * without alpha bounds the visible pixels must be the same (alpha everywhere, colour where alpha
 * is not 0: shadow-only may leave different colours in pixels nobody sees), and nothing may throw.
 */
import { describe, expect, it } from 'vitest';
import { computeAlphaBounds } from '@stickerkey/core';
import { alphaBevel } from '../src/alpha-bevel.js';
import { dropShadow } from '../src/drop-shadow.js';
import { outline } from '../src/outline.js';
import { surfaceBevel } from '../src/surface-bevel.js';
import { frameFrom, setupEffect } from './support/run-effect.js';
import { cloneFrame } from './support/sticker-frames.js';

const cases = [
  ['outline', outline, { width: 4, softness: 1 }],
  ['drop-shadow soft', dropShadow, { distance: 9, direction: -30, softness: 3 }],
  ['drop-shadow hard', dropShadow, { distance: 5, direction: 200, softness: 0, shadowOnly: true }],
  ['surface-bevel wide', surfaceBevel, { size: 8, textureDepth: 30 }],
  ['surface-bevel narrow', surfaceBevel, { size: 3 }],
  ['alpha-bevel', alphaBevel, { edgeThickness: 2 }],
] as const;

/** A disc centred at (cx, cy), radius r, soft over a pixel; green garbage outside. */
function disc(w: number, h: number, cx: number, cy: number, r: number) {
  const f = frameFrom(w, h, (x, y) => {
    const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy) - r;
    const a = Math.round(255 * Math.min(1, Math.max(0, 0.5 - d)));
    return a === 0 ? [0, 255, 0, 0] : [40 + x * 3, 90, 200 - y * 2, a];
  });
  f.alphaBounds = computeAlphaBounds(f, { left: 0, top: 0, right: 0, bottom: 0 });
  return f;
}

describe('sticker effects on awkward frames', () => {
  for (const [name, effect, options] of cases) {
    it(`${name}: odd sizes and characters cut by the border, same with or without bounds`, async () => {
      for (const [w, h, cx, cy, r] of [
        [33, 17, 16, 8, 6],
        [31, 29, 2, 27, 9], // cut by the left and bottom borders
        [45, 23, 44, 1, 7], // cut by the right and top borders
        [7, 5, 3, 2, 1.5],
      ] as const) {
        const stage = await setupEffect(effect, options, w, h);
        const a = disc(w, h, cx, cy, r);
        const b = cloneFrame(a);
        delete b.alphaBounds;
        stage.process(a);
        stage.process(b);
        for (let p = 0; p < a.data.length; p += 4) {
          // Alpha always; colour only where it can be seen.
          const from = a.data[p + 3] > 0 ? p : p + 3;
          expect(Array.from(a.data.subarray(from, p + 4)), `${w}x${h} at pixel ${p / 4}`).toEqual(Array.from(b.data.subarray(from, p + 4)));
        }
        const ab = a.alphaBounds!;
        expect(ab.left).toBeGreaterThanOrEqual(0);
        expect(ab.top).toBeGreaterThanOrEqual(0);
        expect(ab.right).toBeLessThanOrEqual(w);
        expect(ab.bottom).toBeLessThanOrEqual(h);
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) if (x < ab.left || x >= ab.right || y < ab.top || y >= ab.bottom) expect(a.data[(y * w + x) * 4 + 3]).toBe(0);
      }
    });
  }
});
