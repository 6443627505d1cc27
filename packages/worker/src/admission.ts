/**
 * Admission by memory: predict a job's peak before it starts, and start it only when that fits
 * the budget left by the jobs already running. Counting jobs is not enough: a 1080p WebM job
 * holds several times the memory of a 360p GIF, mostly in the VP9 encoder child, and the
 * container's limit counts the whole process tree.
 *
 * The model is data (MEMORY_MODEL) and deliberately simple: a constant per format plus a slope
 * per megapixel of canvas for the encoder, the same for the decoder, the frame pool at its real
 * size, and a per-job allowance for the Node side (effect scratch, texture cache, render thread).
 */
import { LimitExceededError, CancelledError, type OutputFormat, type ProbeResult, type Stage } from '@stickerkey/core';

const MB = 1024 * 1024;

/**
 * All figures in MB (MB per megapixel of canvas for the slopes).
 *
 * Where they come from: runPipeline results (through renderJob) on this project's fixtures, on
 * the 2-core development machine with the ffmpeg 4.1 static build, posterize 8: each ffmpeg
 * child's own high-water mark from `-benchmark` (decoderMaxRss, encoderMaxRss) and the sampled
 * peaks (peakProcessRss, peakTreeRss). Preset `none` for each format at 360p/720p/1080p gave the
 * encoder lines; preset `sticker` to WebM gave the Node side. Measured (MB):
 *
 *   encoder maxrss    640x360   1280x720   1920x1080        sticker, webm   724x444  1364x804  2004x1164
 *     webm              118       298        588              encoder         144       346       665
 *     mov                32        73        140              decoder          42        75       110
 *     gif                41        49         88              process RSS     159       150       230
 *     mp4                44       121        257              tree peak       273       538       973
 *
 * An idle worker process (modules, BullMQ, sharp loaded) holds about 88 MB; a render thread adds
 * about 10 MB. The lines are least-squares fits rounded UP with 10-20% headroom: over-predicting
 * costs some concurrency, under-predicting costs an OOM kill. The sum of the children's own
 * peaks bounds the tree's peak from above (they do not all peak at once), so the model predicts
 * 1154 MB for a 1080p sticker job measured at 973, 699 for 720p (538) and 413 for 360p (273). Every
 * finished job logs its prediction beside its measured peak, to re-fit from production logs.
 */
export const MEMORY_MODEL = {
  /** The idle worker process (Node, BullMQ, sharp, the effect modules), counted once per process. */
  processBaselineMb: 110,
  /** Node-side memory a job adds besides its frame pool: effect state, textures, its render thread when used. */
  perJob: { baseMb: 70, perMegapixelMb: 25, threadMb: 15 },
  /** Frames in circulation (core's FramePool default), RGBA. */
  poolFrames: 4,
  /** The decoder child (H.264 in, padded RGBA out through a pipe). */
  decoder: { baseMb: 35, perMegapixelMb: 38 },
  /** The encoder child by format. libvpx-vp9 with its look-ahead dominates everything else. */
  encoder: {
    webm: { baseMb: 65, perMegapixelMb: 290 },
    mov: { baseMb: 25, perMegapixelMb: 68 },
    gif: { baseMb: 40, perMegapixelMb: 30 },
    mp4: { baseMb: 25, perMegapixelMb: 135 },
  } satisfies Record<OutputFormat, { baseMb: number; perMegapixelMb: number }>,
} as const;

export type MemoryModel = typeof MEMORY_MODEL;

export interface MemoryPrediction {
  /** Bytes this job adds to the process tree at its peak. */
  bytes: number;
  canvas: { width: number; height: number };
  format: OutputFormat;
  parts: { node: number; pool: number; decoder: number; encoder: number };
}

/** The canvas the pipeline will use: the source padded by the stages' margins, kept even (as core does). */
export function predictedCanvas(source: Pick<ProbeResult, 'width' | 'height'>, stages: readonly Pick<Stage, 'margin'>[]) {
  const margin = stages.reduce((sum, stage) => sum + stage.margin, 0);
  const width = source.width + 2 * margin;
  const height = source.height + 2 * margin;
  return { width: width + (width % 2), height: height + (height % 2) };
}

/** A job's own peak, in bytes, on top of the process baseline. */
export function predictJobMemory(
  source: Pick<ProbeResult, 'width' | 'height'>,
  stages: readonly Pick<Stage, 'margin'>[],
  format: OutputFormat,
  options: { inThread: boolean; model?: MemoryModel },
): MemoryPrediction {
  const model = options.model ?? MEMORY_MODEL;
  const canvas = predictedCanvas(source, stages);
  const megapixels = (canvas.width * canvas.height) / 1e6;
  const node = model.perJob.baseMb + model.perJob.perMegapixelMb * megapixels + (options.inThread ? model.perJob.threadMb : 0);
  const pool = (model.poolFrames * canvas.width * canvas.height * 4) / MB;
  const decoder = model.decoder.baseMb + model.decoder.perMegapixelMb * megapixels;
  const encoder = model.encoder[format].baseMb + model.encoder[format].perMegapixelMb * megapixels;
  const parts = { node: node * MB, pool: pool * MB, decoder: decoder * MB, encoder: encoder * MB };
  return { bytes: Math.ceil(parts.node + parts.pool + parts.decoder + parts.encoder), canvas, format, parts };
}

interface Waiter {
  bytes: number;
  resolve: (release: () => void) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * A semaphore counted in bytes, first come first served: a large job at the head is not
 * overtaken by smaller ones behind it forever (no starvation), at the price of some idle
 * budget while it waits. The count of jobs is capped elsewhere (BullMQ's concurrency).
 */
export class MemoryGate {
  private inUse = 0;
  private readonly waiters: Waiter[] = [];

  constructor(private bytes: number) {}

  /** Bytes that may be held at once. */
  get capacity(): number {
    return this.bytes;
  }

  /**
   * Change the capacity (the worker re-measures its idle baseline between jobs). Jobs already
   * admitted keep their bytes; waiters are admitted if the new capacity lets them in.
   */
  setCapacity(bytes: number): void {
    this.bytes = Math.max(0, bytes);
    this.admit();
  }

  get used(): number {
    return this.inUse;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Wait until `bytes` fit, then hold them until the returned release is called (once; later
   * calls do nothing). Refuses at once, with LIMIT_EXCEEDED, what could never fit.
   */
  acquire(bytes: number, what: string, signal?: AbortSignal): Promise<() => void> {
    if (bytes > this.bytes) {
      return Promise.reject(
        new LimitExceededError(
          `Expected ${what} to fit the memory budget of ${(this.capacity / MB).toFixed(0)} MB (MEMORY_BUDGET_MB minus the worker's own baseline) but it is predicted to need ${(bytes / MB).toFixed(0)} MB`,
          'MEMORY_BUDGET_MB',
          Math.round(this.capacity / MB),
          Math.round(bytes / MB),
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(new CancelledError(`${what} was cancelled while waiting for memory`));
    if (this.waiters.length === 0 && this.inUse + bytes <= this.bytes) return Promise.resolve(this.take(bytes));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new CancelledError(`${what} was cancelled while waiting for memory`));
          // The head may have been the one blocking the others.
          this.admit();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private take(bytes: number): () => void {
    this.inUse += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= bytes;
      this.admit();
    };
  }

  private admit(): void {
    while (this.waiters.length > 0 && this.inUse + this.waiters[0]!.bytes <= this.bytes) {
      const waiter = this.waiters.shift()!;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.take(waiter.bytes));
    }
  }
}
