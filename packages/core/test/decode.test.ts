import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameDecoder, FramePool, decodeFilter, ffmpegBinary, probe, type Frame } from '../src/index.js';
import { makeBoxClip, makeClip, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  clip = await makeClip(join(dir, 'clip.mp4'), { width: 64, height: 36, fps: 24, seconds: 2 });
});
afterAll(() => cleanup());

describe('decode', () => {
  it('puts fps first, so dropped frames are never converted, converts with the source matrix and pads with transparency last', async () => {
    const source = await probe(clip);
    expect(decodeFilter(source, { fps: 12, pad: { left: 4, top: 4, right: 5, bottom: 4 } })).toBe(
      'fps=12,scale=w=64:h=36:in_color_matrix=bt601:in_range=tv,format=rgba,setsar=1,pad=iw+9:ih+8:4:4:color=black@0',
    );
    // Without posterize, the source's average rate: a VFR source becomes constant rate by timestamp.
    expect(decodeFilter(source)).toBe('fps=24,scale=w=64:h=36:in_color_matrix=bt601:in_range=tv,format=rgba,setsar=1');
    // `size`: scaled there before padding (a canvas fitted to a memory budget).
    expect(decodeFilter(source, { size: { width: 32, height: 18 } })).toBe('fps=24,scale=w=32:h=18:in_color_matrix=bt601:in_range=tv,format=rgba,setsar=1');
  });

  it('streams every frame through a fixed pool, padded, with indices and timestamps', async () => {
    const source = await probe(clip);
    const pool = new FramePool({ width: 72, height: 44 }, 3);
    const decoder = new FrameDecoder({ input: source, fps: 12, pad: { left: 4, top: 4, right: 4, bottom: 4 }, pool });
    const buffers = new Set<Uint8Array>();
    let count = 0;
    for await (const frame of decoder) {
      buffers.add(frame.data);
      expect(frame.index).toBe(count);
      expect(frame.pts).toBeCloseTo(count / 12, 6);
      // The padding is transparent; the picture inside is opaque.
      expect(frame.data[3]).toBe(0);
      expect(frame.data[(10 * 72 + 10) * 4 + 3]).toBe(255);
      count++;
      pool.release(frame);
    }
    expect(count).toBe(24);
    // No buffer allocated per frame: only the pool's own circulate.
    expect(buffers.size).toBeLessThanOrEqual(3);
    expect((await decoder.process.exited).code).toBe(0);
  });

  it("places each row in the canvas itself: the same pixels as ffmpeg's pad filter, margins cleared in every reused frame", async () => {
    const source = await probe(clip);
    const pad = { left: 3, top: 5, right: 6, bottom: 2 };
    const canvas = { width: 64 + 9, height: 36 + 7 };
    // ffmpeg's own padding of the same chain, as the decoder used to ask for it.
    const padded = execFileSync(
      ffmpegBinary(),
      ['-v', 'error', '-i', clip, '-vf', decodeFilter(source, { fps: 12, pad }), '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'],
      {
        maxBuffer: 1 << 26,
      },
    );
    const bytes = canvas.width * canvas.height * 4;
    const pool = new FramePool(canvas, 2);
    const decoder = new FrameDecoder({ input: source, fps: 12, pad, pool });
    let count = 0;
    for await (const frame of decoder) {
      expect(Buffer.from(frame.data).equals(padded.subarray(count * bytes, (count + 1) * bytes))).toBe(true);
      count++;
      // The stages draw into the margins (outline, shadow) and the encoder overwrites the frame.
      frame.data.fill(0xff);
      pool.release(frame);
    }
    expect(count).toBe(24);
  });

  it("decodes with the cores it is given (a container's quota), not a thread per host CPU", async () => {
    const source = await probe(clip);
    const threadsWith = async (cores: number) => {
      const pool = new FramePool({ width: 64, height: 36 }, 2);
      const decoder = new FrameDecoder({ input: source, pool, cores });
      // Codec open starts the decoder's threads; by its first frame they all exist.
      await decoder.firstFrame();
      const status = await readFile(`/proc/${decoder.process.child.pid}/status`, 'utf8');
      decoder.kill();
      await decoder.process.exited;
      return Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]);
    };
    const one = await threadsWith(1);
    const eight = await threadsWith(8);
    // Frame threads: one per core given (H.264's frame threading), the rest of ffmpeg unchanged.
    expect(eight - one).toBeGreaterThanOrEqual(7);
  });

  it('keeps the frames that were still queued when ffmpeg exited with the pool empty', async () => {
    // Small frames: the whole clip fits in the pipe and stream buffers, so ffmpeg can finish and
    // exit while both pool frames are held and the rest of its output waits in our queue.
    const small = await makeClip(join(dir, 'small.mp4'), { width: 32, height: 18, fps: 24, seconds: 2 });
    const pool = new FramePool({ width: 32, height: 18 }, 2);
    const decoder = new FrameDecoder({ input: await probe(small), pool });
    const iterator = decoder[Symbol.asyncIterator]();
    const held = [(await iterator.next()).value as Frame, (await iterator.next()).value as Frame];
    const exit = await Promise.race([decoder.process.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(exit?.code).toBe(0);
    let count = 2;
    for (const frame of held) pool.release(frame);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      count++;
      // Release late, as the encoder's write callback does, after the next frame was asked for.
      const frame = next.value;
      setImmediate(() => pool.release(frame));
    }
    expect(count).toBe(48);
  });

  it('stops reading (backpressure) when the pool is empty, and resumes on release', async () => {
    const source = await probe(clip);
    const pool = new FramePool({ width: 64, height: 36 }, 2);
    const decoder = new FrameDecoder({ input: source, pool });
    const iterator = decoder[Symbol.asyncIterator]();
    const first = (await iterator.next()).value as Frame;
    const second = (await iterator.next()).value as Frame;
    expect(pool.available).toBe(0);
    // Nothing can arrive while both frames are held: the third read waits.
    const third = iterator.next();
    const stalled = await Promise.race([third.then(() => 'arrived'), new Promise((r) => setTimeout(() => r('waiting'), 400))]);
    expect(stalled).toBe('waiting');
    expect(decoder.framesRead).toBe(2);
    pool.release(first);
    expect(((await third).value as Frame).index).toBe(2);
    pool.release(second);
    decoder.kill();
    await decoder.process.exited;
  });

  it('crops to a part of the picture before scaling it, and decodes only the first seconds asked for', async () => {
    const source = await probe(await makeBoxClip(join(dir, 'box.mp4')));
    const crop = { left: 100, top: 50, right: 180, bottom: 170 };
    expect(decodeFilter(source, { crop, size: { width: 40, height: 60 } })).toBe(
      'fps=24,crop=w=iw*80/640:h=ih*120/360:x=iw*100/640:y=ih*50/360,scale=w=40:h=60:in_color_matrix=bt601:in_range=tv,format=rgba,setsar=1',
    );
    const pool = new FramePool({ width: 40, height: 60 }, 2);
    const decoder = new FrameDecoder({ input: source, crop, size: { width: 40, height: 60 }, duration: 0.5, pool });
    let frames = 0;
    for await (const frame of decoder) {
      if (frames === 0) {
        // At t = 0 the red box fills exactly that region (but for the chroma of its edges).
        for (let y = 2; y < 58; y++) {
          for (let x = 2; x < 38; x++) {
            const p = (y * 40 + x) * 4;
            expect(frame.data[p]).toBeGreaterThan(150);
            expect(frame.data[p + 1]).toBeLessThan(80);
          }
        }
      }
      frames++;
      pool.release(frame);
    }
    expect(frames).toBe(12);
  });
});
