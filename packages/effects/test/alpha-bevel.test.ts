import { describe, expect, it } from 'vitest';
import { createStage, InvalidOptionError } from '@stickerkey/core';
import { alphaBevel } from '../src/alpha-bevel.js';
import { frameFrom, growthOver, pixelAt, setupEffect } from './support/run-effect.js';
import { cloneFrame, greenExcess, keyedCharacter } from './support/sticker-frames.js';

const GREEN = [0, 255, 0, 0] as const;

describe('alpha-bevel options', () => {
  it('refuses bad values with the exact message', () => {
    expect(() => createStage(alphaBevel, { lightIntensity: 1.5 })).toThrow(
      new InvalidOptionError('Expected number between 0 and 1 for alpha-bevel.lightIntensity but received 1.5', 'alpha-bevel.lightIntensity'),
    );
    expect(() => createStage(alphaBevel, { edgeThickness: 101 })).toThrow('Expected number between 0 and 100 for alpha-bevel.edgeThickness but received 101');
    expect(() => createStage(alphaBevel, { lightColor: 'red' })).toThrow('Expected colour as #rrggbb for alpha-bevel.lightColor but received "red" of type string');
    expect(() => createStage(alphaBevel, { lightAngle: null })).toThrow('Expected number between -360 and 360 for alpha-bevel.lightAngle but received null');
    expect(createStage(alphaBevel, {}).margin).toBe(0);
  });
});

describe('alpha-bevel truth tables', () => {
  it('1x1: no edge inside the frame, nothing changes', async () => {
    const stage = await setupEffect(alphaBevel, {}, 1, 1);
    for (const px of [[10, 20, 30, 255], [...GREEN]] as const) {
      const f = frameFrom(1, 1, () => px);
      stage.process(f);
      expect(pixelAt(f, 0, 0)).toEqual([...px]);
    }
  });

  it('2x2: an edge lit from its side brightens towards the light colour, from the other side darkens', async () => {
    const make = () => frameFrom(2, 2, (x) => (x === 0 ? [100, 100, 100, 255] : GREEN));
    const lit = await setupEffect(alphaBevel, { lightAngle: 90, lightColor: '#ff0000', lightIntensity: 1 }, 2, 2);
    const dark = await setupEffect(alphaBevel, { lightAngle: -90, lightIntensity: 1 }, 2, 2);
    const a = make();
    const b = make();
    lit.process(a);
    dark.process(b);
    for (const y of [0, 1]) {
      const [r, g, bl, al] = pixelAt(a, 0, y);
      expect(r).toBeGreaterThan(100); // towards red
      expect(g).toBeLessThan(100);
      expect(g).toBe(bl);
      expect(al).toBe(255);
      expect(pixelAt(b, 0, y)[0]).toBeLessThan(100);
      expect(pixelAt(a, 1, y)).toEqual([...GREEN]);
      expect(pixelAt(b, 1, y)).toEqual([...GREEN]);
    }
  });
});

describe('alpha-bevel golden', () => {
  // Opaque left of x = 20, transparent right of it: heights 20 - x, capped at the thickness.
  const w = 40, h = 24;
  const edge = () => frameFrom(w, h, (x) => (x < 20 ? [100, 100, 100, 255] : GREEN), { left: 0, top: 0, right: 20, bottom: h });

  it('a straight edge facing the light: the slope gets exactly intensity x light colour', async () => {
    const stage = await setupEffect(alphaBevel, { edgeThickness: 10, lightAngle: 90, lightIntensity: 0.5, lightColor: '#ffffff' }, w, h);
    const f = edge();
    stage.process(f);
    for (let y = 0; y < h; y++) {
      for (let x = 12; x <= 18; x++) expect(pixelAt(f, x, y)).toEqual([178, 178, 178, 255]); // 100 + 155 * 0.5
      for (let x = 0; x <= 6; x++) expect(pixelAt(f, x, y)).toEqual([100, 100, 100, 255]); // the flat top
      for (let x = 20; x < w; x++) expect(pixelAt(f, x, y)).toEqual([...GREEN]);
    }
  });

  it('the same edge facing away darkens by the intensity; a light along the edge does nothing', async () => {
    const away = await setupEffect(alphaBevel, { edgeThickness: 10, lightAngle: -90, lightIntensity: 0.5 }, w, h);
    const f = edge();
    away.process(f);
    for (let x = 12; x <= 18; x++) expect(pixelAt(f, x, 12)).toEqual([50, 50, 50, 255]);
    const along = await setupEffect(alphaBevel, { edgeThickness: 10, lightAngle: 0, lightIntensity: 0.5 }, w, h);
    const g = edge();
    along.process(g);
    for (let x = 0; x < 20; x++) expect(pixelAt(g, x, 12)).toEqual([100, 100, 100, 255]);
  });

  it('gives the same pixels with or without alpha bounds', async () => {
    const stage = await setupEffect(alphaBevel, { edgeThickness: 4 }, 160, 120);
    const a = keyedCharacter({ width: 160, height: 120, cover: 0.3 });
    const b = cloneFrame(a);
    delete b.alphaBounds;
    stage.process(a);
    stage.process(b);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
  });
});

describe('alpha-bevel fringe', () => {
  it('no green over white or black; alpha and transparent pixels untouched; soft edges are lit too', async () => {
    const w = 160, h = 120;
    const stage = await setupEffect(alphaBevel, { lightIntensity: 0.8 }, w, h);
    const source = keyedCharacter({ width: w, height: h });
    const f = cloneFrame(source);
    stage.process(f);
    expect(greenExcess(f, [255, 255, 255])).toBeLessThanOrEqual(1);
    expect(greenExcess(f, [0, 0, 0])).toBeLessThanOrEqual(1);
    let softChanged = 0;
    for (let p = 0; p < f.data.length; p += 4) {
      const a = source.data[p + 3]!;
      expect(f.data[p + 3]).toBe(a);
      if (a === 0) expect([f.data[p], f.data[p + 1], f.data[p + 2]]).toEqual([0, 255, 0]);
      else if (a < 255 && f.data[p] !== source.data[p]) softChanged++;
    }
    expect(softChanged).toBeGreaterThan(20);
  });
});

describe('alpha-bevel determinism and memory', () => {
  it('same input, same output', async () => {
    const a = await setupEffect(alphaBevel, {}, 96, 64);
    const b = await setupEffect(alphaBevel, {}, 96, 64);
    const fa = keyedCharacter({ width: 96, height: 64 });
    const fb = keyedCharacter({ width: 96, height: 64 });
    a.process(fa);
    b.process(fb);
    expect(Buffer.from(fa.data).equals(Buffer.from(fb.data))).toBe(true);
  });

  it('no heap or array-buffer growth over 1,000 apply calls', async () => {
    const stage = await setupEffect(alphaBevel, {}, 160, 120);
    const source = keyedCharacter({ width: 160, height: 120 });
    const frame = cloneFrame(source);
    const growth = growthOver(1000, () => {
      frame.data.set(source.data);
      stage.process(frame);
    });
    expect(growth.arrayBuffers).toBeLessThan(16 * 1024);
    expect(growth.heap).toBeLessThan(256 * 1024);
  });
});
