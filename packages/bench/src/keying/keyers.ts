/**
 * The two keyers bench:keying compares, each from an encoded clip to straight-RGBA frames.
 *
 * - ours: the `--preset key` stack from @stickerkey/effects (createStickerStack, the stages the
 *   worker builds), set up with the pipeline's own PreloadContext (sampleFrames over the clip's
 *   keyframes) and fed the frames as the pipeline decodes them (core's decodeFilter: the clip's
 *   own colour matrix and range). Only the encoder is left out: it would change the alpha.
 * - ffmpeg: chromakey (+ despill) run by a real ffmpeg on the clip's decoded frames in their
 *   native chroma subsampling (4:2:0 or 4:2:2, as chromakey sees an upload), then converted with
 *   the clip's BT.709 matrix. One ffmpeg evaluates several similarities at once (split + vstack)
 *   so that the oracle's grid costs few processes.
 */
import { createStickerStack } from '@stickerkey/effects';
import { canvasPadding, decodeFilter, probe, sampleFrames, spawnFfmpeg, type Frame, type ProbeResult } from '@stickerkey/core';
import type { ScreenColour } from './metrics.js';

export interface FfmpegOutput {
  stdout: Buffer;
  cpuSeconds: number;
}

/** Runs our ffmpeg (core's binary) with `args`, optionally feeding `stdin`; rejects with its stderr tail. */
export async function ffmpegToBuffer(args: readonly string[], stdin?: Uint8Array): Promise<FfmpegOutput> {
  const ff = spawnFfmpeg(['-y', ...args]);
  const chunks: Buffer[] = [];
  ff.child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  // EPIPE when ffmpeg fails early: reported with its exit below.
  ff.child.stdin!.on('error', () => undefined);
  if (stdin) ff.child.stdin!.end(stdin);
  else ff.child.stdin!.end();
  const exit = await ff.exited;
  if (exit.code !== 0) {
    throw new Error(`ffmpeg ${args.join(' ').slice(0, 300)} exited with ${exit.code ?? exit.signal}: ${ff.stderrTail()}`);
  }
  return { stdout: Buffer.concat(chunks), cpuSeconds: exit.cpuSeconds };
}

function splitFrames(raw: Buffer, frameBytes: number, expected: number, what: string): Uint8Array[] {
  if (raw.length !== frameBytes * expected) {
    throw new Error(`${what}: expected ${expected} frames of ${frameBytes} bytes but received ${raw.length} bytes`);
  }
  const frames: Uint8Array[] = [];
  for (let k = 0; k < expected; k++) frames.push(new Uint8Array(raw.buffer, raw.byteOffset + k * frameBytes, frameBytes));
  return frames;
}

export interface OurKeying {
  /** Straight RGBA per frame. */
  frames: Uint8Array[];
  /** CPU seconds of this process in the stages' setup (screen estimate) and in the per-frame work. */
  setupCpuSeconds: number;
  frameCpuSeconds: number;
}

/** Keys every frame of `video` with our `key` preset at default options, or with `chromaKey` options over them (sweeps on the tuning set). */
export async function keyWithOurs(video: string, expectedFrames: number, chromaKey: object = {}): Promise<OurKeying> {
  const source = await probe(video);
  const stages = createStickerStack({ preset: 'key', effects: { 'chroma-key': chromaKey } });
  const pad = canvasPadding(source, stages);
  if (pad.left + pad.top + pad.right + pad.bottom > 0) {
    // The keyer draws nothing outside the character; a margin would shift every pixel against the truth.
    throw new Error(`Expected the key preset to need no canvas padding but it asks for ${JSON.stringify(pad)}`);
  }
  const size = { width: source.width, height: source.height };
  const before = process.cpuUsage();
  for (const stage of stages) {
    await stage.setup({ size, sampleFrames: async (count) => (await sampleFrames({ input: source, canvas: size, count })).frames });
  }
  const setup = process.cpuUsage(before);
  const frames = await decodeAsPipeline(source, expectedFrames);
  const start = process.cpuUsage();
  frames.forEach((data, index) => {
    const frame: Frame = { data, ...size, index, pts: index };
    for (const stage of stages) stage.process(frame);
  });
  const work = process.cpuUsage(start);
  return {
    frames,
    setupCpuSeconds: (setup.user + setup.system) / 1e6,
    frameCpuSeconds: (work.user + work.system) / 1e6,
  };
}

