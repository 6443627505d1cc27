/**
 * checkAgainstTarget on real files: our own encoder's output meets its platform, and files made
 * by ffmpeg to break limits are reported with every limit they break (and no other). Small
 * files: the platforms with exact sizes are met with one file at that size each.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMeetsTarget, checkAgainstTarget, ffmpegBinary, FrameEncoder, type OutputFormat, type TargetName } from '../src/index.js';
import { refusal, tempDir } from './helpers.js';

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

/** A file made by ffmpeg from a lavfi source: `args` are everything after the inputs. */
async function ffmpegFile(name: string, inputs: string[], args: string[]): Promise<string> {
  const path = join(dir, name);
  await run(ffmpegBinary(), ['-v', 'error', '-y', ...inputs.flatMap((i) => ['-f', 'lavfi', '-i', i]), ...args, path]);
  return path;
}

/** A red block moving across a transparent canvas: every frame differs, some pixels see-through. */
function movingBlock(width: number, height: number, rate: number, seconds: number): string {
  return `color=c=black:s=${width}x${height}:r=${rate}:d=${seconds},format=rgba,geq=r=255:g=0:b=0:a='255*lt(abs(X-N*4-8)\\,8)'`;
}

/** Our encoder's output for `format`: the moving block, written frame by frame as a render would. */
async function ourOutput(name: string, format: OutputFormat, width: number, height: number, fps: number, frames: number): Promise<string> {
  const output = join(dir, name);
  const encoder = new FrameEncoder({ output, format, size: { width, height }, fps });
  for (let index = 0; index < frames; index++) {
    const data = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = index * 4; x < Math.min(width, index * 4 + 24); x++) data.set([40, 200, 90, 255], (y * width + x) * 4);
    }
    await encoder.write({ data, width, height, index, pts: index / fps }, () => {});
  }
  await encoder.finish();
  return output;
}

async function breaches(path: string, target: TargetName): Promise<string[]> {
  return (await checkAgainstTarget(path, target)).breaches.map((b) => b.limit);
}

describe('checkAgainstTarget: our outputs meet their platform', () => {
  it.each([
    ['emoji.webm', 'webm', 'telegram-emoji', 100, 100, 12, 12],
    ['sticker.webp', 'webp', 'whatsapp', 512, 512, 10, 6],
    ['sticker.png', 'apng', 'discord', 320, 320, 12, 8],
    ['sticker.gif', 'gif', 'discord', 320, 320, 12, 8],
    ['line.png', 'apng', 'line', 320, 270, 10, 8],
  ] as [string, OutputFormat, TargetName, number, number, number, number][])('%s (%s) passes %s', async (name, format, target, width, height, fps, frames) => {
    const output = await ourOutput(name, format, width, height, fps, frames);
    const result = await checkAgainstTarget(output, target);
    // LINE takes 1 to 4 plays, not forever: our APNG loops forever, the one thing render must set for it.
    expect(result.breaches.map((b) => b.limit)).toEqual(target === 'line' ? ['loop'] : []);
    expect(result.facts).toMatchObject({ format, width, height, frames, alpha: true, audioStreams: 0 });
  });
});

