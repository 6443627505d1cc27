import { describe, expect, it } from 'vitest';
import { createStage, InvalidOptionError } from '@stickerkey/core';
import { dropShadow } from '../src/drop-shadow.js';
import { frameFrom, growthOver, pixelAt, setupEffect } from './support/run-effect.js';
import { cloneFrame, greenExcess, keyedCharacter } from './support/sticker-frames.js';

const GREEN = [0, 255, 0, 0] as const;

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf), for the blurred-edge profile. */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

describe('drop-shadow options', () => {
  it('refuses values out of range with the exact message', () => {
    expect(() => createStage(dropShadow, { opacity: 150 })).toThrow(
      new InvalidOptionError('Expected number between 0 and 100 for drop-shadow.opacity but received 150', 'drop-shadow.opacity'),
    );
    expect(() => createStage(dropShadow, { distance: -3 })).toThrow('Expected number between 0 and 1000 for drop-shadow.distance but received -3');
    expect(() => createStage(dropShadow, { softness: 'NaN' })).toThrow(
      'Expected number between 0 and 250 for drop-shadow.softness but received "NaN" of type string',
    );
    expect(() => createStage(dropShadow, { shadowOnly: 'yes' })).toThrow('Expected boolean for drop-shadow.shadowOnly but received "yes" of type string');
    expect(() => createStage(dropShadow, { color: '#12345' })).toThrow('Expected colour as #rrggbb for drop-shadow.color but received "#12345" of type string');
    expect(() => createStage(dropShadow, { angle: 45 })).toThrow(
      'Unknown option drop-shadow.angle; expected one of color, opacity, direction, distance, softness, shadowOnly',
    );
  });

  it('accepts values as text (CLI flags) and declares a margin covering offset and blur', () => {
    expect(() => createStage(dropShadow, { opacity: '40', shadowOnly: 'true' })).not.toThrow();
    const sharp = createStage(dropShadow, { distance: 10, direction: 90, softness: 0 });
    expect(sharp.margin).toBe(10 + 2); // offset + bilinear read-back ring
    // Three boxes have a finite support (about 2.3 sigma here), which the margin must cover.
    const soft = createStage(dropShadow, { distance: 10, direction: 90, softness: 6 });
    expect(soft.margin).toBeGreaterThanOrEqual(10 + 2 * 6);
  });
});

describe('drop-shadow truth tables', () => {
  it('1x1: an opaque pixel hides its own shadow; a transparent one stays transparent', async () => {
    const stage = await setupEffect(dropShadow, { distance: 0, softness: 0 }, 1, 1);
    const f = frameFrom(1, 1, () => [10, 20, 30, 255]);
    stage.process(f);
    expect(pixelAt(f, 0, 0)).toEqual([10, 20, 30, 255]);
    const g = frameFrom(1, 1, () => GREEN);
    stage.process(g);
    expect(pixelAt(g, 0, 0)[3]).toBe(0);
  });

  it('2x2: a hard shadow one pixel to the right, at 50%', async () => {
    const stage = await setupEffect(dropShadow, { distance: 1, direction: 90, softness: 0, opacity: 50, color: '#102030' }, 2, 2);
    const f = frameFrom(2, 2, (x, y) => (x === 0 && y === 0 ? [200, 100, 50, 255] : GREEN));
    stage.process(f);
    expect(pixelAt(f, 0, 0)).toEqual([200, 100, 50, 255]);
    expect(pixelAt(f, 1, 0)).toEqual([16, 32, 48, 128]);
    expect(pixelAt(f, 0, 1)[3]).toBe(0);
    expect(pixelAt(f, 1, 1)[3]).toBe(0);
  });

  it('2x2: shadow under a half-transparent pixel (premultiplied over), and shadow only', async () => {
    const opts = { distance: 0, softness: 0, opacity: 100, color: '#0000ff' };
    const stage = await setupEffect(dropShadow, opts, 2, 2);
    const f = frameFrom(2, 2, (x, y) => (x === 1 && y === 1 ? [255, 0, 0, 102] : GREEN));
    stage.process(f);
    // Shadow alpha 102 under alpha 102: A = 102 + 102 * 153/255 = 163.2; C = (255*102, 0, 255*61.2) / 163.2
    expect(pixelAt(f, 1, 1)).toEqual([159, 0, 96, 163]);
    const only = await setupEffect(dropShadow, { ...opts, distance: 1, direction: 180, shadowOnly: true }, 2, 2);
    const g = frameFrom(2, 2, (x, y) => (x === 0 && y === 0 ? [255, 0, 0, 255] : GREEN));
    only.process(g);
    expect(pixelAt(g, 0, 0)[3]).toBe(0); // the character is gone
    expect(pixelAt(g, 0, 1)).toEqual([0, 0, 255, 255]); // direction 180: straight down
    expect(pixelAt(g, 1, 0)[3]).toBe(0);
  });
});

