/**
 * What phones and browsers upload, made with ffmpeg here the way those devices make it, rendered
 * through the real pipeline, and checked on the OUTPUT: size, orientation, frame count, timing,
 * colours, alpha. Each clip is tiny (about 1 s at 160x90) so the file stays fast.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBinary, ffprobeBinary, parseRawOutputStream, probe, runPipeline, type Progress } from '../src/index.js';
import { decodeAll, ffmpegDescendants, refusal, tempDir } from './helpers.js';

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const GREEN = [0x00, 0xb1, 0x40];
const ORANGE = [0xff, 0x80, 0x00];

async function ffmpeg(args: string[]): Promise<void> {
  await run(ffmpegBinary(), ['-v', 'error', '-y', ...args]);
}

/** An upright w x h picture: green, with an orange box in its top-left quarter (the orientation mark). */
function marked(w: number, h: number, rate = 24, seconds = 1): string {
  return `color=c=0x00b140:s=${w}x${h}:r=${rate}:d=${seconds},drawbox=x=0:y=0:w=${w / 2}:h=${h / 2}:color=0xff8000:t=fill`;
}

const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p'];

/** RGBA pixel (x, y) of frame `n` of a decoded w x h buffer. */
function pixel(data: Buffer, w: number, h: number, x: number, y: number, n = 0): number[] {
  const p = n * w * h * 4 + (y * w + x) * 4;
  return [data[p]!, data[p + 1]!, data[p + 2]!, data[p + 3]!];
}

function expectColour(actual: number[], expected: number[], tolerance: number, what: string): void {
  for (let c = 0; c < expected.length; c++) {
    expect(Math.abs(actual[c]! - expected[c]!), `${what}: ${actual.join(',')} vs ${expected.join(',')}`).toBeLessThanOrEqual(tolerance);
  }
}

/** Renders with no stages to ProRes 4444 (near-lossless, keeps alpha) and decodes the output back. */
async function render(input: string, name: string, extra: { posterize?: number } = {}) {
  const output = join(dir, `${name}.mov`);
  const progress: Progress[] = [];
  const result = await runPipeline({ input, output, ...extra, onProgress: (p) => progress.push(p) });
  const info = await probe(output);
  const frames = await decodeAll(output);
  return { result, info, frames, progress };
}

