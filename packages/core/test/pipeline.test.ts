import { execFile } from 'node:child_process';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixture } from '@stickerkey/fixtures';
import { FORMAT_EXTENSIONS, ffmpegBinary, runPipeline, type Stage } from '../src/index.js';
import {
  claimsAlphaButOpaque,
  countFrames,
  outputFacts,
  decodeAll,
  expectLeftHalfKeyed,
  ffmpegDescendants,
  leftHalfTransparent,
  makeClip,
  partialFiles,
  refusal,
  tempDir,
  ROUND_TRIP_FORMATS,
} from './helpers.js';

const execFileAsync = promisify(execFile);

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
let tenSeconds: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  clip = await makeClip(join(dir, 'clip.mp4'), { width: 160, height: 90, fps: 24, seconds: 2 });
  tenSeconds = await makeClip(join(dir, 'ten.mp4'), { width: 160, height: 90, fps: 24, seconds: 10 });
});
afterAll(() => cleanup());

describe('runPipeline: formats', () => {
  it.each(ROUND_TRIP_FORMATS)('round-trips %s, keeping alpha where the format has it', async (format, alpha) => {
    const output = join(dir, `round${FORMAT_EXTENSIONS[format][0]}`);
    const result = await runPipeline({ input: clip, output, stages: [leftHalfTransparent()], background: '#ff0000' });
    expect(result).toMatchObject({ format, frames: 48, width: 160, height: 90, hasAlpha: alpha });
    const info = await outputFacts(output);
    expect([info.width, info.height]).toEqual([160, 90]);
    expect(await countFrames(output)).toBe(48);
    await expectLeftHalfKeyed(output, format, alpha);
    expect(await partialFiles(dir)).toEqual([]);
  });
});

describe('runPipeline: posterize time', () => {
  it.each([
    [12, 120],
    [8, 80],
  ])('10 s at 24 fps posterized to %i fps gives %i frames', async (fps, frames) => {
    const output = join(dir, `post${fps}.mov`);
    const result = await runPipeline({ input: tenSeconds, output, posterize: fps });
    expect(result.frames).toBe(frames);
    expect(result.fps).toBe(fps);
    expect(await countFrames(output)).toBe(frames);
  });

  it('can keep the source rate by holding each kept frame', async () => {
    const output = join(dir, 'held.mov');
    const result = await runPipeline({ input: clip, output, posterize: 8, holdFrames: true });
    expect(result.frames).toBe(16); // frames we processed
    expect(result.fps).toBe(24);
    expect(await countFrames(output)).toBe(48);
    // Each processed frame is shown three times in a row: pairs inside a hold are (nearly)
    // identical, pairs across holds differ (testsrc2 moves every frame).
    const size = 40 * 24 * 4;
    const rgba = await decodeAll(output, { scale: '40:24' });
    const diff = (a: number, b: number) => {
      let sum = 0;
      for (let i = 0; i < size; i++) sum += Math.abs(rgba[a * size + i]! - rgba[b * size + i]!);
      return sum / size;
    };
    for (let k = 0; k < 15; k++) {
      expect(diff(3 * k, 3 * k + 1)).toBeLessThan(1);
      expect(diff(3 * k + 1, 3 * k + 2)).toBeLessThan(1);
      expect(diff(3 * k + 2, 3 * k + 3)).toBeGreaterThan(2);
    }
  });

  it('refuses a posterize rate that is not below the source rate', async () => {
    const error = await refusal(runPipeline({ input: clip, output: join(dir, 'x.webm'), posterize: 30 }));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe(`Expected posterize below the source rate of 24 fps for ${clip} but received 30`);
  });
});

