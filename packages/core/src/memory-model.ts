/**
 * The memory model: a job's peak, predicted from its sizes before any work starts. One home for
 * it, so that runPipeline (and through it the CLI) refuses or scales down what would not fit, and
 * the queue worker admits jobs by the same figures.
 *
 * The model is data (MEMORY_MODELS, one per ffmpeg build) and deliberately simple: a constant per format plus a slope
 * per megapixel of canvas for the encoder, the same for the decoder, the frame pool at its real
 * size, a per-job allowance for the Node side (effect scratch, texture cache, render thread) and
 * the idle process under it. The container's limit counts the whole process tree, and the VP9
 * encoder child alone holds more than everything else at 1080p and above.
 */
import { isMainThread } from 'node:worker_threads';
import { canvasPadding, paddedSize } from './canvas.js';
import type { Stage } from './effect.js';
import type { OutputFormat } from './encode.js';
import { InvalidOptionError, LimitExceededError } from './errors.js';
import { ffmpegInfo } from './ffmpeg.js';
import { frameBytes, type FrameSize } from './frame.js';
import { framePoolSize } from './stage-threads.js';

const MB = 1024 * 1024;

/**
 * The pool a job runs with: the one place the default is applied, for the pipeline and the model
 * alike; the default follows the stage threads (framePoolSize, stage-threads.ts).
 */
export function resolvePoolSize(requested: number | undefined, stageThreads = 0): number {
  return requested ?? framePoolSize(stageThreads);
}

/** A 2 GB container less room for the system and a margin for the model's error: 1536 MB. */
export const DEFAULT_MEMORY_BUDGET = 1536 * MB;

interface Line {
  baseMb: number;
  perMegapixelMb: number;
}

/** All figures in MB (MB per megapixel of canvas for the slopes). */
export interface MemoryModel {
  /** The idle process (Node, sharp, the effect modules; BullMQ in the worker), counted once per process. */
  processBaselineMb: number;
  /** Node-side memory a job adds besides its frame pool: effect state, textures, its render thread when used. */
  perJob: Line & { threadMb: number };
  /**
   * The decoder child (H.264 in, padded RGBA out through a pipe). Its megapixels are the larger of
   * the source's and the canvas's: a clip scaled down at decode is still decoded at full size.
   */
  decoder: Line;
  /** The encoder child by format. libvpx-vp9 with its look-ahead dominates everything else. */
  encoder: Record<OutputFormat, Line>;
}

/** The ffmpeg builds the model has figures for: a system ffmpeg (Debian's 5.1 measured), or the npm-bundled 2018 static build. */
export type FfmpegBuild = 'system' | 'bundled';

/*
 * Where the figures come from: `node packages/worker/scripts/fit-memory-model.mjs` (it prints the
 * runs below and the fitted lines), on the 2-core development machine, fixture clips of 2 s at
 * 24 fps, posterize 8 (16 frames): each ffmpeg child's own high-water mark from `-benchmark`
 * (decoderMaxRss, encoderMaxRss) and the sampled peaks (peakProcessRss, peakTreeRss). Preset `none`
 * for each format gave the encoder and decoder lines; preset `sticker` to WebM gave the Node side.
 * The lines are least-squares fits scaled by 1.15 and rounded up, their base then raised until
 * every measured point is covered: over-predicting costs some concurrency or a smaller output,
 * under-predicting costs an OOM kill. The sum of the children's own peaks bounds the tree's peak
 * from above (they do not all peak at once).
 *
 * Keyed by build because the two differ by more than the headroom, in opposite directions: the
 * static build maps far less (decoder 22 MB at 360p against 65, GIF encoder 23 against 92), while
 * its 2018 libvpx takes about a quarter more per megapixel. One model covering both would
 * over-predict the fast path's 1080p sticker job by about half.
 *
 * Measured 2026-12-04 (MB; canvas sizes; "tree" is the sampled peak of the whole process tree):
 *
 *   system: Debian 12's ffmpeg 5.1.9 (libvpx 1.12)       bundled: @ffmpeg-installer 1.1.0, N-47683 (2018)
 *   preset none     decoder        encoder       tree      decoder        encoder       tree
 *   webm  640x360     65             139          313        22             118          249
 *   webm 1280x720     87             265          460
 *   webm 1920x1080   125             468          729        76             579          792
 *   webm 3840x2160   484            1514         2171       255            2070         2562
 *   mov  640/1080/4K  65/125/330     70/185/582              22/75/255      32/144/545
 *   gif  640/1080/4K  64/125/425     92/155/382              22/76/255      23/88/306
 *   mp4  640/1080/4K  65/125/330     89/271/856              22/75/255      44/224/812
 *   encoder alone, from raw styled frames (balanced preset), canvases 512x512, 1364x804, 2728x1608:
 *   webp                             60/82/170                               23/43 (first two)
 *   apng                             54/68/122                               19/35 (first two)
 *   (WebPAnimEncoder keeps every coded frame until the end, so WebP also holds its output's bytes:
 *   under 1 MB for a sticker.)
 *   preset sticker, webm: 724x444, 1364x804, 2004x1164, 3924x2244 (system)
 *     decoder 66, 91, 130, 406; encoder 157, 301, 517, 1610; process 136, 153, 213, 485 (idle 83-90);
 *     tree 346, 542, 856, 2455: the 4K clip the budget now refuses by default.
 *   the same on the bundled build, 2004x1164 and 3924x2244: decoder 79, 262; encoder 655, 2215;
 *     process 207, 487; tree 936, 2950. Its Node side fits the same line (the process does not
 *     depend on the ffmpeg), so both builds share it.
 *
 * Tree peaks predicted by the system model: 399 for 360p WebM (313 measured), 953 for 1080p (729),
 * 1041 for the 1080p sticker job (856), 2983 for the 4K sticker job (2455); with --fit-memory that
 * job ran at 2338x1352 and peaked at 1164 (budget 1536). Bundled model: 1087 for the 1080p sticker
 * job (936), 3451 for 4K (2950). The encoder settings change memory most (lag-in-frames,
 * threads, tiles): re-run the script after changing them.
 */
