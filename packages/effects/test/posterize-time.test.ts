import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBinary, InvalidOptionError } from '@stickerkey/core';
import { posterizeFilter, posterizeSchedule, posterizeTime } from '../src/posterize-time.js';

const W = 32;
const H = 16;

function run(args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegBinary(), ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg ${code}: ${Buffer.concat(err).toString()}`))));
    child.stdin.end(input);
  });
}

/** Frame i: left half grey (i & 15), right half grey (i >> 4), in steps of 16 so lossy rounding cannot confuse them. */
function indexClip(frames: number): Buffer {
  const buf = Buffer.alloc(frames * W * H);
  for (let i = 0; i < frames; i++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) buf[i * W * H + y * W + x] = (x < W / 2 ? i & 15 : i >> 4) * 16 + 8;
    }
  }
  return buf;
}

function readIndices(raw: Buffer): number[] {
  const n = raw.length / (W * H);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    // Centre pixels of each half.
    const lo = raw[k * W * H + (H / 2) * W + W / 4];
    const hi = raw[k * W * H + (H / 2) * W + (3 * W) / 4];
    out.push(Math.round((hi - 8) / 16) * 16 + Math.round((lo - 8) / 16));
  }
  return out;
}

let dir: string;
const clips = new Map<number, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-posterize-'));
  // Ten seconds at 24 and 25 fps, H.264 in MP4 as the fixtures and users' uploads are
  // (default x264 settings, B-frames included, so the container's timestamps are the real ones).
  for (const fps of [24, 25]) {
    const path = join(dir, `index-${fps}.mp4`);
    await run(
      ['-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${W}x${H}`, '-r', String(fps), '-i', '-', '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv420p', '-y', path],
      indexClip(fps * 10),
    );
    clips.set(fps, path);
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function ffmpegKept(sourceFps: number, targetFps: number | null, hold = false): Promise<number[]> {
  const vf = targetFps === null ? [] : ['-vf', hold ? `fps=${targetFps},fps=${sourceFps}` : `fps=${targetFps}`];
  const raw = await run(['-i', clips.get(sourceFps)!, ...vf, '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
  return readIndices(raw);
}

describe('posterizeSchedule against a real ffmpeg fps filter', () => {
  it('the generated clip decodes back to its own indices (the probe works)', async () => {
    const all = await ffmpegKept(24, null);
    expect(all).toEqual(Array.from({ length: 240 }, (_, i) => i));
  });

  for (const [source, target, expected] of [
    [24, 12, 120],
    [24, 8, 80],
    [25, 12, 120],
  ] as const) {
    it(`${source} -> ${target} fps keeps exactly the frames ffmpeg keeps (${expected} of ${source * 10})`, async () => {
      const schedule = posterizeSchedule(source, target, source * 10);
      expect(schedule.kept).toHaveLength(expected);
      const actual = await ffmpegKept(source, target);
      expect(actual).toHaveLength(expected);
      expect(schedule.kept).toEqual(actual);
    });

    it(`${source} -> ${target} fps held back to ${source} fps repeats each kept frame as ffmpeg does`, async () => {
      const schedule = posterizeSchedule(source, target, source * 10);
      const expanded = schedule.kept.flatMap((index, k) => Array<number>(schedule.holds[k]).fill(index));
      const actual = await ffmpegKept(source, target, true);
      expect(actual).toHaveLength(source * 10);
      expect(expanded).toEqual(actual);
    });
  }
});

describe('posterizeSchedule', () => {
  it('24 -> 12 keeps even frames, each held for two slots', () => {
    const s = posterizeSchedule(24, 12, 240);
    expect(s.kept.slice(0, 4)).toEqual([0, 2, 4, 6]);
    expect(s.holds.every((h) => h === 2)).toBe(true);
    expect(s.posterized).toBe(true);
  });

  it('24 -> 8 keeps the last frame that rounds to each output time (ffmpeg rounds to nearest)', () => {
    const s = posterizeSchedule(24, 8, 240);
    expect(s.kept.slice(0, 4)).toEqual([1, 4, 7, 10]);
    expect(s.holds.every((h) => h === 3)).toBe(true);
  });

  it('holds cover the clip, kept frames ascend', () => {
    for (const [source, target, n] of [
      [25, 12, 250],
      [30, 8, 97],
      [29.97, 12, 300],
      [23.976, 8, 101],
      [60, 12, 7],
    ] as const) {
      const s = posterizeSchedule(source, target, n);
      expect(Math.abs(s.holds.reduce((a, b) => a + b, 0) - n)).toBeLessThanOrEqual(Math.ceil(source / target));
      expect(s.kept.length).toBe(s.holds.length);
      for (let k = 1; k < s.kept.length; k++) expect(s.kept[k]).toBeGreaterThan(s.kept[k - 1]);
      expect(Math.max(...s.kept)).toBeLessThan(n);
    }
  });

  it('a target at or above the source rate keeps every frame once', () => {
    const s = posterizeSchedule(12, 24, 5);
    expect(s).toEqual({ sourceFps: 12, targetFps: 12, kept: [0, 1, 2, 3, 4], holds: [1, 1, 1, 1, 1], posterized: false });
  });

  it('refuses impossible rates and counts with the option named', () => {
    expect(() => posterizeSchedule(24, 0, 10)).toThrowError(
      new InvalidOptionError('Expected a positive number for posterize-time.fps but received 0', 'posterize-time.fps'),
    );
    expect(() => posterizeSchedule(24, 12, 2.5)).toThrowError('Expected a whole number of frames >= 0 for posterize-time.sourceFrameCount but received 2.5');
  });
});

describe('posterizeTime options', () => {
  it('defaults to 12 fps, drop', () => {
    expect(posterizeTime.resolve()).toEqual({ fps: 12, mode: 'drop' });
  });

  it('validation messages name the option, the range and the value', () => {
    expect(() => posterizeTime.resolve({ fps: 0 })).toThrowError('Expected number between 1 and 120 for posterize-time.fps but received 0');
    expect(() => posterizeTime.resolve({ mode: 'blend' })).toThrowError(
      'Expected one of drop, hold for posterize-time.mode but received "blend" of type string',
    );
    try {
      posterizeTime.resolve({ fps: 'fast' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
      expect((error as InvalidOptionError).option).toBe('posterize-time.fps');
    }
  });

  it('gives the decode filter only when it lowers the rate', () => {
    expect(posterizeFilter(24, posterizeTime.resolve({ fps: 8 }))).toBe('fps=8');
    expect(posterizeFilter(24, posterizeTime.resolve({ fps: 24 }))).toBeNull();
  });
});
