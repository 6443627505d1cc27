/**
 * bench:speed: what each encoder speed preset costs and what it gives, per format and frame size.
 *
 * The styled frames are made once per size (a fixture clip through the full sticker stack and
 * posterize 12, tapped after the last stage, so they are exactly the frames the pipeline hands
 * its encoder) and written to a raw RGBA file. Each (format, preset) then encodes that file with
 * core's own encoderArgs, so only the encoder differs, and is measured from outside:
 * - CPU seconds of the whole tree (reaped-children times) and ffmpeg's own `-benchmark` maxrss,
 *   the figure the memory model is built from;
 * - output bytes;
 * - quality against the frames we wrote: the output is decoded back to RGBA (with the libvpx
 *   decoder for VP9, the only one that reads the alpha side channel), both are composited over
 *   one background and compared as PSNR, and the alpha planes as PSNR and mean absolute error.
 *   mp4 has no alpha: it is flattened on that same background and only its colour is scored.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_SPEED,
  ENCODER_SPEEDS,
  encoderArgs,
  ffmpegBinary,
  OUTPUT_FORMATS,
  FORMAT_EXTENSIONS,
  MUXER,
  readAnimationInfo,
  webpFrames,
  rawInputArgs,
  runPipeline,
  type EncoderSpeed,
  type Frame,
  type FrameSize,
  type OutputFormat,
  type Stage,
} from '@stickerkey/core';
import { createStickerStack } from '@stickerkey/effects';
import { ensureFixture } from '@stickerkey/fixtures';
import { measureTree } from './measure.js';
import { round } from './stats.js';

const MB = 1024 * 1024;
/** What the colour is judged over: mid grey shows errors in both dark and light edges. */
export const QUALITY_BACKGROUND = '#808080';
/** Identical planes have an infinite PSNR: reported as this, so that JSON and tables keep a number. */
export const PSNR_CAP = 100;

// --- quality score: pure, over caller-owned frames --------------------------------------------

export interface QualityTotals {
  frames: number;
  pixels: number;
  /** Sum of squared errors of the composited colour, over R, G and B. */
  colourSse: number;
  alphaSse: number;
  alphaAbs: number;
}

export interface QualityScore {
  frames: number;
  /** PSNR in dB of the colour composited over the background (what a viewer sees). */
  colourPsnr: number;
  /** PSNR in dB of the alpha plane; null for a format without alpha. */
  alphaPsnr: number | null;
  /** Mean absolute alpha error, 0..255; null for a format without alpha. */
  alphaMae: number | null;
}

export function emptyTotals(): QualityTotals {
  return { frames: 0, pixels: 0, colourSse: 0, alphaSse: 0, alphaAbs: 0 };
}

/**
 * Adds one frame pair to `totals`. Both are straight-alpha RGBA of the same size; each is
 * composited over `background` (0xRRGGBB) with its own alpha before the colours are compared.
 */
export function addFramePair(totals: QualityTotals, reference: Uint8Array, decoded: Uint8Array, background: number): void {
  if (reference.length !== decoded.length) {
    throw new Error(`Expected frames of the same size but received ${reference.length} and ${decoded.length} bytes`);
  }
  const br = (background >> 16) & 255;
  const bg = (background >> 8) & 255;
  const bb = background & 255;
  let colourSse = 0;
  let alphaSse = 0;
  let alphaAbs = 0;
  const n = reference.length;
  for (let p = 0; p < n; p += 4) {
    const a = reference[p + 3]!;
    const b = decoded[p + 3]!;
    const da = a - b;
    alphaSse += da * da;
    alphaAbs += da < 0 ? -da : da;
    // Composite over the background in units of 1/255: (c*a + bg*(255-a)) / 255, both sides.
    const ia = 255 - a;
    const ib = 255 - b;
    const dr = (reference[p]! * a + br * ia - decoded[p]! * b - br * ib) / 255;
    const dg = (reference[p + 1]! * a + bg * ia - decoded[p + 1]! * b - bg * ib) / 255;
    const db = (reference[p + 2]! * a + bb * ia - decoded[p + 2]! * b - bb * ib) / 255;
    colourSse += dr * dr + dg * dg + db * db;
  }
  totals.frames++;
  totals.pixels += n / 4;
  totals.colourSse += colourSse;
  totals.alphaSse += alphaSse;
  totals.alphaAbs += alphaAbs;
}