/**
 * Every frame of the probed clip `source` as straight RGBA, decoded as the pipeline decodes it:
 * core's decodeFilter (the clip's own matrix and range, turned upright) with ffmpeg's autorotate
 * off, as the pipeline's decoder runs. Also what the keyer's cost and hash scripts key
 * (packages/effects/bench/fixture-frames.mjs).
 */
export async function decodeAsPipeline(source: ProbeResult, expectedFrames: number): Promise<Uint8Array[]> {
  const { stdout } = await ffmpegToBuffer([
    '-noautorotate',
    '-i',
    source.path,
    '-map',
    '0:v:0',
    '-an',
    '-vf',
    decodeFilter(source),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    'pipe:1',
  ]);
  return splitFrames(stdout, source.width * source.height * 4, expectedFrames, `decoding ${source.path}`);
}

export type ChromaLayout = '420' | '422';

export interface NativeClip {
  width: number;
  height: number;
  chroma: ChromaLayout;
  frames: number;
  /** Every frame as decoded, planar YUV in its own subsampling, back to back. */
  yuv: Buffer;
}

export function yuvFormat(chroma: ChromaLayout, alpha = false): string {
  return `yuv${alpha ? 'a' : ''}${chroma === '422' ? '422' : '420'}p`;
}

/** Bytes of one planar frame: luma plus two chroma planes. */
export function yuvFrameBytes(clip: Pick<NativeClip, 'width' | 'height' | 'chroma'>): number {
  const chroma = (clip.width / 2) * (clip.chroma === '422' ? clip.height : clip.height / 2);
  return clip.width * clip.height + 2 * chroma;
}

/** Decodes `video` once to raw YUV in its native subsampling; every oracle run replays these bytes. */
export async function decodeNative(video: string, chroma: ChromaLayout, width: number, height: number, frames: number): Promise<NativeClip> {
  const { stdout } = await ffmpegToBuffer(['-i', video, '-map', '0:v:0', '-an', '-f', 'rawvideo', '-pix_fmt', yuvFormat(chroma), 'pipe:1']);
  const clip = { width, height, chroma, frames, yuv: stdout };
  splitFrames(stdout, yuvFrameBytes(clip), frames, `decoding ${video}`);
  return clip;
}

/** A clip of only the frames `indices` (the oracle searches on the scored frames alone). */
export function selectFrames(clip: NativeClip, indices: readonly number[]): NativeClip {
  const bytes = yuvFrameBytes(clip);
  const yuv = Buffer.allocUnsafe(bytes * indices.length);
  indices.forEach((k, j) => clip.yuv.copy(yuv, j * bytes, k * bytes, (k + 1) * bytes));
  return { ...clip, frames: indices.length, yuv };
}

/** A chromakey key colour: the pure screen colour (RGB) or a measured one (YUV, chromakey's yuv=1). */
export type KeyColour = { kind: 'pure' } | { kind: 'measured'; y: number; u: number; v: number };

function keyColourOption(screen: ScreenColour, colour: KeyColour): string {
  if (colour.kind === 'pure') return `color=${screen === 'green' ? '0x00ff00' : '0x0000ff'}`;
  const hex = (n: number) => Math.round(n).toString(16).padStart(2, '0');
  return `color=0x${hex(colour.y)}${hex(colour.u)}${hex(colour.v)}:yuv=1`;
}

function rawInput(clip: NativeClip): string[] {
  return ['-f', 'rawvideo', '-pix_fmt', yuvFormat(clip.chroma), '-s', `${clip.width}x${clip.height}`, '-r', '24', '-i', 'pipe:0'];
}

/**
 * Alpha planes of chromakey at one colour and blend for several similarities, from one ffmpeg:
 * result[s][k] is similarity s, frame k (w*h bytes).
 */