describe('checkAgainstTarget: files that break limits', () => {
  it('a VP8 WebM with audio, the wrong size, too long, too fast and opaque: every one reported', async () => {
    const path = await ffmpegFile('bad.webm', ['testsrc2=s=120x100:r=32:d=3.5', 'sine=d=3.5'], ['-c:v', 'libvpx', '-c:a', 'libopus', '-shortest']);
    const result = await checkAgainstTarget(path, 'telegram-emoji');
    expect(result.ok).toBe(false);
    expect(result.breaches.map((b) => b.limit)).toEqual(['codec', 'pixels', 'duration', 'fps', 'audio', 'alpha']);
    expect(result.breaches.find((b) => b.limit === 'fps')).toMatchObject({
      limitValue: 30,
      actual: 32,
      message: 'expected at most 30 fps but the file runs at 32.00 fps',
    });
    expect(result.breaches.find((b) => b.limit === 'pixels')!.message).toBe('expected exactly 100x100 but the file is 120x100');
  });

  it('VP9 with alpha in a Matroska file is not a WebM', async () => {
    const path = await ffmpegFile(
      'emoji.mkv',
      [movingBlock(100, 100, 12, 1)],
      ['-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p', '-deadline', 'realtime', '-cpu-used', '8'],
    );
    expect(await breaches(path, 'telegram-emoji')).toEqual(['container']);
  });

  it('a WebM over the byte budget', async () => {
    // VP9 at its best quality (crf 0) of noise: about 590 KB for 3 s at 100x100, against Telegram's 256,000 bytes.
    const path = await ffmpegFile(
      'heavy.webm',
      ['nullsrc=s=100x100:r=12:d=3,format=rgba,geq=random(1)*255:random(2)*255:random(3)*255:a=255*lt(X\\,50)'],
      ['-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p', '-crf', '0', '-b:v', '0', '-deadline', 'realtime', '-cpu-used', '8'],
    );
    const result = await checkAgainstTarget(path, 'telegram-emoji');
    expect(result.breaches.map((b) => b.limit)).toEqual(['bytes']);
    expect(result.breaches[0]!.actual).toBeGreaterThan(256_000);
  });

  it('a WebP that plays once, with 5 ms frames, at the wrong size', async () => {
    const path = await ffmpegFile('fast.webp', [movingBlock(64, 64, 200, 0.05)], ['-c:v', 'libwebp_anim', '-loop', '1']);
    const result = await checkAgainstTarget(path, 'whatsapp');
    expect(result.breaches.map((b) => b.limit)).toEqual(['pixels', 'min-frame-duration', 'loop']);
    expect(result.breaches[1]).toMatchObject({ limitValue: 8, actual: 5 });
    expect(result.breaches[2]!.message).toBe('expected the animation to loop forever but it plays once');
  });

  it('a palette APNG for Signal, and a GIF', async () => {
    const palette = ['-filter_complex', 'split[a][b];[a]palettegen=reserve_transparent=1[p];[b][p]paletteuse'];
    const apng = await ffmpegFile('palette.png', [movingBlock(512, 512, 10, 0.3)], [...palette, '-c:v', 'apng', '-plays', '0', '-f', 'apng']);
    expect(await breaches(apng, 'signal')).toEqual(['palette']);
    const gif = await ffmpegFile('signal.gif', [movingBlock(512, 512, 10, 0.3)], palette);
    expect(await breaches(gif, 'signal')).toEqual(['container', 'palette']);
  });

  it('LINE: too many frames, looping forever; and plays that add up to more than 4 s', async () => {
    const many = await ffmpegFile('many.png', [movingBlock(320, 270, 10, 2.4)], ['-c:v', 'apng', '-pix_fmt', 'rgba', '-plays', '0', '-f', 'apng']);
    const result = await checkAgainstTarget(many, 'line');
    expect(result.breaches.map((b) => b.limit)).toEqual(['frames', 'loop']);
    expect(result.breaches[0]!.message).toBe('expected 5 to 20 frames but the file has 24');
    const long = await ffmpegFile('long.png', [movingBlock(320, 270, 5, 2)], ['-c:v', 'apng', '-pix_fmt', 'rgba', '-plays', '3', '-f', 'apng']);
    const total = await checkAgainstTarget(long, 'line');
    expect(total.breaches).toEqual([
      { limit: 'loop', message: 'expected all plays together to last at most 4 s but 3 plays of 2.000 s last 6.000 s', limitValue: 4, actual: 6 },
    ]);
  });

  it('a GIF too long for Discord', async () => {
    const path = await ffmpegFile(
      'long.gif',
      [movingBlock(320, 320, 2, 6)],
      ['-filter_complex', 'split[a][b];[a]palettegen=reserve_transparent=1[p];[b][p]paletteuse'],
    );
    const result = await checkAgainstTarget(path, 'discord');
    expect(result.breaches.map((b) => b.limit)).toEqual(['duration']);
    expect(result.breaches[0]).toMatchObject({ limitValue: 5, actual: 6 });
  });

  it('assertMeetsTarget refuses with LIMIT_EXCEEDED naming every broken limit', async () => {
    const path = await ffmpegFile('fast2.webp', [movingBlock(64, 64, 200, 0.05)], ['-c:v', 'libwebp_anim', '-loop', '1']);
    const error = await refusal(assertMeetsTarget(path, 'whatsapp', 'out.webp'));
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'pixels' });
    expect(error.message).toMatch(
      /^Expected out\.webp to meet WhatsApp animated sticker limits \(--target whatsapp\) but it breaks 3 limits: pixels: .*; min-frame-duration: .*; loop: /,
    );
  });

  it('refuses what is not media', async () => {
    const error = await refusal(checkAgainstTarget(join(dir, 'missing.webm'), 'telegram'));
    expect(error).toMatchObject({ code: 'UNSUPPORTED_INPUT' });
  });
});