function psnr(sse: number, samples: number): number {
  if (samples === 0) return 0;
  const mse = sse / samples;
  return mse === 0 ? PSNR_CAP : Math.min(PSNR_CAP, 10 * Math.log10((255 * 255) / mse));
}

export function qualityScore(totals: QualityTotals, hasAlpha: boolean): QualityScore {
  return {
    frames: totals.frames,
    colourPsnr: round(psnr(totals.colourSse, totals.pixels * 3), 2),
    alphaPsnr: hasAlpha ? round(psnr(totals.alphaSse, totals.pixels), 2) : null,
    alphaMae: hasAlpha ? round(totals.pixels === 0 ? 0 : totals.alphaAbs / totals.pixels, 3) : null,
  };
}

// --- decoding an output back to RGBA and scoring it against the raw frames --------------------

/** Decoder arguments: VP9's alpha lives in a side channel only the libvpx decoder reads. */
export function decodeToRgbaArgs(file: string, format: OutputFormat): string[] {
  return [
    '-v',
    'error',
    '-nostdin',
    ...(format === 'webm' ? ['-c:v', 'libvpx-vp9'] : []),
    '-i',
    file,
    '-map',
    '0:v:0',
    // Every coded frame once, whatever the container's timing says (GIF rounds delays to 1/100 s).
    '-vsync',
    'passthrough',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    'pipe:1',
  ];
}

/**
 * Decodes `file` and compares it frame by frame with the raw RGBA frames in `referenceRaw`. Holds
 * two frames at a time, whatever the length.
 */
export async function scoreOutput(
  file: string,
  format: OutputFormat,
  referenceRaw: string,
  size: FrameSize,
  background = QUALITY_BACKGROUND,
): Promise<QualityScore & { decodedFrames: number }> {
  if (format === 'webp') return scoreWebp(file, referenceRaw, size, background);
  const frameBytes = size.width * size.height * 4;
  const bgValue = Number.parseInt(background.replace('#', ''), 16);
  const totals = emptyTotals();
  const reference = new Uint8Array(frameBytes);
  const decoded = new Uint8Array(frameBytes);
  const fd = openSync(referenceRaw, 'r');
  let filled = 0;
  let decodedFrames = 0;
  let referenceEnded = false;
  try {
    const child = spawn(ffmpegBinary(), decodeToRgbaArgs(file, format), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - offset);
        decoded.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          filled = 0;
          decodedFrames++;
          if (referenceEnded) continue;
          const got = readSync(fd, reference, 0, frameBytes, (decodedFrames - 1) * frameBytes);
          if (got < frameBytes) {
            referenceEnded = true;
            continue;
          }
          addFramePair(totals, reference, decoded, bgValue);
        }
      }
    }
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('close', resolve)));
    if (code !== 0) throw new Error(`Expected ffmpeg to decode ${file} but it exited with ${code}: ${stderr.trim()}`);
  } finally {
    closeSync(fd);
  }
  return { ...qualityScore(totals, format !== 'mp4'), decodedFrames };
}

/**
 * scoreOutput for animated WebP, which ffmpeg 5.1 cannot decode: core's webpFrames (libwebp,
 * through sharp) composites each frame. WebPAnimEncoder merges identical consecutive frames, so the
 * decoded count can be below the reference's; frames are paired in order, as for the others.
 */
