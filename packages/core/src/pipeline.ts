/**
 * runPipeline: probe -> decode (posterized, padded) -> stages -> encode -> verify -> rename.
 *
 * Memory is bounded by construction: a fixed pool of `poolSize` frames circulates between the
 * decoder (fills), the stages (in place) and the encoder (drains); nothing is allocated per
 * frame and nothing waits in an unbounded queue. A job that fails or is cancelled leaves no
 * ffmpeg child, no temp file and no partial output: the output only appears, by rename, once
 * it is complete and verified.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CancelledError, InvalidOptionError, UnsupportedInputError } from './errors.js';
import { FrameDecoder, FramePool } from './decode.js';
import { FrameEncoder, formatFromPath, formatHasAlpha, OUTPUT_FORMATS, type OutputFormat } from './encode.js';
import type { PreloadContext, Stage } from './effect.js';
import type { Frame, FrameSize } from './frame.js';
import { MemoryMonitor, type MemorySample } from './memory.js';
import { parseColor } from './options.js';
import { colourPlan } from './colour.js';
import { DEFAULT_LIMITS, probe, type ProbeLimits, type ProbeResult } from './probe.js';
import { verifyAlpha } from './verify.js';

export interface Progress {
  /** Frames encoded so far. */
  frame: number;
  /** Undefined while unknown: a streamed input (no duration in its header) until its last frame. */
  totalFrames: number | undefined;
  /** Output frames per second since the first frame. */
  fps: number;
  elapsedSeconds: number;
  /** Undefined while the total is unknown. */
  etaSeconds: number | undefined;
  /** Bytes, whole process tree, latest sample. */
  treeRss: number;
  processRss: number;
  stage: 'probe' | 'setup' | 'frames' | 'encoding' | 'verify';
}

export interface PipelineOptions {
  input: string;
  output: string;
  stages?: readonly Stage[];
  /** Posterize time: a target rate below the source's (12 and 8 are the classic ones). */
  posterize?: number | null;
  /** With posterize: keep the source rate by holding each kept frame (true), or play at the posterized rate (false). */
  holdFrames?: boolean;
  /** Default: from the output's extension. */
  format?: OutputFormat;
  /** #rrggbb the mp4 output is flattened onto. */
  background?: string;
  limits?: Partial<ProbeLimits>;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Receives the seed-format memory lines. */
  log?: (line: string) => void;
  jobId?: string | number;
  /** Frames in circulation; 4 keeps decoder, stages and encoder all busy. */
  poolSize?: number;
  /** Check the output's alpha; default: when a stage keys and the format has alpha. */
  verifyAlpha?: boolean;
  /** Milestone log every N frames (the seed guide logs every 10). */
  logEvery?: number;
}

export interface PipelineResult {
  output: string;
  format: OutputFormat;
  /** Frames encoded (at the posterized rate). */
  frames: number;
  /** Frames in the source clip (estimated from the decoded frames when its header has no count). */
  sourceFrames: number;
  /** Canvas size (source plus effect margins). */
  width: number;
  height: number;
  /** Rate of the encoded stream. */
  fps: number;
  wallSeconds: number;
  /** Node plus both ffmpeg children. */
  cpuSeconds: number;
  framesPerSecond: number;
  peakProcessRss: number;
  peakChildrenRss: number;
  peakTreeRss: number;
  /** Each ffmpeg child's own high-water mark, from `-benchmark` (catches peaks between samples). */
  decoderMaxRss: number;
  encoderMaxRss: number;
  timeline: MemorySample[];
  hasAlpha: boolean;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw CancelledError.from(signal);
}

/** Canvas padding: the largest reach of the stages, then one more column/row to keep sizes even (yuv420 needs it). */
function canvasPadding(source: FrameSize, stages: readonly Stage[]) {
  const margin = stages.reduce((sum, stage) => sum + stage.margin, 0);
  return {
    left: margin,
    top: margin,
    right: margin + ((source.width + 2 * margin) % 2),
    bottom: margin + ((source.height + 2 * margin) % 2),
  };
}

