import { describe, expect, it } from 'vitest';
import { A_SHIFT, B_SHIFT, G_SHIFT, PixelWords, R_SHIFT, clampChannel, textureWords, toByte } from '../src/internal/pixel-words.js';

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