const NODE_SIDE = {
  processBaselineMb: 100,
  perJob: { baseMb: 35, perMegapixelMb: 35, threadMb: 15 },
} as const;

export const MEMORY_MODELS: Record<FfmpegBuild, MemoryModel> = {
  system: {
    ...NODE_SIDE,
    decoder: { baseMb: 70, perMegapixelMb: 50 },
    encoder: {
      webm: { baseMb: 125, perMegapixelMb: 200 },
      mov: { baseMb: 65, perMegapixelMb: 75 },
      gif: { baseMb: 100, perMegapixelMb: 45 },
      mp4: { baseMb: 85, perMegapixelMb: 110 },
      webp: { baseMb: 65, perMegapixelMb: 32 },
      apng: { baseMb: 60, perMegapixelMb: 20 },
    },
  },
  bundled: {
    ...NODE_SIDE,
    decoder: { baseMb: 20, perMegapixelMb: 35 },
    encoder: {
      webm: { baseMb: 80, perMegapixelMb: 280 },
      mov: { baseMb: 20, perMegapixelMb: 75 },
      gif: { baseMb: 20, perMegapixelMb: 45 },
      mp4: { baseMb: 30, perMegapixelMb: 110 },
      webp: { baseMb: 25, perMegapixelMb: 30 },
      apng: { baseMb: 20, perMegapixelMb: 22 },
    },
  },
};

/**
 * Which line of the model the resolved ffmpeg follows: the bundled 2018 build, or one as old
 * (ffmpeg.ts's `slow`), wherever it was found (FFMPEG_PATH may point at it too); else 'system'.
 */
export function ffmpegBuild(): FfmpegBuild {
  return ffmpegInfo().slow ? 'bundled' : 'system';
}

/** The model for the ffmpeg this process runs. */
export function defaultMemoryModel(): MemoryModel {
  return MEMORY_MODELS[ffmpegBuild()];
}

export interface MemoryPrediction {
  /** Bytes this job adds to the process tree at its peak. */
  bytes: number;
  /** Bytes of the whole tree at the job's peak when it runs alone: the idle process plus `bytes`. */
  peakBytes: number;
  /** The frames as decoded (the source, or the size they are scaled to) and the padded canvas. */
  frames: FrameSize;
  canvas: FrameSize;
  format: OutputFormat;
  parts: { node: number; pool: number; decoder: number; encoder: number };
}

export interface PredictOptions {
  /** The job renders in a worker thread of its own (the queue worker's render thread). */
  inThread: boolean;
  model?: MemoryModel;
  /** Frames in circulation; default resolvePoolSize(). */
  poolSize?: number;
  /** Worker threads the effect stack runs in (stageThreadCount); each holds a V8 isolate of its own. */
  stageThreads?: number;
  /** Size the decoder scales the frames to before padding; default the source's. */
  size?: FrameSize;
}

/** The canvas the pipeline will use: the frames padded by the stages' margins, kept even. */
export function predictedCanvas(frames: FrameSize, stages: readonly Pick<Stage, 'margin'>[]): FrameSize {
  return paddedSize(frames, canvasPadding(frames, stages));
}

/** A job's peak, from the source's size, the stages' margins and the output format. */
export function predictJobMemory(source: FrameSize, stages: readonly Pick<Stage, 'margin'>[], format: OutputFormat, options: PredictOptions): MemoryPrediction {
  const model = options.model ?? defaultMemoryModel();
  const frames = options.size ?? { width: source.width, height: source.height };
  const canvas = predictedCanvas(frames, stages);
  const megapixels = (canvas.width * canvas.height) / 1e6;
  const decoded = Math.max(megapixels, (source.width * source.height) / 1e6);
  const stageThreads = options.stageThreads ?? 0;
  const threads = (options.inThread ? 1 : 0) + stageThreads;
  const node = model.perJob.baseMb + model.perJob.perMegapixelMb * megapixels + threads * model.perJob.threadMb;
  const pool = (resolvePoolSize(options.poolSize, stageThreads) * frameBytes(canvas)) / MB;
  const decoder = model.decoder.baseMb + model.decoder.perMegapixelMb * decoded;
  const encoder = model.encoder[format].baseMb + model.encoder[format].perMegapixelMb * megapixels;
  const parts = { node: node * MB, pool: pool * MB, decoder: decoder * MB, encoder: encoder * MB };
  const bytes = Math.ceil(parts.node + parts.pool + parts.decoder + parts.encoder);
  return { bytes, peakBytes: bytes + model.processBaselineMb * MB, frames, canvas, format, parts };
}

