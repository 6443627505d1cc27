/**
 * The effect stack on more than one core: stage-parallel worker threads on shared frames.
 *
 * With two or more threads allowed, the stack is cut into contiguous groups of stages, one worker
 * thread each, and frames pass down the line: the decoder fills frame i+2 while thread 1 keys
 * frame i+1 and thread 2 styles frame i, and the encoder takes frame i-1. The frames are the
 * pool's own SharedArrayBuffers: a frame crosses to a thread as its slot number (plus its index,
 * pts and alphaBounds), never as a copy, so memory stays bounded by the pool
 * (`framePoolSize(threads)` frames). Each group is a FIFO and the line is one chain, so frames
 * leave in the order they came.
 *
 * Why stage-parallel and not frame-parallel (every thread running the whole stack on different
 * frames):
 * - memory: prepare() builds scratch buffers at canvas size (the keyer's matte and bleed planes,
 *   blur and morphology scratch, ...). Stage-parallel prepares every stage once, in its one thread,
 *   as in-line does; frame-parallel would hold the whole stack's scratch once per thread.
 * - set-up: preload() (textures through sharp, the keyer's screen estimate, which decodes sample
 *   frames through the pipeline's `ctx.sampleFrames`) runs once, on the pipeline's thread, with its
 *   context; a thread receives the result and only prepares. Textures are SharedArrayBuffers, so
 *   what a thread receives is the pipeline's own copy, not another. Either design could do that, but only
 *   stage-parallel sends each preloaded texture to one thread rather than to all of them.
 * - state from frame to frame (temporal stability in the keyer, wanted by another issue): each
 *   stage sees every frame, in order, in one thread, exactly as in-line. Frame-parallel would hand
 *   consecutive frames to different copies of the keyer.
 * - output: byte-identical to in-line by construction (same code, same frames, same order).
 * The price is balance: the line runs at the pace of its slowest group. Groups are cut to even
 * out the stages' relative costs (`StageOrigin.cost`, measured per effect by the effects package),
 * so on 2 threads the sticker stack splits into keyer + outline + displacement and the other five,
 * about half of its cost each (25.5 and 25.7 of the 51.5 ms the effects bench measured on a busy
 * machine).
 *
 * Thread count: the cores the process may use (cores.ts: the CPUs, capped by a container's CPU
 * quota), capped by the `threads` option (CLI `--threads`) and
 * by the STICKERKEY_THREADS variable, and by the number of stages that can move to a thread. One
 * thread means in-line: no worker is started and the stack runs on the pipeline's thread, as it
 * always did. A stage without a recipe (hand-made, in a test or a user's code) cannot be rebuilt
 * in a thread: it runs in-line on the pipeline's thread at its place in the line, between groups.
 *
 * Errors: an effect that throws in a thread fails the job with the same class, code and fields as
 * in-line (they are serialized and revived here).
 *
 * Threads outlive their job: at its end (done, failed or aborted) each is reset, which drops and
 * collects everything of the job, and is kept for a later job of this process that runs the same
 * group of stages, for STAGE_THREAD_IDLE_MS at most. Why: a new thread is a new V8 isolate, whose
 * first frames run the effects in the interpreter and compile them again; kept, a queue worker's
 * next job (its render thread is kept too) starts on compiled code. A thread that crashed, exited
 * or did not answer its reset within RESET_TIMEOUT_MS is terminated instead. Idle threads do not
 * keep the process alive.
 */
import { Worker } from 'node:worker_threads';
import {
  AlphaMissingError,
  CancelledError,
  FfmpegFailedError,
  InvalidOptionError,
  LimitExceededError,
  StickerkeyError,
  UnsupportedInputError,
  type ErrorCode,
} from './errors.js';
import { availableCores } from './cores.js';
import { IdleThreads } from './idle-threads.js';
import type { FramePool } from './decode.js';
import type { PreloadContext, Stage } from './effect.js';
import type { Bounds, Frame } from './frame.js';

/** How long a stage thread waits for a later job before it ends (the queue worker's render thread waits as long). */
export const STAGE_THREAD_IDLE_MS = 5 * 60_000;
/** A thread still busy this long after its job's end (a stuck effect) is terminated, not kept. */
const RESET_TIMEOUT_MS = 10_000;

/** Environment variable that caps the stage threads (like the `threads` option, the lower wins). */
export const THREADS_ENV = 'STICKERKEY_THREADS';
const MAX_THREADS = 64;

