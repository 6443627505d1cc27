import { describe, expect, it } from 'vitest';
import { InvalidOptionError, createStage, createFrame, type Frame } from '@stickerkey/core';
import { outline } from '../src/outline.js';
import { frameFrom, growthOver, pixelAt, setupEffect } from './support/run-effect.js';
import { cloneFrame, edgePixels, greenExcess, keyedCharacter } from './support/sticker-frames.js';

const GREEN = [0, 255, 0, 0] as const;

/** Border alpha the model promises at distance d (px, between pixel centres) from the character. */
function expectedCover(d: number, width: number, softness: number, opacity = 100): number {
  const t = Math.min(1, Math.max(0, (width + 0.5 - d) / (1 + softness) + 0.5));
  return Math.round(t * opacity * 2.55);
}

describe('outline options', () => {
  it('refuses values out of range with the exact message', () => {
    expect(() => createStage(outline, { width: -1 })).toThrow(
      new InvalidOptionError('Expected number between 0 and 200 for outline.width but received -1', 'outline.width'),
    );
    expect(() => createStage(outline, { opacity: 150 })).toThrow('Expected number between 0 and 100 for outline.opacity but received 150');
    expect(() => createStage(outline, { color: 'white' })).toThrow('Expected colour as #rrggbb for outline.color but received "white" of type string');
    expect(() => createStage(outline, { softness: 'soft' })).toThrow(
      'Expected number between 0 and 50 for outline.softness but received "soft" of type string',
    );
    expect(() => createStage(outline, { widht: 3 })).toThrow('Unknown option outline.widht; expected one of width, color, softness, opacity');
    try {
      createStage(outline, { width: 500 });
    } catch (error) {
      expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
      expect((error as InvalidOptionError).option).toBe('outline.width');
    }
  });

  it('declares its margin: width + softness + 1, none when it draws nothing', () => {
    expect(createStage(outline, { width: 12, softness: 2 }).margin).toBe(15);
    expect(createStage(outline, { width: 0 }).margin).toBe(0);
    expect(createStage(outline, { opacity: 0 }).margin).toBe(0);
  });
});

describe('outline truth tables', () => {
  it('1x1: an opaque pixel stays, a transparent one stays untouched', async () => {
    const stage = await setupEffect(outline, {}, 1, 1);
    const opaque = frameFrom(1, 1, () => [10, 20, 30, 255]);
    stage.process(opaque);
    expect(pixelAt(opaque, 0, 0)).toEqual([10, 20, 30, 255]);
    const empty = frameFrom(1, 1, () => GREEN);
    stage.process(empty);
    expect(pixelAt(empty, 0, 0)).toEqual([...GREEN]);
  });

  it('2x2: one opaque pixel grows a white border onto its neighbours (round: the diagonal is partial)', async () => {
    const stage = await setupEffect(outline, { width: 1, softness: 0 }, 2, 2);
    const f = frameFrom(2, 2, (x, y) => (x === 0 && y === 0 ? [200, 50, 50, 255] : GREEN));
    stage.process(f);
    expect(pixelAt(f, 0, 0)).toEqual([200, 50, 50, 255]);
    expect(pixelAt(f, 1, 0)).toEqual([255, 255, 255, expectedCover(1, 1, 0)]);
    expect(pixelAt(f, 0, 1)).toEqual([255, 255, 255, expectedCover(1, 1, 0)]);
    expect(pixelAt(f, 1, 1)).toEqual([255, 255, 255, expectedCover(Math.SQRT2, 1, 0)]);
    expect(expectedCover(Math.SQRT2, 1, 0)).toBeLessThan(255);
  });

  it('2x2: a half-transparent pixel is composited over the border (premultiplied over)', async () => {
    const stage = await setupEffect(outline, { width: 1, softness: 0, color: '#0000ff' }, 2, 2);
    // Alpha 128 counts as inside (>= 50%), so the border lies under it at full strength.
    const f = frameFrom(2, 2, (x, y) => (x === 0 && y === 0 ? [255, 0, 0, 128] : GREEN));
    stage.process(f);
    // A = 128 + 255 (1 - 128/255) = 255; C = red*128/255 + blue*(127/255).
    expect(pixelAt(f, 0, 0)).toEqual([128, 0, 127, 255]);
  });
});