export async function chromakeyAlphas(
  clip: NativeClip,
  screen: ScreenColour,
  colour: KeyColour,
  blend: number,
  similarities: readonly number[],
): Promise<{ alphas: Uint8Array[][]; cpuSeconds: number }> {
  const n = similarities.length;
  const key = (s: number) => `chromakey=${keyColourOption(screen, colour)}:similarity=${s}:blend=${blend},extractplanes=a`;
  const head = `[0:v]format=${yuvFormat(clip.chroma, true)}`;
  const graph =
    n === 1
      ? `${head},${key(similarities[0]!)}[out]`
      : `${head},split=${n}${similarities.map((_, i) => `[s${i}]`).join('')};` +
        similarities.map((s, i) => `[s${i}]${key(s)}[a${i}]`).join(';') +
        `;${similarities.map((_, i) => `[a${i}]`).join('')}vstack=inputs=${n}[out]`;
  const { stdout, cpuSeconds } = await ffmpegToBuffer(
    [...rawInput(clip), '-filter_complex', graph, '-map', '[out]', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
    clip.yuv,
  );
  const plane = clip.width * clip.height;
  const stacked = splitFrames(stdout, plane * n, clip.frames, 'chromakey grid');
  const alphas = similarities.map((_, s) => stacked.map((frame) => frame.subarray(s * plane, (s + 1) * plane)));
  return { alphas, cpuSeconds };
}

export interface DespillSetting {
  mix: number;
  expand: number;
}

/** Straight RGBA of chromakey + despill at one setting, converted with the clip's BT.709 matrix. */
export async function chromakeyDespill(
  clip: NativeClip,
  screen: ScreenColour,
  colour: KeyColour,
  similarity: number,
  blend: number,
  despill: DespillSetting,
): Promise<{ frames: Uint8Array[]; cpuSeconds: number }> {
  // ffmpeg's despill scales green by default (green=-1) even with type=blue: a blue screen needs
  // blue=-1:green=0 to be despilled at all. The oracle gets the right settings.
  const type = screen === 'green' ? 'type=green' : 'type=blue:green=0:blue=-1';
  const chain = [
    `format=${yuvFormat(clip.chroma, true)}`,
    `chromakey=${keyColourOption(screen, colour)}:similarity=${similarity}:blend=${blend}`,
    'scale=in_color_matrix=bt709:in_range=tv',
    'format=rgba',
    `despill=${type}:mix=${despill.mix}:expand=${despill.expand}`,
  ].join(',');
  const { stdout, cpuSeconds } = await ffmpegToBuffer([...rawInput(clip), '-vf', chain, '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'], clip.yuv);
  return { frames: splitFrames(stdout, clip.width * clip.height * 4, clip.frames, 'chromakey+despill'), cpuSeconds };
}

/**
 * The median Y, U, V of the clip's true screen pixels over `frames` (a chroma sample counts
 * when every luma pixel it covers is screen): the best single colour chromakey could be given.
 */
export function measuredScreen(clip: NativeClip, truths: ReadonlyMap<number, Uint8Array>): KeyColour {
  const { width: w, height: h } = clip;
  const frameBytes = yuvFrameBytes(clip);
  const cw = w / 2;
  const vs = clip.chroma === '422' ? 1 : 2;
  const ch = h / vs;
  const hist = [new Float64Array(256), new Float64Array(256), new Float64Array(256)];
  for (const [k, truth] of truths) {
    const base = k * frameBytes;
    for (let i = 0; i < w * h; i++) if (truth[i] === 0) hist[0]![clip.yuv[base + i]!]!++;
    for (let cy = 0; cy < ch; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        let screen = true;
        for (let dy = 0; dy < vs && screen; dy++) {
          const row = (cy * vs + dy) * w + 2 * cx;
          screen = truth[row] === 0 && truth[row + 1] === 0;
        }
        if (!screen) continue;
        const c = cy * cw + cx;
        hist[1]![clip.yuv[base + w * h + c]!]!++;
        hist[2]![clip.yuv[base + w * h + cw * ch + c]!]!++;
      }
    }
  }
  const median = (hs: Float64Array): number => {
    let total = 0;
    for (const v of hs) total += v;
    let acc = 0;
    for (let v = 0; v < 256; v++) if ((acc += hs[v]!) >= total / 2) return v;
    return 255;
  };
  return { kind: 'measured', y: median(hist[0]!), u: median(hist[1]!), v: median(hist[2]!) };
}
