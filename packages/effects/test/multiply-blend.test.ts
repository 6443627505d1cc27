import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStage, InvalidOptionError } from '@stickerkey/core';
import { multiplyBlend } from '../src/multiply-blend.js';
import { generateTexture } from '../src/textures.js';
import { frameFrom, growthOver, pixelAt, setupEffect } from './support/run-effect.js';
import { keyedCharacter } from './support/sticker-frames.js';

let dir: string;
async function flatTexture(r: number, g: number, b: number, alpha = 1): Promise<string> {
  const path = join(dir, `tex-${r}-${g}-${b}-${alpha}.png`);
  await sharp({ create: { width: 4, height: 4, channels: 4, background: { r, g, b, alpha } } })
    .png()
    .toFile(path);
  return path;
}
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-multiply-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The definition: c * (1 - opacity * (1 - t / 255)), in floats. */
const multiply = (c: number, t: number, opacity: number): number => c * (1 - (opacity / 100) * (1 - t / 255));

describe('multiply-blend options', () => {
  it('refuses bad values with the option, the range and the value', () => {
    expect(() => createStage(multiplyBlend, { opacity: 150 })).toThrowError(
      new InvalidOptionError('Expected number between 0 and 100 for multiply-blend.opacity but received 150', 'multiply-blend.opacity'),
    );
    expect(() => createStage(multiplyBlend, { scale: 0 })).toThrowError('Expected number between 0.25 and 16 for multiply-blend.scale but received 0');
    expect(() => createStage(multiplyBlend, { seed: -1 })).toThrowError('Expected integer between 0 and 2147483647 for multiply-blend.seed but received -1');
    expect(() => createStage(multiplyBlend, { texture: true })).toThrowError('Expected string for multiply-blend.texture but received true of type boolean');
  });

  it('draws nothing outside the character: no margin', () => {
    expect(createStage(multiplyBlend, {}).margin).toBe(0);
  });

  it('a missing texture is refused at setup', async () => {
    const path = join(dir, 'none.jpg');
    await expect(setupEffect(multiplyBlend, { texture: path }, 2, 2)).rejects.toThrowError(
      `Expected a readable PNG or JPEG file for multiply-blend.texture but received ${JSON.stringify(path)} (ENOENT)`,
    );
  });
});

describe('multiply-blend truth', () => {
  it('1x1: full opacity multiplies each channel by texture / 255', async () => {
    const stage = await setupEffect(multiplyBlend, { texture: await flatTexture(128, 255, 0), opacity: 100 }, 1, 1);
    const f = frameFrom(1, 1, () => [200, 100, 50, 255]);
    stage.process(f);
    expect(pixelAt(f, 0, 0)).toEqual([100, 100, 0, 255]);
  });

  it('2x2: opacity blends toward no change; alpha kept; transparent pixels untouched', async () => {
    const stage = await setupEffect(multiplyBlend, { texture: await flatTexture(64, 128, 192), opacity: 40 }, 2, 2);
    const px = [
      [200, 100, 50, 255],
      [255, 255, 255, 90],
      [0, 255, 0, 0],
      [10, 20, 30, 1],
    ] as const;
    const f = frameFrom(2, 2, (x, y) => px[y * 2 + x]);
    stage.process(f);
    for (let i = 0; i < 4; i++) {
      const got = pixelAt(f, i % 2, i >> 1);
      const [r, g, b, a] = px[i];
      if (a === 0) {
        expect(got).toEqual([r, g, b, a]);
        continue;
      }
      expect(got[3]).toBe(a);
      const want = [multiply(r, 64, 40), multiply(g, 128, 40), multiply(b, 192, 40)];
      for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(1);
    }
  });

  it("a texture's transparent parts multiply by nothing", async () => {
    const stage = await setupEffect(multiplyBlend, { texture: await flatTexture(0, 0, 0, 0), opacity: 100 }, 1, 1);
    const f = frameFrom(1, 1, () => [200, 100, 50, 255]);
    stage.process(f);
    expect(pixelAt(f, 0, 0)).toEqual([200, 100, 50, 255]);
  });

  it('a half-transparent texture multiplies by its colour laid over white', async () => {
    const stage = await setupEffect(multiplyBlend, { texture: await flatTexture(64, 128, 0, 0.5), opacity: 100 }, 1, 1);
    const f = frameFrom(1, 1, () => [200, 100, 50, 255]);
    stage.process(f);
    // Over white at alpha 128/255: t' = 255 - (128/255)(255 - t).
    const over = (t: number) => 255 - (128 / 255) * (255 - t);
    const want = [multiply(200, over(64), 100), multiply(100, over(128), 100), multiply(50, over(0), 100)];
    const got = pixelAt(f, 0, 0);
    for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(1);
    expect(got[3]).toBe(255);
  });

  it('a frame whose bytes are not 4-aligned gives the same picture', async () => {
    const plain = await setupEffect(multiplyBlend, { seed: 5 }, 40, 30);
    const odd = await setupEffect(multiplyBlend, { seed: 5 }, 40, 30);
    const a = keyedCharacter({ width: 40, height: 30, cover: 0.3 });
    const b = keyedCharacter({ width: 40, height: 30, cover: 0.3 });
    const shifted = new Uint8Array(new ArrayBuffer(b.data.length + 1), 1, b.data.length);
    shifted.set(b.data);
    b.data = shifted;
    plain.process(a);
    odd.process(b);
    expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
    expect(Buffer.from(a.data).equals(Buffer.from(keyedCharacter({ width: 40, height: 30, cover: 0.3 }).data))).toBe(false);
  });

  it('opacity 0 changes nothing and loads nothing', async () => {
    const stage = await setupEffect(multiplyBlend, { texture: join(dir, 'never-read.png'), opacity: 0 }, 1, 1);
    const f = frameFrom(1, 1, () => [200, 100, 50, 255]);
    stage.process(f);
    expect(pixelAt(f, 0, 0)).toEqual([200, 100, 50, 255]);
  });
});