function validate(options: PipelineOptions): OutputFormat {
  const format = options.format ?? formatFromPath(options.output);
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new InvalidOptionError(`Expected format to be one of ${OUTPUT_FORMATS.join(', ')} but received ${JSON.stringify(format)}`, 'format');
  }
  if (options.background !== undefined) {
    try {
      parseColor(options.background);
    } catch {
      throw new InvalidOptionError(`Expected colour as #rrggbb for background but received ${JSON.stringify(options.background)}`, 'background');
    }
  }
  const posterize = options.posterize;
  if (posterize !== undefined && posterize !== null && !(Number.isFinite(posterize) && posterize > 0)) {
    throw new InvalidOptionError(`Expected a positive frame rate for posterize but received ${String(posterize)}`, 'posterize');
  }
  const poolSize = options.poolSize ?? 4;
  if (!Number.isInteger(poolSize) || poolSize < 2 || poolSize > 64) {
    throw new InvalidOptionError(`Expected integer between 2 and 64 for poolSize but received ${String(poolSize)}`, 'poolSize');
  }
  return format;
}

export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const format = validate(options);
  const stages = options.stages ?? [];
  const signal = options.signal;
  checkAborted(signal);

  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const monitor = new MemoryMonitor({ jobId: options.jobId, log: options.log }).start();
  const logEvery = options.logEvery ?? 10;
  const emit = (progress: Omit<Progress, 'treeRss' | 'processRss' | 'elapsedSeconds'>) =>
    options.onProgress?.({
      ...progress,
      elapsedSeconds: (performance.now() - started) / 1000,
      treeRss: monitor.latest.treeRss,
      processRss: monitor.latest.processRss,
    });

  let decoder: FrameDecoder | undefined;
  let encoder: FrameEncoder | undefined;
  const temp = join(dirname(options.output), `.${basename(options.output)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
  const onAbort = () => {
    decoder?.kill();
    encoder?.kill();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  try {
    emit({ frame: 0, totalFrames: undefined, fps: 0, etaSeconds: undefined, stage: 'probe' });
    const source = await probe(options.input, options.limits);
    // HDR the resolved ffmpeg cannot tone-map is refused here, before any work.
    colourPlan(source);
    checkAborted(signal);
    // After the probe: a refused input logs its error alone, not a memory line before it.
    monitor.mark('start');

    const posterize = options.posterize ?? null;
    if (posterize !== null && posterize >= source.fps) {
      throw new InvalidOptionError(
        `Expected posterize below the source rate of ${round2(source.fps)} fps for ${options.input} but received ${posterize}`,
        'posterize',
      );
    }
    const rate = posterize ?? source.fps;
    let totalFrames =
      source.frameCount === undefined ? undefined : posterize ? Math.max(1, Math.round((source.frameCount * posterize) / source.fps)) : source.frameCount;
    const pad = canvasPadding(source, stages);
    const canvas: FrameSize = { width: source.width + pad.left + pad.right, height: source.height + pad.top + pad.bottom };

    emit({ frame: 0, totalFrames, fps: 0, etaSeconds: 0, stage: 'setup' });
    const context: PreloadContext = { size: canvas, signal, sampleFrames: (count) => sampleFrames(source, pad, canvas, count) };
    for (const stage of stages) {
      await stage.setup(context);
      checkAborted(signal);
    }

    const pool = new FramePool(canvas, options.poolSize ?? 4);
    if (posterize) monitor.mark('before posterize time');
    decoder = new FrameDecoder({ input: source, fps: posterize, pad, pool, limits: { ...DEFAULT_LIMITS, ...options.limits } });
    if (posterize) monitor.mark('after posterize time');
    monitor.mark('before encoding');
    encoder = new FrameEncoder({
      output: temp,
      format,
      size: canvas,
      fps: rate,
      background: options.background,
      outputFps: posterize && options.holdFrames ? source.fps : undefined,
    });
    // The abort may have fired while the children were being created.
    if (signal?.aborted) onAbort();

    const keyed = stages.some((stage) => stage.producesAlpha);
    const release = (frame: Frame) => pool.release(frame);
    let frames = 0;
    let firstFrameAt = 0;
    if (stages.length > 0) monitor.mark('before sticker effects');
    for await (const frame of decoder) {
      checkAborted(signal);
      for (const stage of stages) stage.process(frame);
      if (frames === 0) {
        firstFrameAt = performance.now();
        if (keyed) monitor.mark('after keying');
      }
      await encoder.write(frame, release);
      frames++;
      if (frames % logEvery === 0) monitor.mark(`frame ${frames}/${totalFrames ?? '?'}`);
      const fps = frames / Math.max(1e-3, (performance.now() - firstFrameAt) / 1000);
      const etaSeconds = totalFrames === undefined ? undefined : Math.max(0, totalFrames - frames) / fps;
      emit({ frame: frames, totalFrames, fps, etaSeconds, stage: 'frames' });
    }
    checkAborted(signal);
    if (stages.length > 0) monitor.mark('after sticker effects');

    // A decoder that ends early without an error is reading a damaged file (e.g. a cut-off upload);
    // a streamed input has no count to compare with, only the end of its frames.
    if (frames === 0 || (totalFrames !== undefined && frames < totalFrames * 0.9 - 2)) {
      throw new UnsupportedInputError(
        `Expected about ${totalFrames} frames from ${options.input} but decoding stopped after ${frames}: the file is truncated or damaged`,
        options.input,
      );
    }
    totalFrames = frames;
    emit({ frame: frames, totalFrames, fps: 0, etaSeconds: 0, stage: 'encoding' });
    const encoded = await encoder.finish();
    monitor.mark('after encoding');
    checkAborted(signal);

    const hasAlpha = formatHasAlpha(format) && keyed;
    if (options.verifyAlpha ?? hasAlpha) {
      emit({ frame: frames, totalFrames, fps: 0, etaSeconds: 0, stage: 'verify' });
      await verifyAlpha(await probe(temp, { ...options.limits, maxWidth: Infinity, maxHeight: Infinity }), options.output);
    }
    await rename(temp, options.output);

    monitor.mark('before cleanup');
    const decoded = await decoder.process.exited;
    monitor.mark('after cleanup');
    monitor.stop();
    const cpu = process.cpuUsage(cpuStart);
    const wallSeconds = (performance.now() - started) / 1000;
    return {
      output: options.output,
      format,
      frames,
      sourceFrames: source.frameCount ?? Math.round((frames * source.fps) / rate),
      width: canvas.width,
      height: canvas.height,
      fps: posterize && options.holdFrames ? source.fps : rate,
      wallSeconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6 + decoded.cpuSeconds + encoded.cpuSeconds,
      framesPerSecond: frames / wallSeconds,
      peakProcessRss: monitor.peaks.processRss,
      peakChildrenRss: monitor.peaks.childrenRss,
      peakTreeRss: monitor.peaks.treeRss,
      decoderMaxRss: decoded.maxRss,
      encoderMaxRss: encoded.maxRss,
      timeline: monitor.timeline,
      hasAlpha,
    };
  } catch (error) {
    decoder?.kill();
    encoder?.kill();
    // Wait for both children to be gone, so "no ffmpeg left behind" holds when we reject.
    await Promise.all([decoder?.process.exited, encoder?.process.exited]);
    await rm(temp, { force: true });
    monitor.stop();
    if (signal?.aborted) throw CancelledError.from(signal);
    // Anything untyped is a bug of ours (or of an effect), not bad input: let it show as such.
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * `count` frames spread over the clip at canvas size, for one-off estimates in `preload`
 * (the screen colour). Allocated here, once per job, not from the pool. Each frame is fetched
 * by its own short decode that seeks first: a `select` over the whole stream would decode every
 * frame of a long clip just to keep six. A streamed input (no duration, often no index to seek
 * with) gives one frame a second from its start instead, in one decode.
 */
async function sampleFrames(source: ProbeResult, pad: ReturnType<typeof canvasPadding>, canvas: FrameSize, count: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  if (source.duration === undefined) {
    const pool = new FramePool(canvas, 1);
    const decoder = new FrameDecoder({ input: source, pad, pool, fps: Math.min(1, source.fps), maxFrames: Math.max(1, count) });
    for await (const frame of decoder) {
      frames.push({ ...frame, data: frame.data.slice(), index: frames.length, pts: frame.pts });
      pool.release(frame);
    }
    await decoder.process.exited;
    return frames;
  }
  const wanted = Math.max(1, Math.min(count, source.frameCount ?? count));
  for (let k = 0; k < wanted; k++) {
    const pool = new FramePool(canvas, 1);
    const at = (source.duration * (k + 0.5)) / wanted;
    const decoder = new FrameDecoder({ input: source, pad, pool, seek: at, maxFrames: 1 });
    for await (const frame of decoder) frames.push({ ...frame, index: k, pts: at });
    await decoder.process.exited;
  }
  return frames;
}
