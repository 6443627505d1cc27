/** Real clips made with ffmpeg's own test sources, and a real alpha-making stage, for core's tests. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { renderFrame } from '@stickerkey/fixtures';
import {
  descendantPids,
  ffmpegBinary,
  FrameEncoder,
  probe,
  readAnimationInfo,
  webpFrames,
  type OutputFormat,
  type Stage,
  type StickerkeyError,
} from '../src/index.js';

const run = promisify(execFile);

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'stickerkey-core-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An H.264 yuv420p clip of ffmpeg's testsrc2 (moving pattern, frame counter), like an upload. */
export async function makeClip(
  path: string,
  {
    width = 320,
    height = 180,
    fps = 24,
    seconds = 2,
    faststart = true,
    gop,
  }: {
    width?: number;
    height?: number;
    fps?: number;
    seconds?: number;
    faststart?: boolean;
    /** Keyframe every N frames exactly (default: x264's, one keyframe in a short clip). */ gop?: number;
  } = {},
): Promise<string> {
  // prettier-ignore
  await run(ffmpegBinary(), [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=${width}x${height}:r=${fps}:d=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    ...(gop ? ['-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0'] : []),
    ...(faststart ? ['-movflags', '+faststart'] : []),
    path,
  ]);
  return path;
}

/** Decode a file to raw RGBA frames (small clips only), through the alpha-aware decoder when asked. */
export async function decodeAll(path: string, { alphaDecoder = false, scale }: { alphaDecoder?: boolean; scale?: string } = {}): Promise<Buffer> {
  const { stdout } = await run(
    ffmpegBinary(),
    [
      '-v',
      'error',
      ...(alphaDecoder ? ['-c:v', 'libvpx-vp9'] : []),
      '-i',
      path,
      ...(scale ? ['-vf', `scale=${scale}`] : []),
      '-vsync',
      '0',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      'pipe:1',
    ],
    { encoding: 'buffer', maxBuffer: 1 << 30 },
  );
  return stdout;
}

/** A keyer stand-in that is still a real stage: makes the left half of the canvas transparent. */
export function leftHalfTransparent(): Stage {
  let width = 0;
  return {
    name: 'left-half-transparent',
    margin: 0,
    producesAlpha: true,
    setup(ctx) {
      width = ctx.size.width;
      return Promise.resolve();
    },
    process(frame) {
      const half = width >> 1;
      const data = frame.data;
      for (let p = 3, x = 0; p < data.length; p += 4, x = x + 1 === width ? 0 : x + 1) if (x < half) data[p] = 0;
    },
  };
}

/** A stage that keeps everything opaque but claims to key: the pipeline must catch the missing alpha. */
/**
 * The first frame of a 160x90 render through leftHalfTransparent(): with alpha, the left half is
 * keyed out and the right kept; without (mp4), the left half is flattened onto a red background.
 */
export async function expectLeftHalfKeyed(output: string, format: OutputFormat, alpha: boolean): Promise<void> {
  const frame =
    format === 'webp'
      ? (await decodeComposited(output, format, { width: 160, height: 90 }))[0]!
      : (await decodeAll(output, { alphaDecoder: format === 'webm' })).subarray(0, 160 * 90 * 4);
  const at = (x: number, y: number, c: number) => frame[(y * 160 + x) * 4 + c]!;
  if (alpha) {
    expect(at(10, 45, 3)).toBeLessThan(16); // left half keyed out
    expect(at(150, 45, 3)).toBeGreaterThan(240); // right half kept
  } else {
    // mp4: the transparent half is flattened onto the requested red background.
    expect(at(10, 45, 0)).toBeGreaterThan(200);
    expect(at(10, 45, 1)).toBeLessThan(60);
    expect(at(150, 45, 3)).toBe(255);
  }
}

export function claimsAlphaButOpaque(): Stage {
  return { name: 'opaque', margin: 0, producesAlpha: true, async setup() {}, process() {} };
}

/** ffmpeg processes that are descendants of this test process. */
export function ffmpegDescendants(): number[] {
  return descendantPids(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('ffmpeg');
    } catch {
      return false;
    }
  });
}

export async function partialFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.includes('.partial'));
}

export async function countFrames(path: string): Promise<number> {
  // ffmpeg 5.1 cannot decode animated WebP: its container says how many frames it holds.
  if (path.endsWith('.webp')) return readAnimationInfo(path).frames;
  const { stdout } = await run(ffmpegBinary(), ['-v', 'error', '-i', path, '-map', '0:v:0', '-vsync', '0', '-f', 'framemd5', '-'], {
    maxBuffer: 1 << 26,
  });
  return stdout.split('\n').filter((line) => line && !line.startsWith('#')).length;
}

/** The error a promise rejects with; fails the test when it resolves instead. */
export async function refusal(promise: Promise<unknown>): Promise<StickerkeyError> {
  try {
    await promise;
  } catch (error) {
    return error as StickerkeyError;
  }
  throw new Error('expected a refusal');
}

/**
 * A green screen with a red box (the "character") moving right: 80x120 at x = 100 + 40 t, y = 50,
 * on 640x360. Over 2 s it sweeps x 100..258, so the region it occupies over the clip is known.
 */
export async function makeBoxClip(path: string, { seconds = 2, fps = 24 }: { seconds?: number; fps?: number } = {}): Promise<string> {
  // prettier-ignore
  await run(ffmpegBinary(), [
    '-v', 'error', '-y', '-f', 'lavfi',
    '-i', `color=c=0x10c020:s=640x360:r=${fps}:d=${seconds}[bg];color=c=0xd02020:s=80x120:r=${fps}:d=${seconds}[box];[bg][box]overlay=x='100+40*t':y=50:shortest=1`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    path,
  ]);
  return path;
}