/**
 * Frames in circulation for a job whose stack runs in `stageThreads` worker threads (0: in-line).
 * In-line: 4, one each for the decoder filling, the stack, the encoder's pipe, and one spare.
 * Threaded: one for the decoder, one per thread and one for the encoder, with no spare: the line
 * is CPU-bound, so a stage waiting for a frame leaves its core to the others. Measured at 1080p
 * (2004x1164, 2 threads, 6 interleaved pairs on a loaded 2-core box): 4 frames took the same wall
 * and CPU as 5 (wall 12.9-14.4 s against 13.7-15.0 s), for 8-12 MB less Node RSS at peak.
 * This is the one home of the pool's size (memory models count `framePoolSize(n)` frames).
 */
export function framePoolSize(stageThreads: number): number {
  return stageThreads === 0 ? 4 : 2 + Math.max(2, stageThreads);
}

function checkCount(value: unknown, what: string, option: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    const shown = typeof value === 'string' ? `${JSON.stringify(value)} of type string` : String(value);
    throw new InvalidOptionError(`Expected integer between 1 and ${MAX_THREADS} for ${what} but received ${shown}`, option);
  }
  return n;
}

/**
 * Threads the effect stack may use: the machine's parallelism, capped by `requested` and by
 * STICKERKEY_THREADS. Throws InvalidOptionError for a bad value of either, before any work.
 */
export function resolveThreads(requested?: number, env: NodeJS.ProcessEnv = process.env): number {
  let threads = availableCores();
  if (requested !== undefined) threads = Math.min(threads, checkCount(requested, 'threads', 'threads'));
  const fromEnv = env[THREADS_ENV];
  if (fromEnv !== undefined && fromEnv !== '') threads = Math.min(threads, checkCount(fromEnv, THREADS_ENV, THREADS_ENV));
  return threads;
}

/**
 * Below this canvas area the stack runs in-line whatever the cores: a frame's stack costs a few ms
 * there, less than starting two threads and handing every frame across them. Measured on a 1080p
 * clip rendered to Telegram (512x470 canvas, 72 frames), same bytes out: 6.2 and 6.6 s of tree
 * CPU in-line against 7.1 and 7.4 s with two threads (the stack is ~16 ms per megapixel of canvas,
 * so ~8 ms a frame at this bound).
 */
export const INLINE_BELOW_MEGAPIXELS = 0.5;

/** The threads to ask for a canvas known before the probe (a sticker target's): in-line when it is small. */
export function threadsForCanvas(canvas: { width: number; height: number } | undefined, requested?: number): number | undefined {
  return canvas && (canvas.width * canvas.height) / 1e6 < INLINE_BELOW_MEGAPIXELS ? 1 : requested;
}

/** Worker threads a job's StageLine starts for `stages` (0: in-line), for predictions made before it exists. */
export function stageThreadCount(stages: readonly Stage[], requestedThreads?: number): number {
  return planHops(stages, resolveThreads(requestedThreads)).filter((hop) => hop.thread).length;
}

/** One step of the line: a group of stages in a worker thread, or stages run in-line. */
interface Hop {
  readonly stages: readonly Stage[];
  readonly thread: boolean;
}

/**
 * Cut `stages` into hops: at most `threads` groups of contiguous stages with a recipe, each group
 * as even in cost as can be (minimise the most expensive group: a small linear-partition table,
 * the stack has ten stages at most), stages without a recipe in-line between them. Everything
 * in-line when threads < 2, when nothing can move, or when hand-made stages cut the threadable
 * ones into more runs than there are threads (each run needs a thread of its own).
 */
