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
import { ffmpegIdentity, type FfmpegIdentity } from './ffmpeg.js';
import { canvasPadding, paddedSize, type CroppedCanvas } from './canvas.js';
import { FrameDecoder, FramePool } from './decode.js';
import type { FrameSpool } from './fit-budget.js';
import {
  checkFormatAvailable,
  checkSpeed,
  encoderCores,
  FrameEncoder,
  formatFromPath,
  formatHasAlpha,
  OUTPUT_FORMATS,
  type EncoderSpeed,
  type OutputFormat,
} from './encode.js';
import type { PreloadContext, Stage } from './effect.js';
import type { Frame, FrameSize } from './frame.js';
import { MemoryMonitor, type MemorySample } from './memory.js';
import { checkMemoryOptions, planMemory, resolvePoolSize, type MemoryPlanOptions } from './memory-model.js';
import { parseColor } from './options.js';
import { colourPlan } from './colour.js';
import { reapedChildrenCpuSeconds } from './process-cpu.js';
import { DEFAULT_LIMITS, probe, type ProbeLimits, type ProbeResult } from './probe.js';
import { sampleFrames } from './sample-frames.js';
import { StageLine, threadsForCanvas } from './stage-threads.js';
import { verifyOutputAlpha } from './verify.js';

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

export interface PipelineOptions extends MemoryPlanOptions {
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
  /** Encoder preset, CPU against bytes: fast | balanced | small (default DEFAULT_SPEED, see SPEED_PRESETS). */
  speed?: EncoderSpeed;
  limits?: Partial<ProbeLimits>;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Receives the seed-format memory lines. */
  log?: (line: string) => void;
  jobId?: string | number;
  /** Frames in circulation; default framePoolSize(stage threads): enough to keep decoder, stages and encoder all busy. */
  poolSize?: number;
  /**
   * Most threads the effect stack may use (default: availableCores(), the CPUs capped by a container's CPU quota; also capped by
   * STICKERKEY_THREADS); 1 runs it in-line on this thread. See stage-threads.ts.
   */
  threads?: number;
  /** Check the output's alpha; default: when a stage keys and the format has alpha. */
  verifyAlpha?: boolean;
  /** Milestone log every N frames (the seed guide logs every 10). */
  logEvery?: number;
  /**
   * A canvas cut to the character and scaled to a sticker platform's size, with the part of the
   * clip to keep: set by renderForTarget (target.ts), which also scales the stages to it.
   */
  layout?: TargetLayout;
  /** Every styled frame is also appended here, raw, for a byte budget's re-encodes (fit-budget.ts). */
  spool?: FrameSpool;
}

/** What renderForTarget decides for the pipeline: the cropped canvas, and the time it keeps. */
export interface TargetLayout extends Pick<CroppedCanvas, 'crop' | 'size' | 'pad' | 'canvas'> {
  /** The input as renderForTarget probed it (with its keyframes), with the same limits. */
  source?: ProbeResult;
  /** Decode only the first this many seconds (a platform's duration, `--fit trim`). */
  duration?: number;
  /** Rate the frames are encoded at when it differs from the rate they are taken at (`--fit speed-up`). */
  playFps?: number;
  /** How many times the animation plays, where the platform counts (LINE); default forever. */
  plays?: number;
  /** The encoder's quality step (QUALITY_STEPS), where a byte budget predicts a lower one than the best. */
  quality?: number;
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
  /**
   * The whole process tree: Node (all its threads) plus every child the job spawned (ffprobe,
   * the sample decode, decoder, encoder, the alpha check). See process-cpu.ts.
   */
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
  /** Which ffmpeg ran (FFMPEG_PATH, PATH or the bundled build). */
  ffmpeg: FfmpegIdentity;
  /** Job start to the first frame leaving the stack: probe, set-up (screen estimate, textures), first decode. */
  setupSeconds: number;
  /** The memory model's peak for this job (whole tree, bytes), checked against memoryBudget before it started. */
  predictedPeak: number;
  /** The source's size when fitMemory scaled the frames down to fit the budget (width/height are then the smaller canvas). */
  scaledFrom?: FrameSize;
  /** Worker threads the effect stack ran in (0: in-line). */
  stageThreads: number;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw CancelledError.from(signal);
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
  if (options.speed !== undefined) checkSpeed(options.speed);
  const posterize = options.posterize;
  if (posterize !== undefined && posterize !== null && !(Number.isFinite(posterize) && posterize > 0)) {
    throw new InvalidOptionError(`Expected a positive frame rate for posterize but received ${String(posterize)}`, 'posterize');
  }
  checkMemoryOptions(options);
  const poolSize = resolvePoolSize(options.poolSize, 0);
  if (!Number.isInteger(poolSize) || poolSize < 2 || poolSize > 64) {
    throw new InvalidOptionError(`Expected integer between 2 and 64 for poolSize but received ${String(poolSize)}`, 'poolSize');
  }
  return format;
}