/** A keyer stand-in that is still a real stage: pixels clearly green become transparent. */
export function greenKeyer(): Stage {
  return {
    name: 'green-keyer',
    margin: 0,
    producesAlpha: true,
    async setup() {},
    process(frame) {
      const data = frame.data;
      for (let p = 0; p < data.length; p += 4) {
        const g = data[p + 1]!;
        if (g > data[p]! + 40 && g > data[p + 2]! + 40) data[p + 3] = 0;
      }
    },
  };
}

/** Bounds of the pixels with alpha above 128 in one RGBA frame. */
export function opaqueBounds(rgba: Uint8Array, width: number, height: number): { left: number; top: number; right: number; bottom: number } {
  let left = width;
  let top = height;
  let right = 0;
  let bottom = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (rgba[(y * width + x) * 4 + 3]! > 128) {
        left = Math.min(left, x);
        right = Math.max(right, x + 1);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y + 1);
      }
    }
  }
  return { left, top, right, bottom };
}

/** The size and length of the moving-character clip: small, but the character moves enough that a trail would show. */
/**
 * Every output format and whether its output keeps alpha, for the round-trip tests (on the
 * resolved ffmpeg and on the bundled build). Written out, not taken from formatHasAlpha(): the
 * tests check the code against this, not against itself.
 */
export const ROUND_TRIP_FORMATS: [OutputFormat, boolean][] = [
  ['webm', true],
  ['mov', true],
  ['gif', true],
  ['mp4', false],
  ['webp', true],
  ['apng', true],
];

export const MOVING = { width: 192, height: 108, fps: 12, frames: 16 } as const;

/**
 * Encodes the fixture character (waving, bobbing, walking across) keyed by its exact ground-truth
 * alpha, with our encoder settings for `format`, and returns each written frame's alpha: the
 * frames as we wrote them, for comparing with what a decoder shows.
 */
export async function encodeMovingCharacter(output: string, format: OutputFormat): Promise<Uint8Array[]> {
  const { width, height, fps, frames } = MOVING;
  const spec = { screen: 'green' as const, width, height, fps };
  const encoder = new FrameEncoder({ output, format, size: { width, height }, fps });
  const written: Uint8Array[] = [];
  for (let index = 0; index < frames; index++) {
    const data = new Uint8Array(width * height * 4);
    const alpha = new Uint8Array(width * height);
    // Every other source frame: twice the motion between the frames written.
    renderFrame(spec, index * 2, data, alpha);
    for (let p = 0; p < alpha.length; p++) data[p * 4 + 3] = alpha[p]!;
    written.push(alpha);
    await encoder.write({ data, width, height, index, pts: index / fps }, () => {});
  }
  await encoder.finish();
  return written;
}

/**
 * Every frame of an output as a decoder composites it: ffmpeg (the resolved one) for GIF and
 * APNG, libwebp through sharp for WebP (ffmpeg 5.1 cannot decode animated WebP).
 */
export async function decodeComposited(path: string, format: OutputFormat, size: { width: number; height: number }): Promise<Uint8Array[]> {
  if (format === 'webp') {
    const frames: Uint8Array[] = [];
    const count = readAnimationInfo(path).frames;
    for await (const frame of webpFrames(
      path,
      Array.from({ length: count }, (_, i) => i),
    ))
      frames.push(frame.data);
    return frames;
  }
  const rgba = await decodeAll(path);
  const frameBytes = size.width * size.height * 4;
  return Array.from({ length: rgba.length / frameBytes }, (_, i) => rgba.subarray(i * frameBytes, (i + 1) * frameBytes));
}

/** Pixels whose coverage (alpha at least 128) differs between a written alpha plane and a decoded RGBA frame. */
export function coverageMismatch(written: Uint8Array, decodedRgba: Uint8Array): { written: number; decoded: number; mismatched: number } {
  let inWritten = 0;
  let inDecoded = 0;
  let mismatched = 0;
  for (let p = 0; p < written.length; p++) {
    const a = written[p]! >= 128;
    const b = decodedRgba[p * 4 + 3]! >= 128;
    if (a) inWritten++;
    if (b) inDecoded++;
    if (a !== b) mismatched++;
  }
  return { written: inWritten, decoded: inDecoded, mismatched };
}

/** Asserts every decoded frame covers what its written frame covered, and nothing of the frames before it. */
export async function expectFramesReplaceEachOther(output: string, format: OutputFormat, written: Uint8Array[]): Promise<void> {
  const decoded = await decodeComposited(output, format, MOVING);
  expect(decoded.length).toBe(written.length);
  const report = decoded.map((frame, i) => ({ frame: i, ...coverageMismatch(written[i]!, frame) }));
  // GIF and the default WebP keep alpha exactly at our 128 threshold (paletteuse alpha_threshold,
  // libwebp's lossless alpha), APNG is lossless: no pixel may differ.
  expect(report.filter((r) => r.mismatched > 0)).toEqual([]);
}

/** Size and alpha of an output: from ffprobe, or for WebP (which ffprobe cannot take as a clip) from its container. */
export async function outputFacts(path: string): Promise<{ width: number; height: number; hasAlpha: boolean }> {
  if (path.endsWith('.webp')) {
    const info = readAnimationInfo(path);
    return { width: info.width, height: info.height, hasAlpha: info.alphaChannel };
  }
  const info = await probe(path);
  return { width: info.width, height: info.height, hasAlpha: info.hasAlpha };
}