describe('drop-shadow golden', () => {
  it('a hard shadow is the character alpha, shifted and scaled by opacity', async () => {
    const w = 40,
      h = 30;
    const inside = (x: number, y: number) => x >= 5 && x < 15 && y >= 4 && y < 12;
    const stage = await setupEffect(dropShadow, { distance: 10, direction: 135, softness: 0, opacity: 60 }, w, h);
    const f = frameFrom(w, h, (x, y) => (inside(x, y) ? [250, 200, 100, 255] : GREEN), { left: 5, top: 4, right: 15, bottom: 12 });
    stage.process(f);
    const d = Math.round(10 * Math.SQRT1_2);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const px = pixelAt(f, x, y);
        if (inside(x, y)) expect(px).toEqual([250, 200, 100, 255]);
        else if (inside(x - d, y - d)) expect(px).toEqual([0, 0, 0, 153]);
        else expect(px[3]).toBe(0);
      }
  });

  it('a soft shadow keeps its mass and offset and follows a gaussian edge profile', async () => {
    const w = 200,
      h = 120;
    const sigma = 5;
    const inside = (x: number, y: number) => x >= 40 && x < 90 && y >= 30 && y < 80;
    const stage = await setupEffect(dropShadow, { distance: 40, direction: 90, softness: sigma, opacity: 100, shadowOnly: true }, w, h);
    const f = frameFrom(w, h, (x, y) => (inside(x, y) ? [250, 200, 100, 255] : GREEN));
    stage.process(f);
    let mass = 0;
    let cx = 0;
    let cy = 0;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const a = pixelAt(f, x, y)[3] / 255;
        mass += a;
        cx += a * (x + 0.5);
        cy += a * (y + 0.5);
      }
    expect(Math.abs(mass - 50 * 50) / 2500).toBeLessThan(0.02);
    expect(Math.abs(cx / mass - (65 + 40))).toBeLessThan(0.6);
    expect(Math.abs(cy / mass - 55)).toBeLessThan(0.6);
    // Across the shadow's left edge (x = 80) in the middle row: Phi((x + 0.5 - 80) / sigma).
    for (let x = 66; x < 95; x++) {
      const a = pixelAt(f, x, 55)[3] / 255;
      expect(Math.abs(a - phi((x + 0.5 - 80) / sigma))).toBeLessThan(0.04);
    }
  });

  it('same pixels with and without alpha bounds; bounds grow to cover the shadow', async () => {
    for (const softness of [0, 1, 4]) {
      const w = 140,
        h = 100;
      const stage = await setupEffect(dropShadow, { distance: 12, softness }, w, h);
      const a = keyedCharacter({ width: w, height: h, cover: 0.15 });
      const b = cloneFrame(a);
      delete b.alphaBounds;
      stage.process(a);
      stage.process(b);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
      // Nothing visible outside the new bounds.
      const ab = a.alphaBounds!;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) if (x < ab.left || x >= ab.right || y < ab.top || y >= ab.bottom) expect(pixelAt(a, x, y)[3]).toBe(0);
    }
  });

  it('a character one or two pixels wide casts its soft shadow (the half-resolution grid once looped forever on it)', async () => {
    for (const wide of [1, 2]) {
      const stage = await setupEffect(dropShadow, { softness: 6, distance: 0, opacity: 100 }, 40, 40);
      const f = frameFrom(40, 40, (x, y) => (x >= 10 && x < 10 + wide && y >= 10 && y < 20 ? [200, 100, 50, 255] : [...GREEN]));
      stage.process(f);
      expect(pixelAt(f, 10, 15)).toEqual([200, 100, 50, 255]);
      expect(pixelAt(f, 7, 15)[3]).toBeGreaterThan(0);
      expect(pixelAt(f, 12 + wide, 15)[3]).toBeGreaterThan(0);
    }
  });
});

