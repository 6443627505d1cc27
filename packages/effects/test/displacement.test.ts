import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeAlphaBounds, createStage, InvalidOptionError, type Frame } from '@stickerkey/core';
import { displacement } from '../src/displacement.js';
import { generateTexture } from '../src/textures.js';
import { frameFrom, growthOver, pixelAt, setupEffect } from './support/run-effect.js';
import { keyedCharacter } from './support/sticker-frames.js';

let dir: string;
/** A PNG map of one colour (R drives x, G drives y by default). */
async function flatMap(r: number, g: number, b = 128): Promise<string> {
  const path = join(dir, `map-${r}-${g}-${b}.png`);
  await sharp({ create: { width: 4, height: 4, channels: 3, background: { r, g, b } } })
    .png()
    .toFile(path);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-displacement-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const A = [200, 10, 20, 255] as const;
const B = [10, 200, 20, 255] as const;
const C = [10, 20, 200, 255] as const;
const D = [90, 90, 90, 128] as const;
const quad = (x: number, y: number) => (y === 0 ? (x === 0 ? A : B) : x === 0 ? C : D);

function run(stage: { process(f: Frame): void }, frame: Frame): Frame {
  stage.process(frame);
  return frame;
}

describe('displacement options', () => {
  it('refuses bad values with the option, the range and the value', () => {
    expect(() => createStage(displacement, { horizontal: 501 })).toThrowError(
      new InvalidOptionError('Expected number between 0 and 500 for displacement.horizontal but received 501', 'displacement.horizontal'),
    );
    expect(() => createStage(displacement, { edges: 'mirror' })).toThrowError(
      'Expected one of clamp, wrap, transparent for displacement.edges but received "mirror" of type string',
    );
    expect(() => createStage(displacement, { horizontalChannel: 'hue' })).toThrowError(
      'Expected one of red, green, blue, alpha, luminance for displacement.horizontalChannel but received "hue" of type string',
    );
    expect(() => createStage(displacement, { octaves: 2.5 })).toThrowError('Expected integer between 1 and 8 for displacement.octaves but received 2.5');
    expect(() => createStage(displacement, { map: 3 })).toThrowError('Expected string for displacement.map but received 3');
    expect(() => createStage(displacement, { amount: 3 })).toThrowError(/^Unknown option displacement\.amount; expected one of horizontal, vertical,/);
  });

  it('a missing map is refused at setup, naming the option and the path', async () => {
    const path = join(dir, 'missing.png');
    await expect(setupEffect(displacement, { map: path }, 4, 4)).rejects.toThrowError(
      `Expected a readable PNG or JPEG file for displacement.map but received ${JSON.stringify(path)} (ENOENT)`,
    );
  });

  it('margin: the reach of the largest displacement', () => {
    expect(createStage(displacement, { horizontal: 7.2, vertical: 3 }).margin).toBe(8);
    expect(createStage(displacement, { horizontal: 0, vertical: 0 }).margin).toBe(0);
  });
});

describe('displacement truth', () => {
  it('1x1: a neutral map (128) leaves the pixel as it is', async () => {
    const stage = await setupEffect(displacement, { map: await flatMap(128, 128), horizontal: 50, vertical: 50 }, 1, 1);
    const f = run(
      stage,
      frameFrom(1, 1, () => [12, 34, 56, 78]),
    );
    expect(pixelAt(f, 0, 0)).toEqual([12, 34, 56, 78]);
  });

  it('2x2: map 0 with 1 px samples one pixel to the left; clamp, wrap and transparent edges', async () => {
    const map = await flatMap(0, 128);
    const expectations = {
      clamp: [A, A, C, C],
      wrap: [B, A, D, C],
      transparent: [[0, 0, 0, 0], A, [0, 0, 0, 0], C],
    } as const;
    for (const [edges, expected] of Object.entries(expectations)) {
      const stage = await setupEffect(displacement, { map, horizontal: 1, vertical: 1, edges }, 2, 2);
      const f = run(stage, frameFrom(2, 2, quad));
      expect([pixelAt(f, 0, 0), pixelAt(f, 1, 0), pixelAt(f, 0, 1), pixelAt(f, 1, 1)], edges).toEqual(expected.map((p) => [...p]));
    }
  });

  it('2x2: the green channel drives y (map 255 with 128 px: 127 px down, clamped to the last row)', async () => {
    const stage = await setupEffect(displacement, { map: await flatMap(128, 255), horizontal: 128, vertical: 128 }, 2, 2);
    const f = run(stage, frameFrom(2, 2, quad));
    expect([pixelAt(f, 0, 0), pixelAt(f, 1, 0), pixelAt(f, 0, 1), pixelAt(f, 1, 1)]).toEqual([[...C], [...D], [...C], [...D]]);
  });

  it('channels can be swapped: blue drives x', async () => {
    const stage = await setupEffect(
      displacement,
      { map: await flatMap(128, 128, 0), horizontal: 1, vertical: 1, horizontalChannel: 'blue', edges: 'wrap' },
      2,
      2,
    );
    const f = run(stage, frameFrom(2, 2, quad));
    expect(pixelAt(f, 0, 0)).toEqual([...B]);
  });

  it('half a pixel between opaque red and transparent green: red at half alpha, no green fringe (premultiplied)', async () => {
    // Map 64 with 1 px: -0.5 px. A straight-alpha mix would give (128, 128, 0): a green-brown fringe.
    const stage = await setupEffect(displacement, { map: await flatMap(64, 128), horizontal: 1, vertical: 0, edges: 'transparent' }, 2, 1);
    const f = run(
      stage,
      frameFrom(2, 1, (x) => (x === 0 ? [255, 0, 0, 255] : [0, 255, 0, 0])),
    );
    expect(pixelAt(f, 0, 0)).toEqual([255, 0, 0, 128]); // half from the transparent border
    expect(pixelAt(f, 1, 0)).toEqual([255, 0, 0, 128]);
  });
});

/**
 * Independent reference: the same offsets (1/64 px), bilinear on premultiplied floats, clamp edges.
 * Written from the definition, not from the effect's integer code.
 */
function reference(src: Frame, map: Uint8Array, maxX: number, maxY: number): Float64Array {
  const { width: w, height: h, data } = src;
  const out = new Float64Array(w * h * 4);
  const at = (x: number, y: number, c: number) => {
    const xc = Math.min(w - 1, Math.max(0, x));
    const yc = Math.min(h - 1, Math.max(0, y));
    const p = (yc * w + xc) * 4;
    return c === 3 ? data[p + 3] : (data[p + c] * data[p + 3]) / 255;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      const sx = x + Math.round(((map[p] - 128) / 128) * maxX * 64) / 64;
      const sy = y + Math.round(((map[p + 1] - 128) / 128) * maxY * 64) / 64;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const v = [0, 0, 0, 0];
      for (let c = 0; c < 4; c++) {
        v[c] = (1 - fx) * (1 - fy) * at(x0, y0, c) + fx * (1 - fy) * at(x0 + 1, y0, c) + (1 - fx) * fy * at(x0, y0 + 1, c) + fx * fy * at(x0 + 1, y0 + 1, c);
      }
      out[p + 3] = v[3]!;
      for (let c = 0; c < 3; c++) out[p + c] = v[3] > 0 ? (v[c] * 255) / v[3] : 0;
    }
  }
  return out;
}

