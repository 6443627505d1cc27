import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBinary, probe } from '../src/index.js';
import { makeClip, refusal, tempDir } from './helpers.js';

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
let clip: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  clip = await makeClip(join(dir, 'clip.mp4'), { width: 320, height: 180, fps: 24, seconds: 2 });
});
afterAll(() => cleanup());

describe('probe', () => {
  it('reads size, rate, frames, duration, codec and alpha', async () => {
    const info = await probe(clip);
    expect(info).toMatchObject({ width: 320, height: 180, fps: 24, frameCount: 48, codec: 'h264', pixelFormat: 'yuv420p', hasAlpha: false });
    expect(info.duration).toBeCloseTo(2, 1);
  });

  it('sees alpha in a VP9 WebM', async () => {
    const webm = join(dir, 'alpha.webm');
    // prettier-ignore
    await run(ffmpegBinary(), [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=10:d=1,format=yuva420p',
      '-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p',
      webm,
    ]);
    expect((await probe(webm)).hasAlpha).toBe(true);
  });

  it.each([
    ['a missing file', () => Promise.resolve(join(dir, 'nope.mp4')), 'UNSUPPORTED_INPUT', /Input file not found/],
    [
      'an empty file',
      async () => {
        const p = join(dir, 'empty.mp4');
        await writeFile(p, '');
        return p;
      },
      'UNSUPPORTED_INPUT',
      /empty/,
    ],
    [
      'a text file renamed .mp4',
      async () => {
        const p = join(dir, 'notes.mp4');
        await writeFile(p, 'hello, this is not a video\n'.repeat(50));
        return p;
      },
      'UNSUPPORTED_INPUT',
      /ffprobe cannot read/,
    ],
    [
      'an MP4 cut before its index',
      async () => {
        const slow = await makeClip(join(dir, 'moov-at-end.mp4'), { faststart: false });
        const bytes = await readFile(slow);
        const p = join(dir, 'truncated.mp4');
        await writeFile(p, bytes.subarray(0, bytes.length >> 1));
        return p;
      },
      'UNSUPPORTED_INPUT',
      /ffprobe cannot read/,
    ],
    [
      'an audio-only file',
      async () => {
        const p = join(dir, 'tone.m4a');
        await run(ffmpegBinary(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', p]);
        return p;
      },
      'UNSUPPORTED_INPUT',
      /Expected a video stream/,
    ],
    [
      'a still image',
      async () => {
        const p = join(dir, 'still.png');
        await run(ffmpegBinary(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:d=1', '-frames:v', '1', p]);
        return p;
      },
      'UNSUPPORTED_INPUT',
      /frame rate and a duration/,
    ],
  ])('refuses %s with a typed error', async (_name, make, code, message) => {
    const error = await refusal(probe(await make()));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('refuses what is over the limits, naming the limit and the value', async () => {
    const size = await refusal(probe(clip, { maxWidth: 160 }));
    expect(size.code).toBe('LIMIT_EXCEEDED');
    expect(size.message).toBe(`Expected a resolution of at most 160x2160 (either way up) for ${clip} but received 320x180`);
    const duration = await refusal(probe(clip, { maxDurationSeconds: 1 }));
    expect(duration.code).toBe('LIMIT_EXCEEDED');
    expect(duration.message).toMatch(/at most 1 s .* but received 2\.00 s/);
    const frames = await refusal(probe(clip, { maxFrames: 10 }));
    expect(frames).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxFrames', limitValue: 10, actual: 48 });
  });
});