describe('multiply-blend golden and bounds', () => {
  it('procedural paper on a character: within 1 level of the definition; only inside the alpha box', async () => {
    const w = 96;
    const h = 72;
    const stage = await setupEffect(multiplyBlend, { opacity: 70, seed: 3, scale: 2 }, w, h);
    // Grey, one byte a pixel: the level of red, green and blue.
    const paper = generateTexture({ procedural: 'paper', seed: 3, scale: 2 }, { width: w, height: h });
    const src = keyedCharacter({ width: w, height: h, cover: 0.3 });
    const out = keyedCharacter({ width: w, height: h, cover: 0.3 });
    // Something outside the box that must not be touched.
    out.data[0] = 7;
    out.data[3] = 255;
    stage.process(out);
    expect(pixelAt(out, 0, 0)).toEqual([7, 255, 0, 255]);
    let darkened = 0;
    for (let p = 4; p < out.data.length; p += 4) {
      expect(out.data[p + 3]).toBe(src.data[p + 3]);
      if (src.data[p + 3] === 0) {
        expect(out.data[p + 1]).toBe(src.data[p + 1]);
        continue;
      }
      for (let c = 0; c < 3; c++) expect(Math.abs(out.data[p + c] - multiply(src.data[p + c], paper[p >> 2], 70))).toBeLessThanOrEqual(1);
      if (out.data[p] < src.data[p]) darkened++;
    }
    expect(darkened).toBeGreaterThan(500);
  });
});

describe('multiply-blend determinism and memory', () => {
  it('same options, same output', async () => {
    const a = await setupEffect(multiplyBlend, { seed: 12 }, 64, 48);
    const b = await setupEffect(multiplyBlend, { seed: 12 }, 64, 48);
    const fa = keyedCharacter({ width: 64, height: 48 });
    const fb = keyedCharacter({ width: 64, height: 48 });
    a.process(fa);
    b.process(fb);
    expect(Buffer.from(fa.data).equals(Buffer.from(fb.data))).toBe(true);
  });

  it('no heap or array-buffer growth over 1,000 apply calls', async () => {
    const stage = await setupEffect(multiplyBlend, {}, 160, 120);
    const source = keyedCharacter({ width: 160, height: 120 });
    const frame = keyedCharacter({ width: 160, height: 120 });
    const growth = growthOver(1000, () => {
      frame.data.set(source.data);
      stage.process(frame);
    });
    expect(growth.arrayBuffers).toBeLessThan(16 * 1024); // a leak of even 16 bytes per call would show
    expect(growth.heap).toBeLessThan(256 * 1024);
  });
});