async function scoreWebp(file: string, referenceRaw: string, size: FrameSize, background: string): Promise<QualityScore & { decodedFrames: number }> {
  const frameBytes = size.width * size.height * 4;
  const bgValue = Number.parseInt(background.replace('#', ''), 16);
  const totals = emptyTotals();
  const reference = new Uint8Array(frameBytes);
  const fd = openSync(referenceRaw, 'r');
  let decodedFrames = 0;
  try {
    const count = readAnimationInfo(file).frames;
    for await (const frame of webpFrames(
      file,
      Array.from({ length: count }, (_, i) => i),
    )) {
      if (readSync(fd, reference, 0, frameBytes, decodedFrames * frameBytes) < frameBytes) break;
      decodedFrames++;
      addFramePair(totals, reference, frame.data, bgValue);
    }
  } finally {
    closeSync(fd);
  }
  return { ...qualityScore(totals, true), decodedFrames };
}

// --- styled frames, made once per size -------------------------------------------------------

export interface StyledFrames {
  raw: string;
  size: FrameSize;
  fps: number;
  frames: number;
  source: string;
}

/** A last stage that copies each finished frame to `fd`: the frames exactly as the encoder gets them. */
function tapStage(fd: number): Stage {
  return {
    name: 'speed-bench-tap',
    margin: 0,
    producesAlpha: false,
    async setup() {},
    process(frame: Frame) {
      writeSync(fd, frame.data, 0, frame.data.byteLength);
    },
  };
}

export async function makeStyledFrames(dir: string, height: number, seconds: number, posterize = 12): Promise<StyledFrames> {
  const fixture = await ensureFixture({ screen: 'green', height, seconds, fps: 24 });
  const raw = join(dir, `styled-${height}p.rgba`);
  const fd = openSync(raw, 'w');
  try {
    const result = await runPipeline({
      input: fixture.video,
      output: join(dir, `styled-${height}p.webm`),
      stages: [...createStickerStack({ preset: 'sticker' }), tapStage(fd)],
      posterize,
      speed: 'fast',
    });
    return { raw, size: { width: result.width, height: result.height }, fps: result.fps, frames: result.frames, source: fixture.video };
  } finally {
    closeSync(fd);
  }
}

// --- one encode, measured ---------------------------------------------------------------------

export interface SpeedRun {
  height: number;
  width: number;
  canvasHeight: number;
  frames: number;
  format: OutputFormat;
  speed: EncoderSpeed;
  args: string[];
  cpuSeconds: number;
  cpuMsPerFrame: number;
  wallSeconds: number;
  /** ffmpeg's own `-benchmark` maxrss, MB. */
  maxRssMb: number;
  /** Sampled peak of the encoder's tree, MB. */
  peakTreeRssMb: number;
  bytes: number;
  quality: QualityScore & { decodedFrames: number };
}

export async function measureEncode(styled: StyledFrames, height: number, format: OutputFormat, speed: EncoderSpeed, dir: string): Promise<SpeedRun> {
  const output = join(dir, `${height}p-${speed}${FORMAT_EXTENSIONS[format][0]}`);
  const args = encoderArgs(format, { size: styled.size, fps: styled.fps, speed, background: QUALITY_BACKGROUND });
  // Our raw input options, reading the file in place of the pipe.
  const input = rawInputArgs(styled.size, styled.fps).map((a) => (a === 'pipe:0' ? styled.raw : a));
  const measured = await measureTree(
    ffmpegBinary(),
    ['-hide_banner', '-nostdin', '-nostats', '-benchmark', '-v', 'info', '-y', ...input, ...args, '-f', MUXER[format], output],
    { rootLabel: 'ffmpeg encode' },
  );
  if (measured.code !== 0) {
    throw new Error(`Expected ffmpeg to encode ${format}/${speed} at ${height}p but it exited with ${measured.code}: ${measured.stderr.slice(-1500)}`);
  }
  const maxrss = /bench: maxrss=(\d+)kB/.exec(measured.stderr);
  const bytes = (await stat(output)).size;
  const quality = await scoreOutput(output, format, styled.raw, styled.size);
  await rm(output, { force: true });
  return {
    height,
    width: styled.size.width,
    canvasHeight: styled.size.height,
    frames: styled.frames,
    format,
    speed,
    args,
    cpuSeconds: round(measured.cpuSeconds, 3),
    cpuMsPerFrame: round((measured.cpuSeconds * 1000) / styled.frames, 1),
    wallSeconds: round(measured.wallSeconds, 2),
    maxRssMb: maxrss ? round(Number(maxrss[1]) / 1024, 1) : 0,
    peakTreeRssMb: round(measured.peakTreeRss / MB, 1),
    bytes,
    quality,
  };
}