describe('real-world inputs', () => {
  // Stored as the sensor sees it, with a display matrix saying how to turn it upright. Writing
  // `rotate=T` makes ffmpeg store a matrix whose counter-clockwise rotation ffprobe reports; the
  // stored picture is the upright one turned the other way, so a correct decode gets it back.
  it.each([
    { tag: 90, ccw: 90, store: 'transpose=clock' },
    { tag: 180, ccw: 180, store: 'hflip,vflip' },
    { tag: 270, ccw: -90, store: 'transpose=cclock' },
  ])('renders a phone clip with rotate=$tag upright, at its display size', async ({ tag, ccw, store }) => {
    const stored = join(dir, `stored-${tag}.mp4`);
    const clip = join(dir, `rotated-${tag}.mp4`);
    const portrait = tag !== 180;
    const [w, h] = portrait ? [90, 160] : [160, 90];
    await ffmpeg(['-f', 'lavfi', '-i', `${marked(w, h)},${store}`, ...x264, stored]);
    await ffmpeg(['-i', stored, '-c', 'copy', '-metadata:s:v', `rotate=${tag}`, clip]);
    // The fixture's own claim, read straight from ffprobe (not through our probe).
    const { stdout } = await run(ffprobeBinary(), ['-v', 'error', '-of', 'json', '-show_entries', 'stream_side_data=rotation', clip]);
    expect(Math.abs(JSON.parse(stdout).streams[0].side_data_list[0].rotation)).toBe(Math.abs(ccw));

    const source = await probe(clip);
    expect(source).toMatchObject({ width: w, height: h, codedWidth: portrait ? h : w, codedHeight: portrait ? w : h });
    const { result, info, frames } = await render(clip, `rotated-${tag}`);
    expect({ width: info.width, height: info.height, rotation: info.rotation }).toEqual({ width: w, height: h, rotation: 0 });
    expect(result.frames).toBe(24);
    expect(frames.length).toBe(24 * w * h * 4);
    // The mark is top-left in every frame, as in the upright clip; the opposite corner is screen.
    for (const n of [0, 23]) {
      expectColour(pixel(frames, w, h, 5, 5, n), ORANGE, 8, `frame ${n} top-left`);
      expectColour(pixel(frames, w, h, w - 6, h - 6, n), GREEN, 8, `frame ${n} bottom-right`);
      expectColour(pixel(frames, w, h, w - 6, 5, n), GREEN, 8, `frame ${n} top-right`);
    }
  });

  it('accepts a streamed WebM (no duration, no frame count), counts its frames and enforces the limits while decoding', async () => {
    const clip = join(dir, 'recorded.webm');
    // Written to a pipe, as a browser's MediaRecorder streams it: no duration, no cues.
    const { stdout } = await run(
      ffmpegBinary(),
      ['-v', 'error', '-f', 'lavfi', '-i', marked(160, 90, 30, 2), '-c:v', 'libvpx', '-b:v', '1M', '-f', 'webm', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 64 << 20 },
    );
    await import('node:fs/promises').then((fs) => fs.writeFile(clip, stdout));
    const source = await probe(clip);
    expect(source).toMatchObject({ width: 160, height: 90, fps: 30, duration: undefined, frameCount: undefined });

    const { result, info, frames, progress } = await render(clip, 'recorded');
    expect(result.frames).toBe(60);
    expect(result.sourceFrames).toBe(60);
    expect(info.duration).toBeCloseTo(2, 1);
    const during = progress.filter((p) => p.stage === 'frames');
    expect(during.length).toBe(60);
    expect(during.every((p) => p.totalFrames === undefined && p.etaSeconds === undefined)).toBe(true);
    expect(progress.at(-1)!.totalFrames).toBe(60);
    expectColour(pixel(frames, 160, 90, 5, 5, 30), ORANGE, 16, 'mark');
    expectColour(pixel(frames, 160, 90, 150, 80, 30), GREEN, 16, 'screen');

    for (const [limits, limit] of [
      [{ maxDurationSeconds: 1 }, 'maxDurationSeconds'],
      [{ maxFrames: 20 }, 'maxFrames'],
    ] as const) {
      const output = join(dir, `limited-${limit}.webm`);
      const error = await refusal(runPipeline({ input: clip, output, limits }));
      expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', limit });
      expect((await readdir(dir)).filter((f) => f.includes('limited-'))).toEqual([]);
      expect(ffmpegDescendants()).toEqual([]);
    }
  });

  it('stretches non-square pixels (SAR 4:3) to the display aspect', async () => {
    const clip = join(dir, 'sar.mp4');
    // 120x90 coded, pixels 4:3 wide: shown 160x90. The mark covers the left half of the coded width.
    await ffmpeg(['-f', 'lavfi', '-i', `${marked(120, 90)},setsar=4/3`, ...x264, clip]);
    const source = await probe(clip);
    expect(source).toMatchObject({ width: 160, height: 90, codedWidth: 120, sampleAspectRatio: 4 / 3 });
    const { info, frames, result } = await render(clip, 'sar');
    expect([info.width, info.height, info.sampleAspectRatio, result.frames]).toEqual([160, 90, 1, 24]);
    expectColour(pixel(frames, 160, 90, 75, 20), ORANGE, 8, 'mark reaches x=75 once stretched');
    expectColour(pixel(frames, 160, 90, 85, 20), GREEN, 8, 'screen right of the stretched mark');
  });

  it.each([
    // A saturated green where BT.601 and BT.709 differ by tens of levels, and full vs limited range.
    { name: 'bt601-sd', matrix: 'smpte170m', sws: 'bt601', range: 'tv' },
    { name: 'bt709-tagged', matrix: 'bt709', sws: 'bt709', range: 'tv' },
    { name: 'bt709-full', matrix: 'bt709', sws: 'bt709', range: 'pc' },
  ])('converts $name with its own matrix and range', async ({ name, matrix, sws, range }) => {
    const clip = join(dir, `${name}.mp4`);
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `${marked(160, 90)},format=rgb24,scale=out_color_matrix=${sws}:out_range=${range},format=yuv444p`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-qp',
      '0',
      '-pix_fmt',
      'yuv444p',
      '-colorspace',
      matrix,
      '-color_range',
      range,
      '-color_primaries',
      matrix === 'bt709' ? 'bt709' : 'smpte170m',
      '-color_trc',
      'bt709',
      clip,
    ]);
    const source = await probe(clip);
    expect(source.colour).toMatchObject({ matrix, range });
    const { frames, info } = await render(clip, name);
    expect([info.width, info.height]).toEqual([160, 90]);
    expectColour(pixel(frames, 160, 90, 5, 5), ORANGE, 6, `${name} mark`);
    expectColour(pixel(frames, 160, 90, 150, 80), GREEN, 6, `${name} screen`);
  });

  it('tone-maps 10-bit HLG HEVC (BT.2020) to SDR BT.709', async () => {
    const clip = join(dir, 'hlg.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `${marked(160, 90)},format=yuv420p10le`,
      '-c:v',
      'libx265',
      '-x265-params',
      'log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc',
      '-color_primaries',
      'bt2020',
      '-color_trc',
      'arib-std-b67',
      '-colorspace',
      'bt2020nc',
      '-color_range',
      'tv',
      clip,
    ]);
    const source = await probe(clip);
    expect(source.colour).toEqual({ matrix: 'bt2020nc', range: 'tv', transfer: 'arib-std-b67', primaries: 'bt2020' });
    expect(source.pixelFormat).toBe('yuv420p10le');
    const { frames, info, result } = await render(clip, 'hlg');
    expect([info.width, info.height, result.frames]).toEqual([160, 90, 24]);
    // The code values were written as BT.709 orange/green but tagged HLG BT.2020: read as what they
    // claim, linearised and tone-mapped, they are a saturated red and a darker green (the same on the
    // 2018 build and on 5.1). Read naively as BT.709 SDR they would stay orange and screen green.
    const mark = pixel(frames, 160, 90, 20, 20);
    const screen = pixel(frames, 160, 90, 140, 70);
    expectColour(mark, [255, 0, 0], 12, 'tone-mapped mark');
    expectColour(screen, [0, 163, 0], 12, 'tone-mapped screen');
    const naive = await decodeAll(clip);
    expect(Math.abs(pixel(naive, 160, 90, 20, 20)[1]! - mark[1]!)).toBeGreaterThan(60);
  });

  it('keeps the timing of a variable-rate clip, with and without posterize', async () => {
    const clip = join(dir, 'vfr.mp4');
    // One second of orange at 30 fps, then one second of green at 10 fps: 40 frames over 2 s.
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'color=c=0xff8000:s=160x90:r=30:d=1',
      '-f',
      'lavfi',
      '-i',
      'color=c=0x00b140:s=160x90:r=10:d=1',
      '-filter_complex',
      '[0:v][1:v]concat=n=2:v=1[v]',
      '-map',
      '[v]',
      '-vsync',
      'vfr',
      ...x264,
      clip,
    ]);
    const source = await probe(clip);
    // The average rate: 40 frames over the container's duration (which ends at the last timestamp).
    expect(source.fps).toBeGreaterThan(19.5);
    expect(source.fps).toBeLessThan(22);
    expect(source.frameCount).toBe(40);
    const frame = 1 / source.fps;

    const plain = await render(clip, 'vfr');
    expect(Math.abs(plain.result.frames - 40)).toBeLessThanOrEqual(1);
    expect(Math.abs(plain.info.duration! - source.duration!)).toBeLessThanOrEqual(frame + 1e-3);
    // By timestamp: just before 1 s is the first colour, just after it the second.
    expectColour(pixel(plain.frames, 160, 90, 80, 45, 18), ORANGE, 8, 'frame at 0.9 s');
    expectColour(pixel(plain.frames, 160, 90, 80, 45, 22), GREEN, 8, 'frame at 1.1 s');

    const posterized = await render(clip, 'vfr-8', { posterize: 8 });
    expect(Math.abs(posterized.result.frames - 16)).toBeLessThanOrEqual(1);
    expect(Math.abs(posterized.info.duration! - source.duration!)).toBeLessThanOrEqual(1 / 8 + 1e-3);
    expectColour(pixel(posterized.frames, 160, 90, 80, 45, 7), ORANGE, 8, 'posterized frame at 0.875 s');
    expectColour(pixel(posterized.frames, 160, 90, 80, 45, 9), GREEN, 8, 'posterized frame at 1.125 s');
  });

  it.each([
    { name: 'ProRes 4444', file: 'alpha.mov', codec: ['-c:v', 'prores_ks', '-profile:v', '4', '-pix_fmt', 'yuva444p10le'] },
    { name: 'VP9 WebM with alpha', file: 'alpha.webm', codec: ['-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p', '-b:v', '2M'] },
    { name: 'PNG in MOV', file: 'alpha-png.mov', codec: ['-c:v', 'png', '-pix_fmt', 'rgba'] },
  ])('keeps the alpha of a $name source', async ({ name, file, codec }) => {
    const clip = join(dir, file);
    // Left half transparent, right half opaque orange.
    await ffmpeg(['-f', 'lavfi', '-i', 'color=c=0xff8000:s=160x90:r=24:d=1,format=rgba,geq=r=255:g=128:b=0:a=if(lt(X\\,80)\\,0\\,255)', ...codec, clip]);
    const source = await probe(clip);
    expect(source.hasAlpha, name).toBe(true);
    const { frames, info, result } = await render(clip, file.replace('.', '-'));
    expect([info.width, info.height, result.frames]).toEqual([160, 90, 24]);
    expect(pixel(frames, 160, 90, 20, 45, 12)[3]).toBeLessThanOrEqual(8);
    expectColour(pixel(frames, 160, 90, 140, 45, 12), [...ORANGE, 255], 8, `${name} opaque half`);
  });

  it("reads the raw output's size from ffmpeg's own stream line, on the build in use", async () => {
    const clip = join(dir, 'line.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', marked(90, 160), ...x264, clip]);
    // prettier-ignore
    const child = await run(ffmpegBinary(), [
      '-hide_banner', '-v', 'level+info', '-i', clip, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgba',
      '-y', '/dev/null',
    ]);
    const lines = child.stderr.split('\n');
    const output = lines.slice(lines.findIndex((l) => l.includes('Output #0')));
    const found = output.map(parseRawOutputStream).find(Boolean);
    expect(found).toEqual({ pixelFormat: 'rgba', width: 90, height: 160 });
    // The input's own stream line is not a raw output.
    expect(parseRawOutputStream(lines.find((l) => l.includes('Video: h264'))!)).toBeUndefined();
  });
});
