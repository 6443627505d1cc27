import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { createStage, InvalidOptionError } from '@stickerkey/core';
import { surfaceBevel } from '../src/surface-bevel.js';
import { frameFrom, growthOver, pixelAt, setupEffect } from './support/run-effect.js';
import { cloneFrame, greenExcess, keyedCharacter } from './support/sticker-frames.js';

const GREEN = [0, 255, 0, 0] as const;
const dir = mkdtempSync(join(tmpdir(), 'surface-bevel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The model for one pixel, written out independently: surface slope (gx, gy) in px per px, light
 * from `angle`/`altitude` (Photoshop convention), screen white / multiply black at the opacities.
 */
function expected(c: number, gx: number, gy: number, o: { angle: number; altitude: number; hi: number; lo: number }): number {
  const az = (o.angle * Math.PI) / 180;
  const el = (o.altitude * Math.PI) / 180;
  const light = [Math.cos(el) * Math.cos(az), -Math.cos(el) * Math.sin(az), Math.sin(el)];
  const n = Math.hypot(gx, gy, 1);
  const delta = (-gx * light[0] - gy * light[1] + light[2]) / n - light[2];
  if (delta > 0) return c + (255 - c) * (o.hi / 100) * Math.min(1, delta / (1 - light[2]));
  return c * (1 - (o.lo / 100) * Math.min(1, -delta / light[2]));
}

describe('surface-bevel options', () => {
  it('refuses bad values with the exact message', () => {
    expect(() => createStage(surfaceBevel, { depth: 0 })).toThrow(
      new InvalidOptionError('Expected number between 1 and 1000 for surface-bevel.depth but received 0', 'surface-bevel.depth'),
    );
    expect(() => createStage(surfaceBevel, { altitude: 95 })).toThrow('Expected number between 0 and 90 for surface-bevel.altitude but received 95');
    expect(() => createStage(surfaceBevel, { direction: 'sideways' })).toThrow(
      'Expected one of up, down for surface-bevel.direction but received "sideways" of type string',
    );
    expect(() => createStage(surfaceBevel, { highlightOpacity: 101 })).toThrow(
      'Expected number between 0 and 100 for surface-bevel.highlightOpacity but received 101',
    );
    expect(() => createStage(surfaceBevel, { texture: 5 })).toThrow('Expected string for surface-bevel.texture but received 5');
    expect(createStage(surfaceBevel, {}).margin).toBe(0);
  });

  it('refuses a texture file that does not exist when the job is set up, naming the option', async () => {
    await expect(setupEffect(surfaceBevel, { texture: join(dir, 'missing.png'), textureDepth: 50 }, 8, 8)).rejects.toThrow(
      /for surface-bevel\.texture but received ".*missing\.png"/,
    );
  });
});

describe('surface-bevel truth tables', () => {
  it('1x1: nothing to bevel, nothing changes', async () => {
    const stage = await setupEffect(surfaceBevel, {}, 1, 1);
    for (const px of [[10, 20, 30, 255], [...GREEN], [90, 80, 70, 128]] as const) {
      const f = frameFrom(1, 1, () => px);
      stage.process(f);
      expect(pixelAt(f, 0, 0)).toEqual([...px]);
    }
  });

  it('2x2: the edge facing the light brightens, facing away darkens; alpha and transparent pixels stay', async () => {
    const make = () => frameFrom(2, 2, (x) => (x === 0 ? [100, 100, 100, 255] : GREEN));
    const fromRight = await setupEffect(surfaceBevel, { size: 2, angle: 0 }, 2, 2);
    const fromLeft = await setupEffect(surfaceBevel, { size: 2, angle: 180 }, 2, 2);
    const a = make();
    const b = make();
    fromRight.process(a);
    fromLeft.process(b);
    for (const y of [0, 1]) {
      expect(pixelAt(a, 0, y)[0]).toBeGreaterThan(100);
      expect(pixelAt(b, 0, y)[0]).toBeLessThan(100);
      expect(pixelAt(a, 0, y)[3]).toBe(255);
      expect(pixelAt(a, 1, y)).toEqual([...GREEN]);
      expect(pixelAt(b, 1, y)).toEqual([...GREEN]);
    }
  });
});

describe('surface-bevel golden', () => {
  // An alpha ramp: blurring keeps a linear ramp linear, so the slope is known exactly.
  const w = 96,
    h = 16;
  const ramp = () => frameFrom(w, h, (x) => [100, 150, 200, 40 + 2 * x], { left: 0, top: 0, right: w, bottom: h });

  for (const [size, depth, direction] of [
    [4, 400, 'up'],
    [10, 200, 'up'], // half-resolution path
    [10, 200, 'down'],
  ] as const) {
    it(`matches the lighting model on an alpha ramp (size ${size}, ${direction})`, async () => {
      const o = { angle: 180, altitude: 30, hi: 75, lo: 75 };
      const stage = await setupEffect(surfaceBevel, { size, depth, direction, angle: o.angle, altitude: o.altitude }, w, h);
      const f = ramp();
      stage.process(f);
      const slope = ((direction === 'up' ? 1 : -1) * 2 * size * depth) / 100 / 255;
      for (let x = 24; x < 72; x++)
        for (const y of [0, 7, 15]) {
          const [r, g, b, a] = pixelAt(f, x, y);
          expect(a).toBe(40 + 2 * x);
          expect(Math.abs(r - expected(100, slope, 0, o))).toBeLessThanOrEqual(1);
          expect(Math.abs(g - expected(150, slope, 0, o))).toBeLessThanOrEqual(1);
          expect(Math.abs(b - expected(200, slope, 0, o))).toBeLessThanOrEqual(1);
        }
    });
  }

  it('a texture file adds its own slope (luminance ramp)', async () => {
    const tw = 64,
      th = 16;
    const pixels = Buffer.alloc(tw * th * 3);
    for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) pixels.fill(3 * x, (y * tw + x) * 3, (y * tw + x) * 3 + 3);
    const path = join(dir, 'ramp.png');
    await sharp(pixels, { raw: { width: tw, height: th, channels: 3 } })
      .png()
      .toFile(path);
    const o = { angle: 180, altitude: 45, hi: 75, lo: 75 };
    const stage = await setupEffect(surfaceBevel, { size: 0, texture: path, textureDepth: 100, angle: 180, altitude: 45 }, tw, th);
    const f = frameFrom(tw, th, () => [100, 150, 200, 255]);
    stage.process(f);
    // 3 levels per px; full range (255) is 3 px high at 100%.
    const slope = (3 * 3) / 255;
    for (let x = 2; x < tw - 2; x++) {
      const [r, g, b] = pixelAt(f, x, 8);
      expect(Math.abs(r - expected(100, slope, 0, o))).toBeLessThanOrEqual(1);
      expect(Math.abs(g - expected(150, slope, 0, o))).toBeLessThanOrEqual(1);
      expect(Math.abs(b - expected(200, slope, 0, o))).toBeLessThanOrEqual(1);
    }
    expect(pixelAt(f, 30, 8)[0]).toBeGreaterThan(100); // it did light something
  });

  it('leaves the flat inside exactly as it was and gives the same pixels with or without alpha bounds', async () => {
    for (const size of [4, 12]) {
      const w2 = 160,
        h2 = 120;
      const stage = await setupEffect(surfaceBevel, { size }, w2, h2);
      const source = keyedCharacter({ width: w2, height: h2, cover: 0.3 });
      const a = cloneFrame(source);
      const b = cloneFrame(source);
      delete b.alphaBounds;
      stage.process(a);
      stage.process(b);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
      expect(pixelAt(a, 80, 60)).toEqual(pixelAt(source, 80, 60));
      let changed = 0;
      for (let p = 0; p < a.data.length; p += 4) if (a.data[p] !== source.data[p]) changed++;
      expect(changed).toBeGreaterThan(300);
    }
  });
});

describe('surface-bevel fringe', () => {
  it('no green over white or black; alpha and transparent pixels untouched', async () => {
    const w = 160,
      h = 120;
    for (const opts of [{}, { size: 3, textureDepth: 80 }]) {
      const stage = await setupEffect(surfaceBevel, opts, w, h);
      const source = keyedCharacter({ width: w, height: h });
      const f = cloneFrame(source);
      stage.process(f);
      expect(greenExcess(f, [255, 255, 255])).toBeLessThanOrEqual(1);
      expect(greenExcess(f, [0, 0, 0])).toBeLessThanOrEqual(1);
      for (let p = 0; p < f.data.length; p += 4) {
        expect(f.data[p + 3]).toBe(source.data[p + 3]);
        if (source.data[p + 3] === 0) expect(f.data[p + 1]).toBe(255);
      }
    }
  });
});

describe('surface-bevel determinism and memory', () => {
  it('same input, same output', async () => {
    const a = await setupEffect(surfaceBevel, { textureDepth: 40 }, 96, 64);
    const b = await setupEffect(surfaceBevel, { textureDepth: 40 }, 96, 64);
    const fa = keyedCharacter({ width: 96, height: 64 });
    const fb = keyedCharacter({ width: 96, height: 64 });
    a.process(fa);
    b.process(fb);
    expect(Buffer.from(fa.data).equals(Buffer.from(fb.data))).toBe(true);
  });

  it('a frame comes out the same whatever the stage processed before (nothing of a bigger character left behind)', async () => {
    // The wide bevel keeps its height field between frames and clears only where it wrote.
    const w = 160,
      h = 120;
    const covers = [1.3, 0.05, 0.6, 0, 0.3, 0.02];
    for (const opts of [{}, { size: 24, soften: 3 }, { direction: 'down', textureDepth: 60 }]) {
      const reused = await setupEffect(surfaceBevel, opts, w, h);
      for (const cover of covers) {
        const source = keyedCharacter({ width: w, height: h, cover });
        const fresh = cloneFrame(source);
        (await setupEffect(surfaceBevel, opts, w, h)).process(fresh);
        const again = cloneFrame(source);
        reused.process(again);
        expect(Buffer.from(again.data).equals(Buffer.from(fresh.data))).toBe(true);
      }
    }
  });

  it('no heap or array-buffer growth over 1,000 apply calls', async () => {
    for (const opts of [{}, { size: 4, textureDepth: 50 }]) {
      const stage = await setupEffect(surfaceBevel, opts, 160, 120);
      const source = keyedCharacter({ width: 160, height: 120 });
      const frame = cloneFrame(source);
      const growth = growthOver(1000, () => {
        frame.data.set(source.data);
        stage.process(frame);
      });
      expect(growth.arrayBuffers).toBeLessThan(16 * 1024);
      expect(growth.heap).toBeLessThan(256 * 1024);
    }
  });
});
