import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStage, InvalidOptionError } from '@stickerkey/core';
import { addBlend } from '../src/add-blend.js';
import { generateTexture, textureCacheStats } from '../src/textures.js';
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
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-add-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The definition: min(255, c + opacity * s * texture alpha). */
const add = (c: number, s: number, opacity: number, ta = 255): number => Math.min(255, c + (opacity / 100) * s * (ta / 255));

describe('add-blend options', () => {
  it('refuses bad values with the option, the range and the value', () => {
    expect(() => createStage(addBlend, { opacity: -1 })).toThrowError(
      new InvalidOptionError('Expected number between 0 and 100 for add-blend.opacity but received -1', 'add-blend.opacity'),
    );
    expect(() => createStage(addBlend, { source: 'gradient' })).toThrowError(
      'Expected one of texture, color for add-blend.source but received "gradient" of type string',
    );
    expect(() => createStage(addBlend, { color: 'white' })).toThrowError('Expected colour as #rrggbb for add-blend.color but received "white" of type string');
  });

  it('draws nothing outside the character: no margin', () => {
    expect(createStage(addBlend, {}).margin).toBe(0);
  });
});

describe('add-blend truth', () => {
  it('1x1 colour: adds opacity * colour, clamps at 255, keeps alpha', async () => {
    const stage = await setupEffect(addBlend, { source: 'color', color: '#ff4080', opacity: 50 }, 1, 1);
    const f = frameFrom(1, 1, () => [200, 10, 100, 128]);
    stage.process(f);
    expect(pixelAt(f, 0, 0)).toEqual([255, 42, 164, 128]);
  });

  it('colour mode loads no texture', async () => {
    const before = textureCacheStats();
    await setupEffect(addBlend, { source: 'color', texture: join(dir, 'never.png') }, 3, 3);
    const after = textureCacheStats();
    expect(after.decodes + after.generated).toBe(before.decodes + before.generated);
  });

  it('2x2 texture: only where alpha > 0; texture alpha weights the addition', async () => {
    const stage = await setupEffect(addBlend, { texture: await flatTexture(100, 200, 40, 0.5), opacity: 80 }, 2, 2);
    const px = [
      [10, 20, 30, 255],
      [250, 250, 250, 255],
      [0, 255, 0, 0],
      [100, 0, 50, 3],
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
      const want = [add(r, 100, 80, 128), add(g, 200, 80, 128), add(b, 40, 80, 128)];
      for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(1);
    }
    expect(pixelAt(f, 1, 0).slice(0, 3)).toEqual([255, 255, 255]);
  });
});

describe('add-blend golden', () => {
  it('procedural grain on a character: within 1 level of the definition', async () => {
    const w = 96;
    const h = 72;
    const stage = await setupEffect(addBlend, { opacity: 60, seed: 8 }, w, h);
    // Grey, one byte a pixel: the level of red, green and blue.
    const grain = generateTexture({ procedural: 'grain', seed: 8, scale: 1 }, { width: w, height: h });
    const src = keyedCharacter({ width: w, height: h, cover: 0.3 });
    const out = keyedCharacter({ width: w, height: h, cover: 0.3 });
    stage.process(out);
    let brightened = 0;
    for (let p = 0; p < out.data.length; p += 4) {
      expect(out.data[p + 3]).toBe(src.data[p + 3]);
      if (src.data[p + 3] === 0) continue;
      for (let c = 0; c < 3; c++) expect(Math.abs(out.data[p + c] - add(src.data[p + c], grain[p >> 2], 60))).toBeLessThanOrEqual(1);
      if (out.data[p + 2] > src.data[p + 2]) brightened++;
    }
    expect(brightened).toBeGreaterThan(500);
  });
});

describe('add-blend determinism and memory', () => {
  it('same options, same output', async () => {
    const a = await setupEffect(addBlend, { seed: 2 }, 64, 48);
    const b = await setupEffect(addBlend, { seed: 2 }, 64, 48);
    const fa = keyedCharacter({ width: 64, height: 48 });
    const fb = keyedCharacter({ width: 64, height: 48 });
    a.process(fa);
    b.process(fb);
    expect(Buffer.from(fa.data).equals(Buffer.from(fb.data))).toBe(true);
  });

  for (const source of ['texture', 'color'] as const) {
    it(`${source}: no heap or array-buffer growth over 1,000 apply calls`, async () => {
      const stage = await setupEffect(addBlend, { source }, 160, 120);
      const src = keyedCharacter({ width: 160, height: 120 });
      const frame = keyedCharacter({ width: 160, height: 120 });
      const growth = growthOver(1000, () => {
        frame.data.set(src.data);
        stage.process(frame);
      });
      expect(growth.arrayBuffers).toBeLessThan(16 * 1024); // a leak of even 16 bytes per call would show
      expect(growth.heap).toBeLessThan(256 * 1024);
    });
  }
});
