import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBinary, probe } from '../src/index.js';
import { listKeyframes, pickKeyframes, sampleFrames } from '../src/sample-frames.js';
import { decodeAll, ffmpegDescendants, tempDir } from './helpers.js';

const run = promisify(execFile);

let dir: string;
let cleanup: () => Promise<void>;
/** testsrc2 at 24 fps with a keyframe every `gop` frames and no other (no scene-cut keyframes). */
async function clipWithGop(name: string, seconds: number, gop: number): Promise<string> {
  const path = join(dir, name);
  await run(ffmpegBinary(), [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=160x90:r=24:d=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', path,
  ]);
  return path;
}

beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

describe('listKeyframes / pickKeyframes', () => {
  it('lists the keyframes from the packets, in presentation order', async () => {
    const list = await listKeyframes(await clipWithGop('gop24.mp4', 3, 24));
    expect(list.times).toEqual([0, 1, 2]);
    expect(list.end).toBeCloseTo(3 - 1 / 24, 3);
  });

  it('picks distinct keyframes nearest to evenly spread times', () => {
    expect(pickKeyframes({ times: [0, 3, 6, 9], end: 10 }, 4)).toEqual([0, 3, 6, 9]);
    expect(pickKeyframes({ times: [0, 3, 6, 9], end: 10 }, 3)).toEqual([3, 6, 9]);
    expect(pickKeyframes({ times: [0, 5], end: 10 }, 6)).toEqual([0, 5]);
    expect(pickKeyframes({ times: [], end: 10 }, 6)).toEqual([0]);
  });
});

describe('sampleFrames', () => {
  it('decodes only keyframes: one sample from a clip with one keyframe, however many were asked', async () => {
    const input = await probe(await clipWithGop('gop-long.mp4', 4, 250));
    const canvas = { width: 160, height: 90 };
    const { frames } = await sampleFrames({ input, canvas, count: 6 });
    expect(frames.map((f) => f.pts)).toEqual([0]);
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('returns the keyframes themselves, padded to the canvas, identical to the main decode', async () => {
    const path = await clipWithGop('gop12.mp4', 2, 12);
    const input = await probe(path);
    const pad = { left: 2, top: 1, right: 2, bottom: 1 };
    const canvas = { width: 164, height: 92 };
    const { frames, cpuSeconds } = await sampleFrames({ input, pad, canvas, count: 3 });
    // Spread over 2 s: the keyframes nearest 1/3, 1 and 5/3 s are at 0.5, 1 and 1.5 s.
    expect(frames.map((f) => f.pts)).toEqual([0.5, 1, 1.5]);
    expect(cpuSeconds).toBeGreaterThan(0);
    const all = await decodeAll(path);
    const bytes = 160 * 90 * 4;
    for (const frame of frames) {
      const source = all.subarray(Math.round(frame.pts * 24) * bytes, Math.round(frame.pts * 24 + 1) * bytes);
      // Row 10 of the source sits at canvas row 11, column 2 onwards; the padding is transparent.
      const row = (data: Uint8Array, y: number, x0: number, w: number, width: number) => data.subarray((y * width + x0) * 4, (y * width + x0 + w) * 4);
      expect(Buffer.from(row(frame.data, 11, 2, 160, 164))).toEqual(Buffer.from(row(source, 10, 0, 160, 160)));
      expect(frame.data[(11 * 164 + 0) * 4 + 3]).toBe(0);
    }
  });
});
