/**
 * The memory model: a job's peak, predicted from its sizes before any work starts. One home for
 * it, so that runPipeline (and through it the CLI) refuses or scales down what would not fit, and
 * the queue worker admits jobs by the same figures.
 *
 * The model is data (MEMORY_MODEL) and deliberately simple: a constant per format plus a slope
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
import { frameBytes, type FrameSize } from './frame.js';

const MB = 1024 * 1024;

/** Frames in circulation when the caller does not say: 4 keeps decoder, stages and encoder all busy. */
export const DEFAULT_POOL_SIZE = 4;

/** The pool a job runs with: the one place the default is applied, for the pipeline and the model alike. */
export function resolvePoolSize(requested?: number): number {
  return requested ?? DEFAULT_POOL_SIZE;
}

/** A 2 GB container less room for the system and a margin for the model's error: 1536 MB. */
export const DEFAULT_MEMORY_BUDGET = 1536 * MB;

/**
 * All figures in MB (MB per megapixel of canvas for the slopes).
 *
 * Where they come from: runPipeline results on this project's fixtures, on the 2-core development
 * machine, posterize 8: each ffmpeg child's own high-water mark from `-benchmark` (decoderMaxRss,
 * encoderMaxRss) and the sampled peaks (peakProcessRss, peakTreeRss). Preset `none` for each format
 * at 360p/720p/1080p gave the encoder lines; preset `sticker` to WebM gave the Node side.
 * `node packages/worker/scripts/fit-memory-model.mjs` re-measures and prints the fitted lines.
 *
 *   encoder maxrss    640x360   1280x720   1920x1080        sticker, webm   724x444  1364x804  2004x1164
 *     webm              118       298        588              encoder         144       346       665
 *     mov                32        73        140              decoder          42        75       110
 *     gif                41        49         88              process RSS     159       150       230
 *     mp4                44       121        257              tree peak       273       538       973
 *
 * An idle worker process (modules, BullMQ, sharp loaded) holds about 88 MB; a render thread adds
 * about 10 MB. The lines are least-squares fits rounded UP with 10-20% headroom: over-predicting
 * costs some concurrency or a smaller output, under-predicting costs an OOM kill. The sum of the
 * children's own peaks bounds the tree's peak from above (they do not all peak at once).
 */
export const MEMORY_MODEL = {
  /** The idle process (Node, sharp, the effect modules; BullMQ in the worker), counted once per process. */
  processBaselineMb: 110,
  /** Node-side memory a job adds besides its frame pool: effect state, textures, its render thread when used. */
  perJob: { baseMb: 70, perMegapixelMb: 25, threadMb: 15 },
  /**
   * The decoder child (H.264 in, padded RGBA out through a pipe). Its megapixels are the larger of
   * the source's and the canvas's: a clip scaled down at decode is still decoded at full size.
   */
  decoder: { baseMb: 35, perMegapixelMb: 38 },
  /** The encoder child by format. libvpx-vp9 with its look-ahead dominates everything else. */
  encoder: {
    webm: { baseMb: 65, perMegapixelMb: 290 },
    mov: { baseMb: 25, perMegapixelMb: 68 },
    gif: { baseMb: 40, perMegapixelMb: 30 },
    mp4: { baseMb: 25, perMegapixelMb: 135 },
  } satisfies Record<OutputFormat, { baseMb: number; perMegapixelMb: number }>,
};

export type MemoryModel = typeof MEMORY_MODEL;

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
  /** Size the decoder scales the frames to before padding; default the source's. */
  size?: FrameSize;
}

/** The canvas the pipeline will use: the frames padded by the stages' margins, kept even. */
export function predictedCanvas(frames: FrameSize, stages: readonly Pick<Stage, 'margin'>[]): FrameSize {
  return paddedSize(frames, canvasPadding(frames, stages));
}

/** A job's peak, from the source's size, the stages' margins and the output format. */
export function predictJobMemory(
  source: FrameSize,
  stages: readonly Pick<Stage, 'margin'>[],
  format: OutputFormat,
  options: PredictOptions,
): MemoryPrediction {
  const model = options.model ?? MEMORY_MODEL;
  const frames = options.size ?? { width: source.width, height: source.height };
  const canvas = predictedCanvas(frames, stages);
  const megapixels = (canvas.width * canvas.height) / 1e6;
  const decoded = Math.max(megapixels, (source.width * source.height) / 1e6);
  const node = model.perJob.baseMb + model.perJob.perMegapixelMb * megapixels + (options.inThread ? model.perJob.threadMb : 0);
  const pool = (resolvePoolSize(options.poolSize) * frameBytes(canvas)) / MB;
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
  let low = Math.max(1, Math.ceil(((source.width * Math.min(1, MIN_FIT_SIDE / shortSide)) / 2)));
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
  /** Default MEMORY_MODEL. */
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
  const predict = { inThread: !isMainThread, poolSize: options.poolSize, model: options.memoryModel };
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