describe('displacement golden (against the analytic reference)', () => {
  it('procedural noise map on a soft-edged character: within 1 level everywhere visible', async () => {
    const w = 96;
    const h = 72;
    const options = { horizontal: 5.5, vertical: 3.25, scale: 16, octaves: 2, seed: 4 };
    const stage = await setupEffect(displacement, options, w, h);
    const src = keyedCharacter({ width: w, height: h, cover: 0.3, bounds: false });
    const expected = reference(src, generateTexture({ procedural: 'noise', seed: 4, scale: 16, octaves: 2 }, { width: w, height: h }), 5.5, 3.25);
    const out = run(stage, { ...src, data: src.data.slice() });
    let worst = 0;
    let moved = 0;
    for (let p = 0; p < out.data.length; p += 4) {
      const a = expected[p + 3];
      worst = Math.max(worst, Math.abs(out.data[p + 3] - a));
      // Colour matters in proportion to alpha: compare premultiplied, in levels.
      for (let c = 0; c < 3; c++) worst = Math.max(worst, (Math.abs(out.data[p + c] - expected[p + c]) * a) / 255);
      if (out.data[p + 3] !== src.data[p + 3]) moved++;
    }
    expect(worst).toBeLessThanOrEqual(1);
    expect(moved).toBeGreaterThan(200); // the map really moved the edge
  });

  it('opaque: exactly the integer bilinear of the taps (1/64 px weights, rounded half up), on random colours', async () => {
    // The opaque path weights two bytes per multiply; this pins it to the plain 2D formula, with
    // every byte value and every fraction, where a carry between bytes would show.
    const w = 80;
    const h = 60;
    const maxX = 4.7;
    const maxY = 3.3;
    const stage = await setupEffect(displacement, { horizontal: maxX, vertical: maxY, scale: 9, octaves: 3, seed: 11 }, w, h);
    let seed = 12345;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    const src = frameFrom(w, h, () => [random(), random(), random(), 255]);
    const out = run(stage, { ...src, data: src.data.slice() });
    const map = generateTexture({ procedural: 'noise', seed: 11, scale: 9, octaves: 3 }, { width: w, height: h });
    const at = (x: number, y: number, c: number) => src.data[(Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))) * 4 + c];
    for (let y = 0, p = 0; y < h; y++) {
      for (let x = 0; x < w; x++, p += 4) {
        const fx = x * 64 + Math.round(((map[p] - 128) / 128) * maxX * 64);
        const fy = y * 64 + Math.round(((map[p + 1] - 128) / 128) * maxY * 64);
        const x0 = Math.floor(fx / 64);
        const y0 = Math.floor(fy / 64);
        const wx = fx - x0 * 64;
        const wy = fy - y0 * 64;
        const expected = [0, 1, 2].map(
          (c) =>
            ((64 - wx) * (64 - wy) * at(x0, y0, c) +
              wx * (64 - wy) * at(x0 + 1, y0, c) +
              (64 - wx) * wy * at(x0, y0 + 1, c) +
              wx * wy * at(x0 + 1, y0 + 1, c) +
              2048) >>
            12,
        );
        expect(pixelAt(out, x, y), `${x},${y}`).toEqual([...expected, 255]);
      }
    }
  });

  it('a whole-pixel map is an exact shift', async () => {
    const stage = await setupEffect(displacement, { map: await flatMap(0, 128), horizontal: 3, vertical: 3, edges: 'transparent' }, 16, 8);
    const src = frameFrom(16, 8, (x, y) => [x * 10, y * 20, 99, 255]);
    const out = run(
      stage,
      frameFrom(16, 8, (x, y) => [x * 10, y * 20, 99, 255]),
    );
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 16; x++) expect(pixelAt(out, x, y)).toEqual(x < 3 ? [0, 0, 0, 0] : pixelAt(src, x - 3, y));
    }
  });
});