describe('outline golden', () => {
  it('matches the analytic round border around a block, within one level', async () => {
    const w = 48,
      h = 40;
    const width = 6.5,
      softness = 1.5;
    const inBlock = (x: number, y: number) => x >= 16 && x < 30 && y >= 14 && y < 24;
    const stage = await setupEffect(outline, { width, softness, color: '#ffffff', opacity: 80 }, w, h);
    const f = frameFrom(w, h, (x, y) => (inBlock(x, y) ? [40, 90, 160, 255] : GREEN));
    stage.process(f);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const [r, g, b, a] = pixelAt(f, x, y);
        if (inBlock(x, y)) {
          expect([r, g, b, a]).toEqual([40, 90, 160, 255]);
          continue;
        }
        // Distance from this pixel's centre to the nearest block pixel centre.
        const dx = Math.max(16 - x, 0, x - 29);
        const dy = Math.max(14 - y, 0, y - 23);
        const want = expectedCover(Math.hypot(dx, dy), width, softness, 80);
        expect(Math.abs(a - want)).toBeLessThanOrEqual(1);
        if (want > 0) expect([r, g, b]).toEqual([255, 255, 255]);
        else expect([r, g, b, a]).toEqual([...GREEN]);
      }
  });

  it('gives the same pixels with and without alpha bounds, and grows the bounds by its margin', async () => {
    const w = 120,
      h = 90;
    const stage = await setupEffect(outline, { width: 9, softness: 2 }, w, h);
    const withBounds = keyedCharacter({ width: w, height: h, cover: 0.2 });
    const without = cloneFrame(withBounds);
    delete without.alphaBounds;
    const before = { ...withBounds.alphaBounds! };
    stage.process(withBounds);
    stage.process(without);
    expect(Buffer.from(withBounds.data).equals(Buffer.from(without.data))).toBe(true);
    expect(withBounds.alphaBounds).toEqual({
      left: Math.max(0, before.left - 12),
      top: Math.max(0, before.top - 12),
      right: Math.min(w, before.right + 12),
      bottom: Math.min(h, before.bottom + 12),
    });
    expect(without.alphaBounds).toBeUndefined();
  });

  it('leaves a frame with empty alpha bounds alone', async () => {
    const stage = await setupEffect(outline, {}, 8, 8);
    const f: Frame = createFrame(8, 8);
    f.data.fill(9);
    f.alphaBounds = { left: 0, top: 0, right: 0, bottom: 0 };
    stage.process(f);
    expect(f.data.every((v) => v === 9)).toBe(true);
  });
});

describe('outline fringe', () => {
  it('no green and no dark fringe over white or black: the border edge is pure border colour', async () => {
    const w = 160,
      h = 120;
    const stage = await setupEffect(outline, { width: 6, softness: 1 }, w, h);
    const f = keyedCharacter({ width: w, height: h });
    stage.process(f);
    expect(greenExcess(f, [255, 255, 255])).toBeLessThanOrEqual(1);
    expect(greenExcess(f, [0, 0, 0])).toBeLessThanOrEqual(1);
    // Everything partly transparent is now the border's soft outer edge: white, at any alpha.
    const edge = edgePixels(f);
    expect(edge.length).toBeGreaterThan(100);
    for (const p of edge) expect([f.data[p], f.data[p + 1], f.data[p + 2]]).toEqual([255, 255, 255]);
  });
});

describe('outline determinism and memory', () => {
  it('same input, same output', async () => {
    const a = await setupEffect(outline, { width: 7 }, 96, 64);
    const b = await setupEffect(outline, { width: 7 }, 96, 64);
    const fa = keyedCharacter({ width: 96, height: 64 });
    const fb = keyedCharacter({ width: 96, height: 64 });
    a.process(fa);
    b.process(fb);
    expect(Buffer.from(fa.data).equals(Buffer.from(fb.data))).toBe(true);
  });

  it('no heap or array-buffer growth over 1,000 apply calls', async () => {
    const stage = await setupEffect(outline, {}, 160, 120);
    const source = keyedCharacter({ width: 160, height: 120 });
    const frame = cloneFrame(source);
    const bounds = frame.alphaBounds!;
    const growth = growthOver(1000, () => {
      frame.data.set(source.data);
      Object.assign(bounds, source.alphaBounds);
      stage.process(frame);
    });
    expect(growth.arrayBuffers).toBeLessThan(16 * 1024);
    expect(growth.heap).toBeLessThan(256 * 1024);
  });
});