// --- the whole bench --------------------------------------------------------------------------

export interface SpeedBenchOptions {
  heights: number[];
  seconds: number;
  formats: OutputFormat[];
  speeds: EncoderSpeed[];
  outDir: string;
  log?: (line: string) => void;
}

export interface SpeedReport {
  createdAt: string;
  ffmpeg: { path: string; version: string };
  defaultSpeed: EncoderSpeed;
  cores: number;
  runs: SpeedRun[];
}

async function ffmpegVersion(): Promise<string> {
  const child = spawn(ffmpegBinary(), ['-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  return text.split('\n')[0] ?? '';
}

export function formatSpeedTable(report: SpeedReport): string {
  const lines = [
    `ffmpeg: ${report.ffmpeg.version} (${report.ffmpeg.path}); default preset: ${report.defaultSpeed}; ${report.cores} cores`,
    '',
    '| size | format | preset | CPU s | CPU ms/frame | maxrss MB | bytes | bytes vs balanced | colour PSNR dB | alpha PSNR dB | alpha MAE |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const run of report.runs) {
    const balanced = report.runs.find((r) => r.height === run.height && r.format === run.format && r.speed === 'balanced');
    const ratio = balanced ? `${round(run.bytes / balanced.bytes, 2)}x` : '';
    const q = run.quality;
    lines.push(
      `| ${run.width}x${run.canvasHeight} | ${run.format} | ${run.speed}${run.speed === report.defaultSpeed ? ' (default)' : ''} | ${run.cpuSeconds} | ${run.cpuMsPerFrame} | ${run.maxRssMb} | ${run.bytes} | ${ratio} | ${q.colourPsnr} | ${q.alphaPsnr ?? '-'} | ${q.alphaMae ?? '-'} |`,
    );
  }
  lines.push('', `${report.runs[0]?.frames ?? 0} styled frames per size (fixture clip, sticker stack, posterize 12); CPU = user+sys of the encoder's tree.`);
  return lines.join('\n');
}

export async function runSpeedBench(options: SpeedBenchOptions): Promise<SpeedReport> {
  const log = options.log ?? (() => {});
  const dir = await mkdtemp(join(os.tmpdir(), 'stickerkey-speed-'));
  const runs: SpeedRun[] = [];
  try {
    for (const height of options.heights) {
      log(`styling ${options.seconds} s of the ${height}p fixture (sticker stack, posterize 12)...`);
      const styled = await makeStyledFrames(dir, height, options.seconds);
      for (const format of options.formats) {
        for (const speed of options.speeds) {
          const run = await measureEncode(styled, height, format, speed, dir);
          log(
            `${height}p ${format} ${speed}: ${run.cpuSeconds} s CPU, ${run.maxRssMb} MB maxrss, ${run.bytes} bytes, colour ${run.quality.colourPsnr} dB, alpha MAE ${run.quality.alphaMae ?? '-'}`,
          );
          runs.push(run);
        }
      }
      await rm(styled.raw, { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const report: SpeedReport = {
    createdAt: new Date().toISOString(),
    ffmpeg: { path: ffmpegBinary(), version: await ffmpegVersion() },
    defaultSpeed: DEFAULT_SPEED,
    cores: os.availableParallelism(),
    runs,
  };
  await mkdir(options.outDir, { recursive: true });
  await writeFile(join(options.outDir, 'speed.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(options.outDir, 'speed.md'), `${formatSpeedTable(report)}\n`);
  return report;
}

export function parseList<T extends string>(value: string, allowed: readonly T[], name: string): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new Error(`Expected ${name} from ${allowed.join(', ')} but received ${JSON.stringify(item)}`);
    }
  }
  return items as T[];
}

export { ENCODER_SPEEDS, OUTPUT_FORMATS };
