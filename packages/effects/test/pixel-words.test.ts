import { describe, expect, it } from 'vitest';
import {
  A_SHIFT,
  B_SHIFT,
  G_SHIFT,
  PixelWords,
  R_SHIFT,
  addGreyRows,
  blendThroughTable,
  clampChannel,
  greyPlane,
  mul255,
  multiplyGreyRows,
  textureWords,
  toByte,
} from '../src/internal/pixel-words.js';

const word = (r: number, g: number, b: number, a: number): number => ((r << R_SHIFT) | (g << G_SHIFT) | (b << B_SHIFT) | (a << A_SHIFT)) >>> 0;

describe('PixelWords', () => {
  it('aligned bytes: a view on the same memory, made once per buffer', () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const words = new PixelWords();
    const px = words.acquire(bytes);
    expect(px[0]).toBe(word(1, 2, 3, 4));
    px[1] = word(9, 10, 11, 12);
    words.release(bytes, px);
    expect([...bytes]).toEqual([1, 2, 3, 4, 9, 10, 11, 12]);
    expect(words.acquire(bytes)).toBe(px);
  });

  it('unaligned bytes: a copy, written back by release', () => {
    const backing = new Uint8Array(9);
    const bytes = new Uint8Array(backing.buffer, 1, 8);
    bytes.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const words = new PixelWords();
    const px = words.acquire(bytes);
    expect(px[1]).toBe(word(5, 6, 7, 8));
    px[0] = word(0, 0, 0, 255);
    expect([...bytes.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
    words.release(bytes, px);
    expect([...bytes]).toEqual([0, 0, 0, 255, 5, 6, 7, 8]);
    expect(backing[0]).toBe(0);
  });

  it('textureWords reads unaligned textures from a copy, never writing to them', () => {
    const backing = new Uint8Array(5);
    const bytes = new Uint8Array(backing.buffer, 1, 4);
    bytes.set([10, 20, 30, 40]);
    const px = textureWords(bytes);
    expect(px[0]).toBe(word(10, 20, 30, 40));
    px[0] = 0;
    expect([...bytes]).toEqual([10, 20, 30, 40]);
  });

  it('toByte rounds to the nearest byte and clamps; clampChannel clamps without rounding', () => {
    expect([-3, -0.2, 0, 0.49, 0.5, 127.5, 254.4, 254.6, 255, 300].map(toByte)).toEqual([0, 0, 0, 0, 1, 128, 254, 255, 255, 255]);
    expect([-3, 0, 12.25, 254.9, 255, 300].map(clampChannel)).toEqual([0, 0, 12.25, 254.9, 255, 255]);
  });
});

describe('grey blends', () => {
  // Every (colour, texture level) pair once per channel: colour c on red, (c + 85) % 256 on green,
  // (c + 170) % 256 on blue, alpha 1..255 varying (and 0 on a few pixels, which stay untouched).
  const width = 256;
  const height = 256;
  const pixels = (): Uint32Array => {
    const px = new Uint32Array(width * height);
    for (let t = 0, i = 0; t < height; t++)
      for (let c = 0; c < width; c++, i++) px[i] = word(c, (c + 85) & 255, (c + 170) & 255, (c * 7 + t) % 17 === 0 ? 0 : 1 + ((c + t) % 255));
    return px;
  };
  const texture = new Uint32Array(width * height);
  for (let t = 0, i = 0; t < height; t++) for (let c = 0; c < width; c++, i++) texture[i] = word(t, t, t, 255);
  const spans = { left: new Int32Array(height), right: new Int32Array(height).fill(width) };

  it.each([10, 45, 50, 100])('multiply at opacity %i: the same words as the table of products', (opacity) => {
    const factors = new Uint8Array(256);
    const product = new Uint8Array(65536);
    for (let t = 0; t < 256; t++) {
      factors[t] = Math.round(255 - (opacity / 100) * (255 - t));
      for (let c = 0; c < 256; c++) product[(t << 8) | c] = mul255(c, factors[t]);
    }
    const expected = pixels();
    blendThroughTable(expected, texture, product, width, spans, 0, height);
    const actual = pixels();
    multiplyGreyRows(actual, greyPlane(texture, factors)!, width, spans, 0, height);
    expect(actual).toEqual(expected);
    expect(actual).not.toEqual(pixels()); // something was blended
  });

  it.each([20, 25, 100])('add at opacity %i: the same words as the table of sums, saturating', (opacity) => {
    const amount = new Uint8Array(256);
    const sum = new Uint8Array(65536);
    for (let t = 0; t < 256; t++) {
      amount[t] = Math.round((opacity / 100) * t);
      for (let c = 0; c < 256; c++) sum[(t << 8) | c] = Math.min(255, c + amount[t]);
    }
    const expected = pixels();
    blendThroughTable(expected, texture, sum, width, spans, 0, height);
    const actual = pixels();
    addGreyRows(actual, greyPlane(texture, amount)!, width, spans, 0, height);
    expect(actual).toEqual(expected);
    expect(actual.some((v) => ((v >>> R_SHIFT) & 255) === 255 && ((v >>> A_SHIFT) & 255) !== 0)).toBe(true); // saturated somewhere
  });

  it('greyPlane: null for a texture with any colour', () => {
    const coloured = texture.slice();
    coloured[1000] = word(10, 10, 11, 255);
    expect(greyPlane(coloured, new Uint8Array(256))).toBeNull();
    expect(
      greyPlane(
        texture,
        new Uint8Array(256).map((_, v) => 255 - v),
      )![3 * width],
    ).toBe(252);
  });
});