describe('displacement inside the alpha bounds', () => {
  for (const edges of ['clamp', 'transparent', 'wrap'] as const) {
    it(`${edges}: the same picture as processing the whole frame, and bounds grown to cover it`, async () => {
      const w = 120;
      const h = 90;
      const options = { horizontal: 6, vertical: 6, scale: 12, edges };
      const whole = await setupEffect(displacement, options, w, h);
      const boxed = await setupEffect(displacement, options, w, h);
      // Frames in different places, so a stale scratch from the previous frame would show.
      for (const [cover, shift] of [
        [0.35, 0],
        [0.05, 30],
        [0.1, -25],
      ] as const) {
        const make = () => {
          const f = keyedCharacter({ width: w, height: h, cover });
          const g = frameFrom(w, h, (x, y) => {
            const sx = x - shift;
            const p = (y * w + Math.min(w - 1, Math.max(0, sx))) * 4;
            return sx < 0 || sx >= w ? [0, 255, 0, 0] : [f.data[p], f.data[p + 1], f.data[p + 2], f.data[p + 3]];
          });
          return g;
        };
        const a = run(whole, make());
        const bframe = make();
        bframe.alphaBounds = computeAlphaBounds(bframe, { left: 0, top: 0, right: 0, bottom: 0 });
        const b = run(boxed, bframe);
        const box = b.alphaBounds!;
        for (let y = 0, p = 0; y < h; y++) {
          for (let x = 0; x < w; x++, p += 4) {
            expect(b.data[p + 3]).toBe(a.data[p + 3]);
            if (a.data[p + 3] > 0) {
              expect([b.data[p], b.data[p + 1], b.data[p + 2]]).toEqual([a.data[p], a.data[p + 1], a.data[p + 2]]);
              expect(x >= box.left && x < box.right && y >= box.top && y < box.bottom).toBe(true);
            }
          }
        }
      }
    });
  }

  it('a frame whose bytes are not 4-aligned gives the same picture', async () => {
    const w = 40;
    const h = 30;
    const options = { horizontal: 5, vertical: 5, scale: 8 };
    const plain = await setupEffect(displacement, options, w, h);
    const odd = await setupEffect(displacement, options, w, h);
    const a = keyedCharacter({ width: w, height: h, cover: 0.3 });
    const b = keyedCharacter({ width: w, height: h, cover: 0.3 });
    const shifted = new Uint8Array(new ArrayBuffer(b.data.length + 1), 1, b.data.length);
    shifted.set(b.data);
    b.data = shifted;
    plain.process(a);
    odd.process(b);
    odd.process(b); // twice: the second frame reuses the aligned buffer made for the first
    plain.process(a);
    expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
  });

  it('sparse rows: every visible pixel is moved, wherever it lies in its row (spans are found several pixels per test)', async () => {
    // One or two visible pixels per row, at every column in turn, inside a box much wider than
    // them: a whole-pixel map makes the expected output an exact shift.
    const w = 37;
    const h = 40;
    const stage = await setupEffect(displacement, { map: await flatMap(0, 128), horizontal: 3, vertical: 3, edges: 'transparent' }, w, h);
    const visibleAt = (x: number, y: number) => x === y % w || x === (y * 7 + 3) % w;
    const colour = (x: number, y: number) => [x * 6, y * 5, 77, 100 + ((x + y) % 150)] as const;
    const make = () => frameFrom(w, h, (x, y) => (visibleAt(x, y) ? [...colour(x, y)] : [0, 255, 0, 0]));
    for (const withBounds of [false, true]) {
      const f = make();
      if (withBounds) f.alphaBounds = computeAlphaBounds(f, { left: 0, top: 0, right: 0, bottom: 0 });
      run(stage, f);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) expect(pixelAt(f, x, y), `${x},${y}`).toEqual(x >= 3 && visibleAt(x - 3, y) ? [...colour(x - 3, y)] : [0, 0, 0, 0]);
      }
    }
  });

  it('an empty alpha box is left untouched', async () => {
    const stage = await setupEffect(displacement, {}, 8, 8);
    const f = frameFrom(8, 8, () => [0, 255, 0, 0], { left: 0, top: 0, right: 0, bottom: 0 });
    run(stage, f);
    expect(pixelAt(f, 3, 3)).toEqual([0, 255, 0, 0]);
  });

  it('no green from the keyed-out screen reaches visible pixels', async () => {
    const w = 160;
    const h = 120;
    const stage = await setupEffect(displacement, { horizontal: 8, vertical: 8, scale: 10 }, w, h);
    const f = run(stage, keyedCharacter({ width: w, height: h, cover: 0.3, color: [230, 120, 40] }));
    let visible = 0;
    for (let p = 0; p < f.data.length; p += 4) {
      if (f.data[p + 3] === 0) continue;
      visible++;
      expect(f.data[p + 1]).toBeLessThanOrEqual(121); // the character's own green never exceeds 120
    }
    expect(visible).toBeGreaterThan(1000);
  });
});