describe('runPipeline: failures leave nothing behind', () => {
  it('cancels mid-clip: no ffmpeg process, no temp file, no output', async () => {
    const controller = new AbortController();
    const output = join(dir, 'cancelled.webm');
    let seen = 0;
    const error = await refusal(
      runPipeline({
        input: tenSeconds,
        output,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.stage === 'frames' && ++seen === 20) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('CANCELLED');
    expect(seen).toBeGreaterThanOrEqual(20);
    expect(ffmpegDescendants()).toEqual([]);
    expect(await partialFiles(dir)).toEqual([]);
    await expect(stat(output)).rejects.toThrow(/ENOENT/);
  });

  it('refuses an already-aborted signal before doing anything, keeping why it was aborted', async () => {
    const error = await refusal(runPipeline({ input: clip, output: join(dir, 'never.webm'), signal: AbortSignal.abort() }));
    expect(error.code).toBe('CANCELLED');
    const shutdown = new Error('worker shutting down');
    const why = await refusal(runPipeline({ input: clip, output: join(dir, 'never.webm'), signal: AbortSignal.abort(shutdown) }));
    expect(why).toMatchObject({ code: 'CANCELLED', message: 'The job was cancelled: worker shutting down', cause: shutdown });
  });

  it('treats an upload cut mid-stream (index intact) as damaged input, not a short video', async () => {
    const bytes = await readFile(tenSeconds);
    const cut = join(dir, 'cut.mp4');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
    const output = join(dir, 'cut.webm');
    const error = await refusal(runPipeline({ input: cut, output }));
    expect(error.code).toBe('UNSUPPORTED_INPUT');
    expect(error.message).toMatch(/truncated or damaged/);
    await expect(stat(output)).rejects.toThrow(/ENOENT/);
    expect(await partialFiles(dir)).toEqual([]);
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('fails a keyed job whose output lost its alpha, and ships no opaque video', async () => {
    const output = join(dir, 'opaque.webm');
    const error = await refusal(runPipeline({ input: clip, output, stages: [claimsAlphaButOpaque()] }));
    expect(error.code).toBe('ALPHA_MISSING');
    await expect(stat(output)).rejects.toThrow(/ENOENT/);
    expect(await partialFiles(dir)).toEqual([]);
  });

  it('refuses an unknown output format and a bad background before any work', async () => {
    expect((await refusal(runPipeline({ input: clip, output: join(dir, 'x.avi') }))).code).toBe('INVALID_OPTION');
    expect((await refusal(runPipeline({ input: clip, output: join(dir, 'x.mp4'), background: 'white' }))).message).toBe(
      'Expected colour as #rrggbb for background but received "white"',
    );
    expect((await readdir(dir)).filter((f) => f.startsWith('x.'))).toEqual([]);
  });
});

describe('runPipeline: preload context', () => {
  it('gives stages padded sample frames: the keyframes nearest to times spread over the clip', async () => {
    const keyframeEverySecond = await makeClip(join(dir, 'gop24.mp4'), { width: 160, height: 90, fps: 24, seconds: 10, gop: 24 });
    const seen: { width: number; height: number; pts: number; corner: number; centre: number; hash: number }[] = [];
    const sampler: Stage = {
      name: 'sampler',
      margin: 3,
      producesAlpha: false,
      async setup(ctx) {
        for (const frame of await ctx.sampleFrames(3)) {
          let hash = 0;
          for (let i = 0; i < frame.data.length; i += 97) hash = (hash * 31 + frame.data[i]!) >>> 0;
          seen.push({ width: frame.width, height: frame.height, pts: frame.pts, corner: frame.data[3]!, centre: frame.data[(48 * 166 + 83) * 4 + 3]!, hash });
        }
      },
      process() {},
    };
    await runPipeline({ input: keyframeEverySecond, output: join(dir, 'sampled.mov'), stages: [sampler], posterize: 8 });
    expect(seen).toHaveLength(3);
    for (const s of seen) expect(s).toMatchObject({ width: 166, height: 96, corner: 0, centre: 255 });
    expect(seen.map((s) => Math.round(s.pts))).toEqual([2, 5, 8]);
    // Three different moments of a moving test pattern: three different pictures.
    expect(new Set(seen.map((s) => s.hash)).size).toBe(3);
  });

  it('samples a clip with one keyframe once, however many frames are asked for (no decode from the start per sample)', async () => {
    const pts: number[] = [];
    const sampler: Stage = {
      name: 'sampler',
      margin: 0,
      producesAlpha: false,
      async setup(ctx) {
        for (const frame of await ctx.sampleFrames(6)) pts.push(frame.pts);
      },
      process() {},
    };
    // makeClip's default GOP is x264's 250 frames: one keyframe in this 240-frame clip.
    await runPipeline({ input: tenSeconds, output: join(dir, 'sampled-once.mov'), stages: [sampler], posterize: 8 });
    expect(pts).toEqual([0]);
  });
});

describe('runPipeline: memory', () => {
  it('logs the seed milestones and reports peaks of the whole tree', async () => {
    const lines: string[] = [];
    const result = await runPipeline({
      input: clip,
      output: join(dir, 'logged.webm'),
      posterize: 12,
      stages: [leftHalfTransparent()],
      jobId: 456,
      log: (l) => lines.push(l),
    });
    const labels = lines.map((l) => /at (.*?):/.exec(l)?.[1]);
    expect(labels).toEqual([
      'start',
      'before posterize time',
      'before encoding',
      'before sticker effects',
      'after keying',
      'frame 10/24',
      'frame 20/24',
      // Posterize time is the decoder's fps filter: done when the decoder's last frame has come.
      'after posterize time',
      'after sticker effects',
      'after encoding',
      'before cleanup',
      'after cleanup',
    ]);
    expect(lines[0]).toMatch(/^JOB #456: 💾 Memory Usage at start: \d+\.\d MB RSS, \d+\.\d MB VMS, tree \d+\.\d MB RSS, CPU \d+\.\d s \(.+\)$/);
    expect(lines[7]).toMatch(/\(decoder done: 24 frames at 12 fps\)$/);
    // The tree's CPU so far never goes back, and the job's work shows in it.
    const cpu = lines.map((l) => Number(/, CPU (\d+\.\d) s/.exec(l)?.[1]));
    expect(cpu.every((c, i) => i === 0 || c >= cpu[i - 1]!)).toBe(true);
    expect(cpu.at(-1)!).toBeGreaterThan(cpu[0]!);
    // The encoder's memory is part of the tree: the tree peak is above the Node peak.
    expect(result.peakTreeRss).toBeGreaterThan(result.peakProcessRss);
    expect(result.encoderMaxRss).toBeGreaterThan(0);
    expect(result.cpuSeconds).toBeGreaterThan(0);
  });

  it("keeps a 60 s 720p clip's peak tree memory within 10% of a 5 s clip's", async () => {
    const short = await ensureFixture({ screen: 'green', height: 720, seconds: 5 });
    // The 5 s clip twelve times over, by stream copy: memory depends on the frame size and the
    // length, not on what the frames show, and rendering a 60 s fixture from scratch cost this
    // test ~100 s of CI.
    const long = join(dir, 'long-60s.mp4');
    await execFileAsync(ffmpegBinary(), ['-v', 'error', '-y', '-stream_loop', '11', '-i', short.video, '-c', 'copy', long]);
    const run = (input: string, name: string) => runPipeline({ input, output: join(dir, name), posterize: 12, stages: [leftHalfTransparent()] });
    const a = await run(short.video, 'short.webm');
    const b = await run(long, 'long.webm');
    expect(b.frames).toBeGreaterThan(10 * a.frames);
    expect(b.peakTreeRss).toBeLessThan(a.peakTreeRss * 1.1);
  }, 600_000);
});