export function planHops(stages: readonly Stage[], threads: number): Hop[] {
  const n = stages.length;
  const movable = stages.map((stage) => stage.recipe !== undefined);
  const count = movable.filter(Boolean).length;
  const runs = movable.filter((m, i) => m && (i === 0 || !movable[i - 1])).length;
  if (threads < 2 || count === 0 || runs > threads) return n > 0 ? [{ stages, thread: false }] : [];
  const groups = Math.min(threads, count);
  const cost = stages.map((stage) => stage.recipe?.cost ?? 0);
  // best[i][k]: the least "most expensive group" for stages [0, i) with at most k groups; cut[i][k]
  // the start of the last group (or -1: stage i-1 runs in-line).
  const best = Array.from({ length: n + 1 }, () => new Array<number>(groups + 1).fill(Infinity));
  const cut = Array.from({ length: n + 1 }, () => new Array<number>(groups + 1).fill(-1));
  best[0]!.fill(0);
  for (let i = 1; i <= n; i++) {
    for (let k = 0; k <= groups; k++) {
      if (!movable[i - 1]) {
        best[i]![k] = best[i - 1]![k]!;
        continue;
      }
      if (k === 0) continue;
      let sum = 0;
      for (let j = i - 1; j >= 0 && movable[j]; j--) {
        sum += cost[j]!;
        const worst = Math.max(best[j]![k - 1]!, sum);
        if (worst < best[i]![k]!) {
          best[i]![k] = worst;
          cut[i]![k] = j;
        }
      }
    }
  }
  const hops: Hop[] = [];
  for (let i = n, k = groups; i > 0;) {
    const j = cut[i]![k]!;
    if (j < 0) {
      hops.unshift({ stages: [stages[i - 1]!], thread: false });
      i--;
    } else {
      hops.unshift({ stages: stages.slice(j, i), thread: true });
      i = j;
      k--;
    }
  }
  return hops;
}

/** An error as it crosses from a thread: enough to rebuild the same class, code and fields. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  fields: Record<string, unknown>;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    // Only data survives structured clone; a function or a stream in a field is dropped.
    if (value === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof value)) fields[key] = value;
  }
  return { name: error.name, message: error.message, stack: error.stack, code: (error as { code?: string }).code, fields };
}

const ERROR_CLASSES: Record<ErrorCode, abstract new (...args: never[]) => StickerkeyError> = {
  INVALID_OPTION: InvalidOptionError,
  UNSUPPORTED_INPUT: UnsupportedInputError,
  LIMIT_EXCEEDED: LimitExceededError,
  FFMPEG_FAILED: FfmpegFailedError,
  CANCELLED: CancelledError,
  ALPHA_MISSING: AlphaMissingError,
};
const BUILTIN_ERRORS: Record<string, ErrorConstructor> = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

/** The error a thread reported, as an instance of the class it was thrown as (ours or a built-in). */
export function reviveError(serialized: SerializedError): Error {
  const ours = serialized.code !== undefined ? ERROR_CLASSES[serialized.code as ErrorCode] : undefined;
  const error: Error = ours ? (Object.create(ours.prototype as object) as Error) : new (BUILTIN_ERRORS[serialized.name] ?? Error)(serialized.message);
  Object.defineProperty(error, 'message', { value: serialized.message, writable: true, configurable: true });
  Object.assign(error, serialized.fields);
  if (serialized.stack !== undefined) Object.defineProperty(error, 'stack', { value: serialized.stack, writable: true, configurable: true });
  return error;
}

/** Messages between the pipeline's thread and a stage thread (see stage-thread.ts). */
export type ToThread =
  | { type: 'load'; stages: StageData[] }
  | { type: 'prepare'; size: { width: number; height: number }; preloaded: unknown[] }
  | { type: 'pool'; buffers: SharedArrayBuffer[] }
  | { type: 'frame'; slot: number; index: number; pts: number; bounds: Bounds | undefined }
  | { type: 'reset' };
export type FromThread =
  { type: 'ready' } | { type: 'done'; slot: number; bounds: Bounds | undefined } | { type: 'error'; error: SerializedError } | { type: 'idle' };
/** A stage as a thread rebuilds it ('load'); the canvas size and what it preloaded follow in 'prepare', once the clip is probed and the stages preloaded. */
export interface StageData {
  name: string;
  module: string;
  exportName: string;
  options: Readonly<Record<string, unknown>>;
}

// Worker threads run plain Node, which cannot load TypeScript: from sources (vitest), the built
// entry is used, so build first (`pnpm test` does).
const here = import.meta.url;
const THREAD_ENTRY = here.endsWith('.ts') ? new URL('../dist/stage-thread.js', here) : new URL('./stage-thread.js', here);

/** What Worker.on takes for the events a line listens to. */
type WorkerListener = Parameters<Worker['on']>[1];

interface ThreadHop extends Hop {
  worker?: Worker;
  /** Resolves when the thread has prepared its stages. */
  ready?: Promise<void>;
  /** What this line listens to on the thread, removed when the job ends (the thread may serve another). */
  listeners?: Array<[event: 'message' | 'error' | 'exit', listener: WorkerListener]>;
  /** False once the thread crashed or exited: it is not kept. */
  healthy?: boolean;
  /** The group of stages its thread ran (groupKey): what it is kept for. */
  key?: string;
}