describe('displacement from frame to frame', () => {
  // The scratch keeps the last frame's spans and clears only what the next frame does not cover:
  // after any sequence of frames, a frame must come out as from a stage that saw nothing before.
  const w = 120;
  const h = 90;
  const moved = (cover: number, dx: number, dy: number): Frame => {
    const f = keyedCharacter({ width: w, height: h, cover });
    const g = frameFrom(w, h, (x, y) => {
      const sx = x - dx;
      const sy = y - dy;
      if (sx < 0 || sx >= w || sy < 0 || sy >= h) return [0, 255, 0, 0];
      const p = (sy * w + sx) * 4;
      return [f.data[p], f.data[p + 1], f.data[p + 2], f.data[p + 3]];
    });
    g.alphaBounds = computeAlphaBounds(g, { left: 0, top: 0, right: 0, bottom: 0 });
    return g;
  };
  for (const edges of ['clamp', 'transparent', 'wrap'] as const) {
    it(`${edges}: each frame as from a fresh stage, whatever came before (wider, narrower, moved, empty)`, async () => {
      const options = { horizontal: 5, vertical: 5, scale: 10, edges };
      const sequence = [
        moved(0.4, 0, 0),
        moved(0.05, 30, -20),
        moved(0.08, -35, 30),
        moved(0, 0, 0),
        moved(0.3, 10, 5),
        moved(0.3, 10, 5),
        moved(0.02, -40, -30),
      ];
      const running = await setupEffect(displacement, options, w, h);
      let checked = 0;
      for (const frame of sequence) {
        const fresh = await setupEffect(displacement, options, w, h);
        const copy = frameFrom(w, h, () => [0, 0, 0, 0]);
        copy.data.set(frame.data);
        copy.alphaBounds = { ...frame.alphaBounds! };
        const a = run(running, frame);
        const b = run(fresh, copy);
        expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
        expect(a.alphaBounds).toEqual(b.alphaBounds);
        if (a.data.some((v, i) => (i & 3) === 3 && v > 0)) checked++;
      }
      expect(checked).toBe(6); // all but the empty frame had something to move
    });
  }
});

describe('displacement determinism and memory', () => {
  it('same options, same output (two jobs)', async () => {
    const options = { horizontal: 9, vertical: 4, seed: 77, scale: 20, octaves: 3 };
    const one = await setupEffect(displacement, options, 64, 48);
    const two = await setupEffect(displacement, options, 64, 48);
    const a = run(one, keyedCharacter({ width: 64, height: 48, cover: 0.3 }));
    const b = run(two, keyedCharacter({ width: 64, height: 48, cover: 0.3 }));
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
  });

  it('no heap or array-buffer growth over 1,000 apply calls', async () => {
    const stage = await setupEffect(displacement, { horizontal: 6, vertical: 6 }, 160, 120);
    const source = keyedCharacter({ width: 160, height: 120, cover: 0.2 });
    const frame = keyedCharacter({ width: 160, height: 120, cover: 0.2 });
    const bounds = { ...frame.alphaBounds! };
    const growth = growthOver(1000, () => {
      frame.data.set(source.data);
      Object.assign(frame.alphaBounds!, bounds);
      stage.process(frame);
    });
    expect(growth.arrayBuffers).toBeLessThan(16 * 1024); // a leak of even 16 bytes per call would show
    expect(growth.heap).toBeLessThan(256 * 1024);
  });
});
