/**
 * The four sticker effects in stack order (outline -> surface-bevel -> alpha-bevel -> drop-shadow)
 * on a keyed-like frame whose transparent pixels hold screen green, composited over white and
 * black: no green and no off-grey fringe where the character was transparent.
 */
import { describe, expect, it } from 'vitest';
import { alphaBevel } from '../src/alpha-bevel.js';
import { dropShadow } from '../src/drop-shadow.js';
import { outline } from '../src/outline.js';
import { surfaceBevel } from '../src/surface-bevel.js';
import { setupEffect } from './support/run-effect.js';
import { cloneFrame, flatten, greenExcess, keyedCharacter } from './support/sticker-frames.js';

describe('sticker stack fringe', () => {
  it('outline, bevels and shadow leave no green or tinted edge over white or black', async () => {
    const w = 200,
      h = 150;
    const stages = [
      await setupEffect(outline, { width: 5 }, w, h),
      await setupEffect(surfaceBevel, { size: 6, textureDepth: 40 }, w, h),
      await setupEffect(alphaBevel, {}, w, h),
      await setupEffect(dropShadow, { distance: 6, softness: 3 }, w, h),
    ];
    const source = keyedCharacter({ width: w, height: h, cover: 0.2 });
    const f = cloneFrame(source);
    for (const s of stages) s.process(f);
    expect(greenExcess(f, [255, 255, 255])).toBeLessThanOrEqual(1);
    expect(greenExcess(f, [0, 0, 0])).toBeLessThanOrEqual(1);
    // Where the character was fully transparent only white border and black shadow (and the
    // bevels' white/black shading) can be: grey, over either background.
    const overWhite = flatten(f, [255, 255, 255]);
    const overBlack = flatten(f, [0, 0, 0]);
    let grown = 0;
    for (let i = 0, p = 0; p < f.data.length; i++, p += 4) {
      if (source.data[p + 3] !== 0) continue;
      if (f.data[p + 3] > 0) grown++;
      for (const flat of [overWhite, overBlack]) {
        const r = flat[i * 3],
          g = flat[i * 3 + 1],
          b = flat[i * 3 + 2];
        expect(Math.max(r, g, b) - Math.min(r, g, b)).toBeLessThanOrEqual(1);
      }
    }
    expect(grown).toBeGreaterThan(1000);
  });
});
