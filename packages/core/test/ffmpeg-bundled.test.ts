/**
 * The fallback keeps working: every output format round-trips on the bundled 2018 build, chosen
 * through FFMPEG_PATH/FFPROBE_PATH exactly as an operator would. Other test files run on whatever
 * ffmpeg resolves first (a current one on CI), so without this file a format could silently break
 * on a bare machine. vitest runs each test file in its own process, so the variables set here
 * reach no other file.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledBinaries, ffmpegInfo, FORMAT_EXTENSIONS, resetFfmpegResolution, runPipeline } from '../src/index.js';
import {
  countFrames,
  encodeMovingCharacter,
  expectFramesReplaceEachOther,
  outputFacts,
  expectLeftHalfKeyed,
  leftHalfTransparent,
  makeClip,
  partialFiles,
  tempDir,
  ROUND_TRIP_FORMATS,
} from './helpers.js';

const bundled = bundledBinaries();
let dir: string;
let cleanup: () => Promise<void>;
let clip: string;

beforeAll(async () => {
  process.env.FFMPEG_PATH = bundled.ffmpeg;
  process.env.FFPROBE_PATH = bundled.ffprobe;
  resetFfmpegResolution();
  ({ dir, cleanup } = await tempDir());
  clip = await makeClip(join(dir, 'clip.mp4'), { width: 160, height: 90, fps: 24, seconds: 1 });
});
afterAll(async () => {
  await cleanup();
  delete process.env.FFMPEG_PATH;
  delete process.env.FFPROBE_PATH;
  resetFfmpegResolution();
});

describe('the bundled 2018 build as the fallback', () => {
  it('is what FFMPEG_PATH/FFPROBE_PATH select here, flagged slow', () => {
    expect(ffmpegInfo()).toMatchObject({ path: bundled.ffmpeg, source: 'env', slow: true, ffprobe: { path: bundled.ffprobe, source: 'env' } });
  });

  it.each(ROUND_TRIP_FORMATS)('round-trips %s on it, keeping alpha where the format has it', async (format, alpha) => {
    const output = join(dir, `bundled${FORMAT_EXTENSIONS[format][0]}`);
    const result = await runPipeline({ input: clip, output, stages: [leftHalfTransparent()], background: '#ff0000' });
    expect(result).toMatchObject({ format, frames: 24, width: 160, height: 90, hasAlpha: alpha });
    expect(result.ffmpeg).toEqual({ path: bundled.ffmpeg, version: ffmpegInfo().version, source: 'env' });
    const info = await outputFacts(output);
    expect([info.width, info.height, info.hasAlpha]).toEqual([160, 90, alpha]);
    expect(await countFrames(output)).toBe(24);
    await expectLeftHalfKeyed(output, format, alpha);
    expect(await partialFiles(dir)).toEqual([]);
  });

  it('writes GIF frames that replace each other although its encoder leaves them in place', async () => {
    // Its GIF encoder writes "do not dispose" on every frame: encode.ts writes whole frames and
    // sets their disposal (completeOutput). Decoded by the same 2018 build.
    expect(ffmpegInfo().gifDisposesTranslucentFrames).toBe(false);
    const output = join(dir, 'moving.gif');
    const written = await encodeMovingCharacter(output, 'gif');
    await expectFramesReplaceEachOther(output, 'gif', written);
  });
});
