import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameDecoder, FramePool, ffmpegBinary, probe } from '../src/index.js';
import { listKeyframes } from '../src/probe.js';
import { pickKeyframes, sampleFrames } from '../src/sample-frames.js';
import { decodeAll, ffmpegDescendants, tempDir } from './helpers.js';

const run = promisify(execFile);

let dir: string;
let cleanup: () => Promise<void>;
/** testsrc2 at 24 fps with a keyframe every `gop` frames and no other (no scene-cut keyframes). */
async function clipWithGop(name: string, seconds: number, gop: number): Promise<string> {
  const path = join(dir, name);
  // prettier-ignore
  await run(ffmpegBinary(), [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=160x90:r=24:d=${seconds}`, '-c:v', 'libx264',
    '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', String(gop), '-keyint_min', String(gop),
    '-sc_threshold', '0',
    path,
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

  it('reads the same keyframes with the probe, in its one ffprobe, when asked', async () => {
    const path = await clipWithGop('gop12-probe.mp4', 2, 12);
    const probed = await probe(path, {}, { keyframes: true });
    expect(probed.keyframes).toEqual(await listKeyframes(path));
    expect(probed.keyframes?.times).toEqual([0, 0.5, 1, 1.5]);
    expect((await probe(path)).keyframes).toBeUndefined();
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

  it('takes the first keyframe from the main decode: a clip with one keyframe starts no decoder of its own', async () => {
    const path = await clipWithGop('gop-long-main.mp4', 3, 250);
    const input = await probe(path, {}, { keyframes: true });
    const canvas = { width: 160, height: 90 };
    const pool = new FramePool(canvas, 3);
    const decoder = new FrameDecoder({ input, pool });
    const { frames, cpuSeconds } = await sampleFrames({ input, canvas, count: 6, firstFrame: () => decoder.firstFrame() });
    // No sampler ffmpeg ran: nothing to count.
    expect(cpuSeconds).toBe(0);
    expect(frames.map((f) => f.pts)).toEqual([0]);
    const all = await decodeAll(path);
    expect(Buffer.from(frames[0]!.data)).toEqual(Buffer.from(all.subarray(0, 160 * 90 * 4)));
    // The frame was shared, not taken: the stream still starts at frame 0, with the same bytes.
    let count = 0;
    for await (const frame of decoder) {
      if (count === 0) expect(Buffer.from(frame.data)).toEqual(Buffer.from(frames[0]!.data));
      count++;
      pool.release(frame);
    }
    expect(count).toBe(72);
  });

  it('decodes only the other keyframes when the first comes from the main decode', async () => {
    const path = await clipWithGop('gop12-main.mp4', 2, 12);
    const input = await probe(path, {}, { keyframes: true });
    const canvas = { width: 160, height: 90 };
    const pool = new FramePool(canvas, 3);
    const decoder = new FrameDecoder({ input, pool });
    const { frames, cpuSeconds } = await sampleFrames({ input, canvas, count: 4, firstFrame: () => decoder.firstFrame() });
    expect(frames.map((f) => f.pts)).toEqual([0, 0.5, 1, 1.5]);
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3]);
    expect(cpuSeconds).toBeGreaterThan(0);
    const all = await decodeAll(path);
    const bytes = 160 * 90 * 4;
    for (const frame of frames) {
      const at = Math.round(frame.pts * 24) * bytes;
      expect(Buffer.from(frame.data)).toEqual(Buffer.from(all.subarray(at, at + bytes)));
    }
    decoder.kill();
    await decoder.process.exited;
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('refuses firstFrame() once frame 0 has been handed out (a caller bug)', async () => {
    const path = await clipWithGop('gop-late.mp4', 1, 250);
    const input = await probe(path);
    const pool = new FramePool({ width: 160, height: 90 }, 3);
    const decoder = new FrameDecoder({ input, pool });
    const iterator = decoder[Symbol.asyncIterator]();
    const first = await iterator.next();
    pool.release(first.value as never);
    await expect(decoder.firstFrame()).rejects.toThrow(/before iterating/);
    decoder.kill();
    await decoder.process.exited;
  });
});