describe('drop-shadow fringe', () => {
  it('no green and no dark fringe over white or black', async () => {
    const w = 160,
      h = 120;
    // A white shadow makes a dark fringe visible: every visible pixel mixes orange and white only.
    const stage = await setupEffect(dropShadow, { color: '#ffffff', opacity: 100, softness: 3, distance: 6 }, w, h);
    const source = keyedCharacter({ width: w, height: h });
    const f = cloneFrame(source);
    stage.process(f);
    expect(greenExcess(f, [255, 255, 255])).toBeLessThanOrEqual(1);
    expect(greenExcess(f, [0, 0, 0])).toBeLessThanOrEqual(1);
    let visible = 0;
    for (let p = 0; p < f.data.length; p += 4) {
      if (f.data[p + 3] === 0) continue;
      visible++;
      const out = [f.data[p], f.data[p + 1], f.data[p + 2]];
      if (source.data[p + 3] === 0) {
        // Pure shadow where the character was not: white, whatever garbage was there.
        expect(out).toEqual([255, 255, 255]);
      } else {
        // Character mixed with white: never darker than the character itself.
        for (let c = 0; c < 3; c++) expect(out[c]).toBeGreaterThanOrEqual(source.data[p + c] - 1);
      }
    }
    expect(visible).toBeGreaterThan(1000);
  });
});

describe('drop-shadow determinism and memory', () => {
  it('same input, same output', async () => {
    const a = await setupEffect(dropShadow, {}, 96, 64);
    const b = await setupEffect(dropShadow, {}, 96, 64);
    const fa = keyedCharacter({ width: 96, height: 64 });
    const fb = keyedCharacter({ width: 96, height: 64 });
    a.process(fa);
    b.process(fb);
    expect(Buffer.from(fa.data).equals(Buffer.from(fb.data))).toBe(true);
  });

  it('a frame comes out the same whatever the stage processed before (nothing of a bigger shadow left behind)', async () => {
    // The shadow matte is kept between frames and cleared only where the last frame wrote.
    const w = 160,
      h = 120;
    const covers = [1.3, 0.05, 0.6, 0, 0.3, 0.02];
    for (const opts of [{}, { softness: 0 }, { shadowOnly: true }, { distance: 30, direction: 300, softness: 9 }]) {
      const reused = await setupEffect(dropShadow, opts, w, h);
      for (const cover of covers) {
        const source = keyedCharacter({ width: w, height: h, cover });
        const fresh = cloneFrame(source);
        (await setupEffect(dropShadow, opts, w, h)).process(fresh);
        const again = cloneFrame(source);
        reused.process(again);
        expect(Buffer.from(again.data).equals(Buffer.from(fresh.data))).toBe(true);
        expect(again.alphaBounds).toEqual(fresh.alphaBounds);
      }
    }
  });

  it('no heap or array-buffer growth over 1,000 apply calls', async () => {
    for (const opts of [{}, { softness: 0, shadowOnly: true }]) {
      const stage = await setupEffect(dropShadow, opts, 160, 120);
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
    }
  });
});
