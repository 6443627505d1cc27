import { describe, expect, it } from 'vitest';
import { computeAlphaBounds, createStage, InvalidOptionError, type Frame } from '@stickerkey/core';
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
    expect(() => createStage(alphaBevel, { lightColor: 'red' })).toThrow(
      'Expected colour as #rrggbb for alpha-bevel.lightColor but received "red" of type string',
    );
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
  const w = 40,
    h = 24;
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

describe('alpha-bevel model', () => {
  /**
   * The model evaluated directly, in doubles: heights from a brute-force distance to the nearest
   * transparent pixel (alpha < 128) plus the pixel's own alpha, capped at the thickness; the 5x5
   * smoothed Sobel, clamped at the frame's edge; then the lighting. Returns the expected colours.
   */
  function bevelModel(f: Frame, t: number, angleDeg: number, intensity: number, light: readonly number[]): Uint8Array {
    const { width: w, height: h, data } = f;
    const heights = new Float64Array(w * h);
    const reach = Math.ceil(t) + 2;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let d2 = Infinity;
        for (let j = Math.max(0, y - reach); j <= Math.min(h - 1, y + reach); j++)
          for (let i = Math.max(0, x - reach); i <= Math.min(w - 1, x + reach); i++)
            if (data[(j * w + i) * 4 + 3] < 128) d2 = Math.min(d2, (i - x) ** 2 + (j - y) ** 2);
        heights[y * w + x] = Math.min(t, Math.max(0, Math.sqrt(d2) - 1) + data[(y * w + x) * 4 + 3] / 255);
      }
    const smooth = [1, 3, 4, 3, 1];
    const derive = [-1, -1, 0, 1, 1];
    const lx = Math.sin((angleDeg * Math.PI) / 180);
    const ly = -Math.cos((angleDeg * Math.PI) / 180);
    const out = data.slice();
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 4;
        if (data[p + 3] === 0) continue;
        let gx = 0;
        let gy = 0;
        for (let j = 0; j < 5; j++)
          for (let i = 0; i < 5; i++) {
            const hh = heights[Math.min(h - 1, Math.max(0, y + j - 2)) * w + Math.min(w - 1, Math.max(0, x + i - 2))];
            gx += (smooth[j] * derive[i] * hh) / 72;
            gy += (derive[j] * smooth[i] * hh) / 72;
          }
        const facing = -(gx * lx + gy * ly);
        for (let c = 0; c < 3; c++) {
          const v = data[p + c];
          if (facing > 0) out[p + c] = Math.floor(v + (light[c] - v) * Math.min(1, facing) * intensity + 0.5);
          else if (facing < 0) out[p + c] = Math.floor(v * (1 - Math.min(1, -facing) * intensity) + 0.5);
        }
      }
    return out;
  }

  // A ring (its hole gives rows two runs, its body an inside the distances skip) and a disc cut by
  // the frame's corner (windows clamped at the edge), soft-edged, with colour ramps.
  function character(): Frame {
    const f = frameFrom(96, 72, (x, y) => {
      const ring = Math.min(30.5 - Math.hypot(x - 52, y - 37), Math.hypot(x - 52, y - 37) - 9.5);
      const corner = 12.5 - Math.hypot(x - 3, y - 5);
      const a = Math.round(255 * Math.min(1, Math.max(0, Math.max(ring, corner) + 0.5)));
      return a === 0 ? [0, 255, 0, 0] : [40 + x * 2, 90 + y, 230 - y * 2, a];
    });
    f.alphaBounds = computeAlphaBounds(f, { left: 0, top: 0, right: 0, bottom: 0 });
    return f;
  }

  it.each([
    [3, -60, 0.6],
    [6.5, 135, 1],
  ])('matches a direct evaluation of the model within one level, thickness %f, light %i deg', async (t, angle, intensity) => {
    const stage = await setupEffect(alphaBevel, { edgeThickness: t, lightAngle: angle, lightIntensity: intensity, lightColor: '#ffe0a0' }, 96, 72);
    for (const withBounds of [true, false]) {
      const f = character();
      if (!withBounds) delete f.alphaBounds;
      const source = f.data.slice();
      const want = bevelModel(f, t, angle, intensity, [255, 224, 160]);
      stage.process(f);
      let lit = 0;
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(f.data[i] - want[i]));
        if (want[i] !== source[i]) lit++;
      }
      expect(worst).toBeLessThanOrEqual(1);
      expect(lit).toBeGreaterThan(1000);
    }
  });
});

describe('alpha-bevel fringe', () => {
  it('no green over white or black; alpha and transparent pixels untouched; soft edges are lit too', async () => {
    const w = 160,
      h = 120;
    const stage = await setupEffect(alphaBevel, { lightIntensity: 0.8 }, w, h);
    const source = keyedCharacter({ width: w, height: h });
    const f = cloneFrame(source);
    stage.process(f);
    expect(greenExcess(f, [255, 255, 255])).toBeLessThanOrEqual(1);
    expect(greenExcess(f, [0, 0, 0])).toBeLessThanOrEqual(1);
    let softChanged = 0;
    for (let p = 0; p < f.data.length; p += 4) {
      const a = source.data[p + 3];
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