export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const format = validate(options);
  // Resolved before any work: a broken FFMPEG_PATH is refused here, not inside a child.
  const ffmpeg = ffmpegIdentity();
  checkFormatAvailable(format);
  const stages = options.stages ?? [];
  // A sticker target's canvas is known before the probe: a small one runs in-line.
  const line = new StageLine(stages, threadsForCanvas(options.layout?.canvas, options.threads));
  const signal = options.signal;
  checkAborted(signal);

  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const childrenCpuStart = reapedChildrenCpuSeconds();
  // Where /proc is missing: the children that report their own CPU (ffmpeg's -benchmark).
  let reportedChildrenCpu = 0;
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
    // The stage threads boot and load their effects while ffprobe runs (a refused input closes them).
    line.start();
    // A target render has probed the input already (for its search pass): not a second ffprobe.
    const source = options.layout?.source ?? (await probe(options.input, options.limits, { keyframes: true }));
    // HDR the resolved ffmpeg cannot tone-map is refused here, before any work.
    colourPlan(source);
    checkAborted(signal);
    // Before any other work: a job that would not fit the memory budget is refused (or, with
    // fitMemory, scaled down) while nothing but ffprobe has run.
    const layout = options.layout;
    // A target's canvas is its own size (fitMemory has nothing to scale): the model sees that.
    const plan = planMemory(options.input, layout?.size ?? source, stages, format, {
      ...options,
      ...(layout ? { fitMemory: false } : {}),
      stageThreads: line.threads,
    });
    // After the probe: a refused input logs its error alone, not a memory line before it.
    monitor.mark('start', 'probed and admitted; no frame decoded');

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
    if (totalFrames !== undefined && layout?.duration !== undefined) totalFrames = Math.min(totalFrames, Math.max(1, Math.round(layout.duration * rate)));
    const size = layout?.size ?? plan.size;
    const pad = layout?.pad ?? canvasPadding(size ?? source, stages);
    const canvas = layout?.canvas ?? paddedSize(size ?? source, pad);
    const crop = layout ? { crop: layout.crop } : {};

    // The children start before the stages set up, not after: ffmpeg's own start (process,
    // libraries, codec, the first frames) overlaps the set-up, and the set-up takes its first
    // sample from this decode rather than decoding the clip's start a second time.
    const pool = new FramePool(canvas, resolvePoolSize(options.poolSize, line.threads), { shared: line.threads > 0 });
    // Posterize time is the decoder's fps filter: it runs while frames are decoded, so it is
    // "before" when the decoder starts and "after" when its last frame has come (README: Memory lines).
    if (posterize) monitor.mark('before posterize time', `decoder starting at ${posterize} fps`);
    const mainDecoder = new FrameDecoder({
      input: source,
      fps: posterize,
      pad,
      pool,
      size,
      ...crop,
      ...(layout?.duration !== undefined ? { duration: layout.duration } : {}),
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    });
    decoder = mainDecoder;
    monitor.mark('before encoding', 'encoder starting; frames are encoded as they come');
    encoder = new FrameEncoder({
      output: temp,
      format,
      size: canvas,
      fps: layout?.playFps ?? rate,
      ...(layout?.plays !== undefined ? { plays: layout.plays } : {}),
      ...(layout?.quality !== undefined ? { quality: layout.quality } : {}),
      background: options.background,
      speed: options.speed,
      // The stage threads keep their cores busy: the encoder takes what they leave (encoderCores).
      cores: encoderCores(line.threads),
      outputFps: posterize && options.holdFrames ? source.fps : undefined,
    });
    // The abort may have fired while the children were being created.
    if (signal?.aborted) onAbort();

    emit({ frame: 0, totalFrames, fps: 0, etaSeconds: 0, stage: 'setup' });
    const context: PreloadContext = {
      size: canvas,
      signal,
      sampleFrames: async (count) => {
        const sampled = await sampleFrames({ input: source, pad, canvas, count, size, ...crop, firstFrame: () => mainDecoder.firstFrame() });
        reportedChildrenCpu += sampled.cpuSeconds;
        return sampled.frames;
      },
    };
    await line.setup(context);
    checkAborted(signal);

    const keyed = stages.some((stage) => stage.producesAlpha);
    const release = (frame: Frame) => pool.release(frame);
    let frames = 0;
    let firstFrameAt = 0;
    if (stages.length > 0) monitor.mark('before sticker effects', 'stages set up; no frame through them yet');
    for await (const frame of line.run(decoder, pool)) {
      checkAborted(signal);
      if (frames === 0) {
        firstFrameAt = performance.now();
        if (keyed) monitor.mark('after keying', 'first frame through every stage; the others follow one by one');
      }
      if (options.spool) await options.spool.write(frame);
      await encoder.write(frame, release);
      frames++;
      if (frames % logEvery === 0) monitor.mark(`frame ${frames}/${totalFrames ?? '?'}`, 'frames through every stage, handed to the encoder');
      const fps = frames / Math.max(1e-3, (performance.now() - firstFrameAt) / 1000);
      const etaSeconds = totalFrames === undefined ? undefined : Math.max(0, totalFrames - frames) / fps;
      emit({ frame: frames, totalFrames, fps, etaSeconds, stage: 'frames' });
    }
    checkAborted(signal);
    if (posterize) monitor.mark('after posterize time', `decoder done: ${frames} frames at ${posterize} fps`);
    // The stage threads reset (each collects the job's garbage) while the encoder finishes.
    const lineClosed = line.close();
    if (stages.length > 0) monitor.mark('after sticker effects', 'every frame through the stages; encoder finishing');

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
    await lineClosed;
    monitor.mark('after encoding', 'output written');
    checkAborted(signal);

    const hasAlpha = formatHasAlpha(format) && keyed;
    if (options.verifyAlpha ?? hasAlpha) {
      emit({ frame: frames, totalFrames, fps: 0, etaSeconds: 0, stage: 'verify' });
      await verifyOutputAlpha(temp, format, { finalName: options.output, limits: options.limits, frames });
    }
    await rename(temp, options.output);

    monitor.mark('before cleanup', 'output in place');
    const decoded = await decoder.process.exited;
    monitor.mark('after cleanup', 'decoder and encoder exited');
    monitor.stop();
    const cpu = process.cpuUsage(cpuStart);
    const childrenCpuEnd = reapedChildrenCpuSeconds();
    const childrenCpu =
      childrenCpuStart !== undefined && childrenCpuEnd !== undefined
        ? childrenCpuEnd - childrenCpuStart
        : reportedChildrenCpu + decoded.cpuSeconds + encoded.cpuSeconds;
    const wallSeconds = (performance.now() - started) / 1000;
    return {
      output: options.output,
      format,
      frames,
      sourceFrames: source.frameCount ?? Math.round((frames * source.fps) / rate),
      width: canvas.width,
      height: canvas.height,
      fps: posterize && options.holdFrames ? source.fps : (layout?.playFps ?? rate),
      wallSeconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6 + childrenCpu,
      framesPerSecond: frames / wallSeconds,
      peakProcessRss: monitor.peaks.processRss,
      peakChildrenRss: monitor.peaks.childrenRss,
      peakTreeRss: monitor.peaks.treeRss,
      decoderMaxRss: decoded.maxRss,
      encoderMaxRss: encoded.maxRss,
      timeline: monitor.timeline,
      hasAlpha,
      ffmpeg,
      setupSeconds: (firstFrameAt - started) / 1000,
      predictedPeak: plan.prediction.peakBytes,
      ...(plan.size && !layout ? { scaledFrom: { width: source.width, height: source.height } } : {}),
      stageThreads: line.threads,
    };
  } catch (error) {
    decoder?.kill();
    encoder?.kill();
    await line.close();
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
