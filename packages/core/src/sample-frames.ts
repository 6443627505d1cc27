/**
 * sampleFrames(): a few frames spread over the clip, for one-off estimates in an effect's
 * `preload` (the keyer's screen colour), at a cost that does not grow with the GOP.
 *
 * Seeking to an arbitrary time decodes from the previous keyframe: on a phone clip or an x264
 * upload with one keyframe, six accurate seeks decode most of the clip six times (measured: 17 s
 * of a 33 s 1080p job). So we only take keyframes, which decode on their own:
 * 1. list the keyframes' times from the packets (ffprobe reads the container, decodes nothing;
 *    the pipeline's probe lists them with the header, ProbeOptions.keyframes);
 * 2. pick up to `count` distinct keyframes nearest to evenly spread times;
 * 3. decode exactly those, in ONE ffmpeg: one input per keyframe, each seeked without
 *    `accurate_seek` (the first frame out is the keyframe itself), each feeding one output of one
 *    frame on its own pipe. ffmpeg stops reading an input once its output has its frame.
 * The first keyframe is the first frame, which the main decode makes anyway: given `firstFrame`
 * (FrameDecoder.firstFrame, the decoder started before set-up), that sample is a copy of it, and
 * a clip with one keyframe starts no decoder of its own. A clip with one keyframe gives one sample; the estimate fills what the character hides there
 * from the screen around it, as it does for any cell hidden in every sample.
 */
import type { Readable } from 'node:stream';
import { alphaDecoderArgs, decodeFilter, type DecodeOptions } from './decode.js';
import { FfmpegFailedError } from './errors.js';
import { spawnFfmpeg } from './ffmpeg-process.js';
import { frameBytes, type Frame, type FrameSize } from './frame.js';
import { listKeyframes, type KeyframeList, type ProbeResult } from './probe.js';

/** Up to `count` distinct keyframes, each the one nearest to an evenly spread time over the clip. */
export function pickKeyframes(list: KeyframeList, count: number): number[] {
  const { times, end } = list;
  if (times.length === 0) return [0];
  const picked = new Set<number>();
  for (let k = 0; k < count; k++) {
    const target = (end * (k + 0.5)) / count;
    let best = times[0]!;
    for (const t of times) if (Math.abs(t - target) < Math.abs(best - target)) best = t;
    picked.add(best);
  }
  return [...picked].sort((a, b) => a - b);
}

export interface SampleOptions {
  input: ProbeResult;
  pad?: DecodeOptions['pad'];
  canvas: FrameSize;
  count: number;
  /** Size frames are scaled to before padding, as in the main decode (DecodeOptions.size). */
  size?: FrameSize;
  /** Part of the picture kept before scaling, as in the main decode (DecodeOptions.crop). */
  crop?: DecodeOptions['crop'];
  /** The main decode's first frame through the same chain (FrameDecoder.firstFrame), used for the first keyframe. */
  firstFrame?: () => Promise<Frame | undefined>;
}

export interface SampleResult {
  frames: Frame[];
  /** CPU seconds of the decoding ffmpeg (its own `-benchmark` figure). */
  cpuSeconds: number;
}

/** Frames at canvas size, allocated here once per job (not from the pool), one per picked keyframe. */
export async function sampleFrames(options: SampleOptions): Promise<SampleResult> {
  const { input } = options;
  const list = input.keyframes ?? (await listKeyframes(input.path));
  const picked = pickKeyframes(list, Math.max(1, options.count));
  // Within half a frame of the start, the first keyframe is the main decode's first frame.
  const fromMain = options.firstFrame && picked[0] !== undefined && picked[0] <= 0.5 / input.fps ? await options.firstFrame() : undefined;
  const times = fromMain ? picked.slice(1) : picked;
  const decoded = times.length > 0 ? await decodeKeyframes(options, times) : { frames: [], cpuSeconds: 0 };
  const frames = fromMain ? [{ ...fromMain, pts: picked[0]! }, ...decoded.frames] : decoded.frames;
  frames.forEach((frame, index) => (frame.index = index));
  return { frames, cpuSeconds: decoded.cpuSeconds };
}

/** The frames at `times` (keyframes), each decoded on its own, in one ffmpeg. */
async function decodeKeyframes(options: SampleOptions, times: readonly number[]): Promise<SampleResult> {
  const { input, canvas } = options;
  // The main decode's own chain (upright, colour, scale, padding) at the source's rate: a sample
  // must be the picture the keyer will see.
  const filter = decodeFilter(input, { pad: options.pad, ...(options.size ? { size: options.size } : {}), ...(options.crop ? { crop: options.crop } : {}) });
  const args: string[] = [];
  for (const t of times) {
    // Half a frame past the keyframe so rounding cannot land the seek on the keyframe before it.
    // One decoder thread: frame threads would decode frames past the one we want.
    // -noautorotate: the chain turns the picture upright itself, as the main decode's does.
    args.push('-threads', '1', ...alphaDecoderArgs(input), '-noautorotate', '-ss', String(t + 0.5 / input.fps), '-noaccurate_seek', '-i', input.path);
  }
  times.forEach((_, i) => {
    args.push('-map', `${i}:v:0`, '-an', '-sn', '-vf', filter, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgba', `pipe:${3 + i}`);
  });
  const child = spawnFfmpeg(args, { extraPipes: times.length });
  const bytes = frameBytes(canvas);
  const reads = times.map((t, i) => readFrame(child.child.stdio[3 + i] as Readable, bytes).then((data) => ({ t, i, data })));
  const [exit, outputs] = await Promise.all([child.exited, Promise.all(reads)]);
  if (exit.code !== 0) throw new FfmpegFailedError('decode', exit.code, exit.signal, 0, child.stderrTail());
  const frames: Frame[] = [];
  for (const { t, data } of outputs) {
    if (data) frames.push({ data, width: canvas.width, height: canvas.height, index: frames.length, pts: t });
  }
  if (frames.length === 0) throw new FfmpegFailedError('decode', exit.code, exit.signal, 0, child.stderrTail());
  return { frames, cpuSeconds: exit.cpuSeconds };
}

/** One whole frame from `stream`, or undefined if it ends before a frame's worth of bytes. */
async function readFrame(stream: Readable, bytes: number): Promise<Uint8Array | undefined> {
  const data = new Uint8Array(bytes);
  let offset = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const n = Math.min(chunk.length, bytes - offset);
    data.set(chunk.subarray(0, n), offset);
    offset += n;
  }
  return offset === bytes ? data : undefined;
}