/** Stage threads kept between jobs, by the group of stages they ran (their compiled code is for those). */
const idleThreads = new IdleThreads(() => new Worker(THREAD_ENTRY));

function groupKey(stages: readonly StageData[]): string {
  return stages.map((stage) => `${stage.module}#${stage.exportName}`).join('|');
}

/** Stage threads kept for a later job: how many are idle now. */
export function idleStageThreads(): number {
  return idleThreads.size;
}

/** End every idle stage thread (a closing worker, a test). */
export function closeStageThreads(): Promise<void> {
  return idleThreads.close();
}

/**
 * The effect stack of one job, in-line or in worker threads. Create it before any work (it
 * validates the thread count), `setup()` it where the stages would be set up, pass the decoded
 * frames through `run()`, and `close()` it at the end of the job, whatever happened.
 */
export class StageLine {
  /** Worker threads the stack runs in; 0 when it runs in-line. */
  readonly threads: number;
  private readonly hops: ThreadHop[];
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private signal: AbortSignal | undefined;
  private readonly onAbort = () => void this.close();

  constructor(stages: readonly Stage[], requestedThreads?: number) {
    this.hops = planHops(stages, resolveThreads(requestedThreads));
    // stageThreadCount() below says the same for the memory model: keep the two in step.
    this.threads = this.hops.filter((hop) => hop.thread).length;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /**
   * Start the threads: each boots a Node isolate and imports its effect modules, ~0.1-0.3 s of a
   * core that needs neither the clip nor its size. The pipeline calls this first, before the probe,
   * so that the threads load while ffprobe runs; setup() calls it otherwise. Idempotent.
   */
  start(): void {
    for (const hop of this.hops) {
      if (!hop.thread || hop.worker || this.closed) continue;
      const stages = hop.stages.map((stage): StageData => {
        const { module, exportName, options } = stage.recipe!;
        return { name: stage.name, module, exportName, options };
      });
      hop.ready = this.startThread(hop, stages);
      // Its failure is also recorded by fail(): if set-up stops early, nobody awaits this one.
      hop.ready.catch(() => {});
    }
  }

  /**
   * Preload every stage here, with `ctx`; prepare in-line stages here and the others in their
   * threads. Set-up is on the job's critical path (nothing is encoded before it ends), so it runs
   * as much at once as it can: the threads have started already (start()) and load their effect
   * modules while the stages preload; the preloads run concurrently (the keyer's waits on ffmpeg
   * for its samples while the textures are made); each thread prepares as soon as its own
   * preloads are done.
   */
  async setup(ctx: PreloadContext): Promise<void> {
    this.signal = ctx.signal;
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.checkOpen();
    this.start();
    const ready = this.hops.flatMap((hop) => (hop.ready ? [hop.ready] : []));
    const preloads = this.hops.map(async (hop) => {
      if (!hop.thread) {
        for (const stage of hop.stages) {
          await stage.setup(ctx);
          this.checkOpen();
        }
        return;
      }
      const preloaded = await Promise.all(hop.stages.map((stage) => stage.recipe!.preload(ctx)));
      this.checkOpen();
      hop.worker!.postMessage({ type: 'prepare', size: ctx.size, preloaded } satisfies ToThread);
    });
    // A preload's failure is the job's: it ends set-up now, and close() stops the threads.
    await Promise.all(preloads);
    await Promise.all(ready);
    this.checkOpen();
  }

  private checkOpen(): void {
    if (this.signal?.aborted) throw CancelledError.from(this.signal);
    if (this.failure) throw this.failure;
  }

  private startThread(hop: ThreadHop, stages: StageData[]): Promise<void> {
    const key = groupKey(stages);
    const worker = idleThreads.take(key);
    hop.worker = worker;
    hop.key = key;
    hop.healthy = true;
    hop.listeners = [];
    const ready = new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => {
        this.fail(error);
        reject(error);
      };
      this.listen(hop, 'message', (message: FromThread) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'error') failed(reviveError(message.error));
      });
      // An exception outside an effect's apply (a module that fails to load, a thread out of memory).
      this.listen(hop, 'error', (error: Error) => {
        hop.healthy = false;
        failed(error);
      });
      this.listen(hop, 'exit', (code: number) => {
        hop.healthy = false;
        if (!this.closed) failed(new Error(`Stage thread for ${hop.stages.map((s) => s.name).join(', ')} exited with code ${code}`));
      });
    });
    worker.postMessage({ type: 'load', stages } satisfies ToThread);
    return ready;
  }

  private listen(hop: ThreadHop, event: 'message' | 'error' | 'exit', listener: WorkerListener): void {
    hop.worker!.on(event, listener);
    hop.listeners!.push([event, listener]);
  }

  /**
   * The job is over for `hop`'s thread: this line stops listening, and the thread is reset and
   * kept (see the header), or terminated when it crashed or does not answer the reset.
   */
  private release(hop: ThreadHop): Promise<void> {
    const worker = hop.worker!;
    for (const [event, listener] of hop.listeners ?? []) worker.off(event, listener);
    if (!hop.healthy) return worker.terminate().then(() => undefined);
    const key = hop.key!;
    return new Promise<void>((resolve) => {
      const done = (keep: boolean) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        // No more threads wait than a line of this machine can use.
        if (keep) idleThreads.keep(key, worker, STAGE_THREAD_IDLE_MS, availableCores());
        else void worker.terminate();
        resolve();
      };
      // 'idle' comes after every message of this job (one port, in order): the next job hears none of them.
      const onMessage = (message: FromThread) => message.type === 'idle' && done(true);
      const onExit = () => done(false);
      const timer = setTimeout(() => done(false), RESET_TIMEOUT_MS);
      timer.unref();
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      worker.postMessage({ type: 'reset' } satisfies ToThread);
    });
  }

  /** The frames of `frames` (from `pool`), through every stage, in order. */
  async *run(frames: AsyncIterable<Frame>, pool: FramePool): AsyncGenerator<Frame> {
    if (this.threads === 0) {
      const stages = this.hops[0]?.stages ?? [];
      for await (const frame of frames) {
        for (const stage of stages) stage.process(frame);
        yield frame;
      }
      return;
    }
    const slots = new Map(pool.frames.map((frame, slot) => [frame, slot]));
    const hops = this.hops;
    const finished: Frame[] = [];
    let inFlight = 0;
    let fedAll = false;
    const wakeRun = () => {
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    };
    // Frame from hop `from` on: in-line hops run here and now, a thread hop gets the frame's slot.
    const forward = (frame: Frame, from: number) => {
      let h = from;
      for (; h < hops.length && !hops[h]!.thread; h++) for (const stage of hops[h]!.stages) stage.process(frame);
      if (h === hops.length) {
        finished.push(frame);
        wakeRun();
        return;
      }
      const message: ToThread = { type: 'frame', slot: slots.get(frame)!, index: frame.index, pts: frame.pts, bounds: frame.alphaBounds };
      hops[h]!.worker!.postMessage(message);
    };
    const buffers = pool.frames.map((frame) => frame.data.buffer as SharedArrayBuffer);
    hops.forEach((hop, h) => {
      if (!hop.worker) return;
      hop.worker.postMessage({ type: 'pool', buffers } satisfies ToThread);
      this.listen(hop, 'message', (message: FromThread) => {
        if (message.type !== 'done') return;
        const frame = pool.frames[message.slot]!;
        frame.alphaBounds = message.bounds;
        try {
          forward(frame, h + 1);
        } catch (error) {
          this.fail(error as Error);
        }
      });
    });
    const feed = async () => {
      for await (const frame of frames) {
        if (this.failure) return;
        if (!slots.has(frame)) throw new Error('StageLine.run: a frame that is not from the pool it was given');
        inFlight++;
        forward(frame, 0);
      }
      fedAll = true;
      wakeRun();
    };
    feed().catch((error: Error) => this.fail(error));
    let next = 0;
    for (;;) {
      if (this.failure) throw this.failure;
      const frame = finished.shift();
      if (frame) {
        // One chain of FIFOs keeps the order; a broken promise here would corrupt the video silently.
        if (frame.index !== next) throw new Error(`StageLine.run: frame ${frame.index} came out where ${next} was due`);
        next++;
        inFlight--;
        yield frame;
        continue;
      }
      if (fedAll && inFlight === 0) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Release every thread (idempotent: every call shares one promise); the line is unusable afterwards. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.signal?.removeEventListener('abort', this.onAbort);
      this.fail(this.signal?.aborted ? CancelledError.from(this.signal) : new Error('StageLine closed'));
      await Promise.all(this.hops.flatMap((hop) => (hop.worker ? [this.release(hop)] : [])));
    })();
    return this.closing;
  }
}