/** Below this short side a sticker is no longer legible: fitting stops there rather than hand back a smudge. */
const MIN_FIT_SIDE = 64;

/**
 * The largest size (aspect kept, even sides, never above the source) whose predicted peak fits
 * `budget` bytes; when not even the smallest legible one fits, that one's prediction (over the
 * budget: the caller checks). The prediction grows with the size, so a binary search over the
 * width finds it.
 */
export function fitToMemoryBudget(
  source: FrameSize,
  stages: readonly Pick<Stage, 'margin'>[],
  format: OutputFormat,
  budget: number,
  options: Omit<PredictOptions, 'size'>,
): MemoryPrediction {
  const heightFor = (width: number) => Math.max(2, 2 * Math.round((width * source.height) / source.width / 2));
  const at = (half: number) => predictJobMemory(source, stages, format, { ...options, size: { width: 2 * half, height: heightFor(2 * half) } });
  const shortSide = Math.min(source.width, source.height);
  let low = Math.max(1, Math.ceil((source.width * Math.min(1, MIN_FIT_SIDE / shortSide)) / 2));
  let high = Math.max(low, Math.floor(source.width / 2));
  if (at(low).peakBytes > budget) return at(low);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (at(mid).peakBytes <= budget) low = mid;
    else high = mid - 1;
  }
  return at(low);
}

export interface MemoryPlanOptions {
  /** Bytes the whole process tree may reach; default DEFAULT_MEMORY_BUDGET. Infinity switches the check off. */
  memoryBudget?: number;
  /** Scale the canvas down until the prediction fits, rather than refuse. */
  fitMemory?: boolean;
  /** Frames in circulation; default resolvePoolSize(). */
  poolSize?: number;
  /** Worker threads the effect stack will run in (stageThreadCount). */
  stageThreads?: number;
  /** Default defaultMemoryModel(): the figures for the ffmpeg build in use. */
  memoryModel?: MemoryModel;
}

/** Refuses, before any work, a memoryBudget that is not a positive number of bytes. */
export function checkMemoryOptions(options: MemoryPlanOptions): void {
  const budget = options.memoryBudget;
  if (budget !== undefined && !(typeof budget === 'number' && budget > 0)) {
    throw new InvalidOptionError(`Expected a positive number of bytes for memoryBudget but received ${String(budget)}`, 'memoryBudget');
  }
}

export interface MemoryPlan {
  prediction: MemoryPrediction;
  /** Set when the frames are scaled down to fit: the size to decode at. */
  size?: FrameSize;
}

/**
 * What a job will hold, checked against the budget before any work: the prediction at full size
 * when it fits; with fitMemory, the largest size that fits; otherwise LIMIT_EXCEEDED naming the
 * predicted peak and the budget.
 */
export function planMemory(
  input: string,
  source: FrameSize,
  stages: readonly Pick<Stage, 'margin'>[],
  format: OutputFormat,
  options: MemoryPlanOptions,
): MemoryPlan {
  const budget = options.memoryBudget ?? DEFAULT_MEMORY_BUDGET;
  // A render thread (the queue worker's) costs its own heap: count it where it is true.
  const predict = { inThread: !isMainThread, poolSize: options.poolSize, stageThreads: options.stageThreads, model: options.memoryModel };
  const full = predictJobMemory(source, stages, format, predict);
  if (full.peakBytes <= budget) return { prediction: full };
  const mb = (bytes: number) => Math.ceil(bytes / MB);
  const limit = (message: string, actual: MemoryPrediction) => new LimitExceededError(message, 'memoryBudget', mb(budget), mb(actual.peakBytes));
  if (!options.fitMemory) {
    throw limit(
      `Expected a predicted peak of at most ${mb(budget)} MB for ${input} but this job needs about ${mb(full.peakBytes)} MB ` +
        `(${full.canvas.width}x${full.canvas.height} canvas, ${format}); use fitMemory (--fit-memory) to scale it down or raise memoryBudget (--memory-budget)`,
      full,
    );
  }
  const fitted = fitToMemoryBudget(source, stages, format, budget, predict);
  if (fitted.peakBytes > budget) {
    throw limit(
      `Expected a predicted peak of at most ${mb(budget)} MB for ${input} but this job needs about ${mb(full.peakBytes)} MB ` +
        `(${full.canvas.width}x${full.canvas.height} canvas, ${format}), and still ${mb(fitted.peakBytes)} MB scaled down to the smallest legible ` +
        `${fitted.canvas.width}x${fitted.canvas.height}; raise memoryBudget (--memory-budget)`,
      fitted,
    );
  }
  return { prediction: fitted, size: fitted.frames };
}
