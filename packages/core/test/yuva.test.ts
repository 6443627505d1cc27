import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeAlphaBounds, ffmpegBinary, YuvaConverter, yuva420pBytes, type Frame } from '../src/index.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const width = 96;
const height = 64;

/** Smooth colour ramps (so that chroma filters agree), opaque, with a partly transparent band. */
function gradient(): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p += 4) {
      data[p] = Math.round((x / (width - 1)) * 255);
      data[p + 1] = Math.round((y / (height - 1)) * 255);
      data[p + 2] = 255 - Math.round(((x + y) / (width + height - 2)) * 255);
      data[p + 3] = y >= 40 && y < 48 ? 128 : 255;
    }
  }
  return data;
}

/** A transparent frame with an opaque rectangle of one colour: what a keyed sticker frame looks like. */
function sticker(box: { left: number; top: number; right: number; bottom: number }, rgb: [number, number, number]): Frame {
  const data = new Uint8Array(width * height * 4);
  for (let y = box.top; y < box.bottom; y++) for (let x = box.left; x < box.right; x++) data.set([...rgb, 255], (y * width + x) * 4);
  const frame: Frame = { data, width, height, index: 0, pts: 0 };
  frame.alphaBounds = computeAlphaBounds(frame, { left: 0, top: 0, right: 0, bottom: 0 });
  return frame;
}

function maxDifference(a: Uint8Array, b: Uint8Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('YuvaConverter', () => {
  it('converts as ffmpeg does (BT.709, limited range): luma within 1, chroma within 2 on smooth colour, alpha exact', async () => {
    const rgba = gradient();
    const input = join(dir, 'gradient.rgba');
    const output = join(dir, 'gradient.yuva');
    await writeFile(input, rgba);
    // prettier-ignore
    await run(ffmpegBinary(), [
      '-v', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${width}x${height}`, '-i', input,
      '-vf', 'scale=out_color_matrix=bt709:out_range=tv,format=yuva420p',
      '-f', 'rawvideo', '-pix_fmt', 'yuva420p', output,
    ]);
    const theirs = new Uint8Array(await readFile(output));
    const converter = new YuvaConverter({ width, height });
    const ours = converter.convert({ data: rgba.slice(), width, height, index: 0, pts: 0 });
    expect(ours.length).toBe(yuva420pBytes({ width, height }));
    expect(theirs.length).toBe(ours.length);
    const luma = width * height;
    const chroma = luma / 4;
    expect(maxDifference(ours.subarray(0, luma), theirs.subarray(0, luma))).toBeLessThanOrEqual(1);
    // Alpha is the RGBA's own, exactly (swscale rounds 128 up to 129 on its way through 15 bits).
    const alpha = Uint8Array.from({ length: luma }, (_, i) => rgba[i * 4 + 3]!);
    expect(ours.subarray(luma + 2 * chroma)).toEqual(alpha);
    expect(maxDifference(ours.subarray(luma + 2 * chroma), theirs.subarray(luma + 2 * chroma))).toBeLessThanOrEqual(1);
    // Chroma: swscale filters its 2:1 downsample, we take each 2x2 block; on ramps they agree closely.
    expect(maxDifference(ours.subarray(luma, luma + 2 * chroma), theirs.subarray(luma, luma + 2 * chroma))).toBeLessThanOrEqual(2);
  });

  it('weights chroma by alpha: an edge block keeps the colour of its visible pixels', () => {
    const converter = new YuvaConverter({ width, height });
    // An orange square whose edges fall mid-block: each edge block is half orange, half transparent black.
    const edged = converter.convert(sticker({ left: 11, top: 11, right: 31, bottom: 31 }, [240, 120, 20]));
    const whole = new YuvaConverter({ width, height }).convert(sticker({ left: 10, top: 10, right: 32, bottom: 32 }, [240, 120, 20]));
    const u = (plane: Uint8Array, cx: number, cy: number) => plane[width * height + cy * (width / 2) + cx]!;
    // Block (5, 5) holds one orange pixel of four; block (6, 6) four of four: the same chroma.
    expect(u(edged, 5, 5)).toBe(u(whole, 6, 6));
    expect(u(edged, 5, 5)).not.toBe(128);
  });

  it('converts only the alpha box, and leaves nothing of the last frame behind when the box moves', () => {
    const converter = new YuvaConverter({ width, height });
    const frames = [
      sticker({ left: 4, top: 6, right: 50, bottom: 40 }, [200, 40, 60]),
      sticker({ left: 61, top: 33, right: 90, bottom: 59 }, [30, 180, 90]),
      sticker({ left: 0, top: 0, right: 0, bottom: 0 }, [0, 0, 0]),
    ];
    for (const frame of frames) {
      // The same frame converted whole (no box), by a converter with no history.
      const whole = new YuvaConverter({ width, height }).convert({ ...frame, data: frame.data.slice(), alphaBounds: undefined });
      expect(converter.convert(frame)).toEqual(whole);
    }
  });

  it('refuses a frame of another size', () => {
    const converter = new YuvaConverter({ width, height });
    expect(() => converter.convert({ data: new Uint8Array(8 * 8 * 4), width: 8, height: 8, index: 0, pts: 0 })).toThrow(/96x64.*8x8/);
  });
});
