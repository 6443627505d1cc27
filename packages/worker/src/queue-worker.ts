/**
 * The production queue worker: a thin BullMQ worker around renderJob(). Many processes on many
 * machines can share one queue; each takes at most MAX_CONCURRENT_JOBS jobs and starts one only
 * when its predicted peak memory fits what the running ones left of MEMORY_BUDGET_MB.
 *
 * A job's data is a job object, the same shape as the CLI's job file. Each job:
 *   validate (resolveJob, buildStages) -> probe -> predict memory -> wait at the memory gate
 *   -> render in a worker thread of its own -> return a summary as the job's return value.
 * Bad data fails the job with its code in the failed reason (`... [INVALID_OPTION]`), as an
 * UnrecoverableError when retrying cannot help; nothing a job does can crash the worker.
 *
 * close() is modelled on BullMQ's Worker.close(): one shared promise, stop taking jobs, let the
 * running ones finish (aborting them past a grace period: CANCELLED, retried later by BullMQ),
 * every cleanup step in its own try/catch.
 */
import { resolve, relative, isAbsolute } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { DelayedError, UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import pino, { type Logger } from 'pino';
import {
  CancelledError,
  InvalidOptionError,
  LimitExceededError,
  isStickerkeyError,
  probe,
  sampleProcessTree,
  type ProbeLimits,
  type Progress,
} from '@stickerkey/core';
import { MEMORY_MODEL, MemoryGate, predictJobMemory, type MemoryModel } from './admission.js';
import { resolveJob, type Job } from './job.js';
import type { QueueWorkerConfig } from './queue-config.js';
import { renderJob, type RenderOptions, type RenderResult } from './render.js';
import { errorCode, formatErrorLine } from './report.js';
import { buildStages } from './stages.js';
import { renderInThread } from './threaded-render.js';

const MB = 1024 * 1024;

/** Codes a retry cannot fix: the same data would be refused the same way. */
const UNRECOVERABLE = new Set(['INVALID_OPTION', 'UNSUPPORTED_INPUT', 'LIMIT_EXCEEDED']);

/** At most one progress update to Redis per this many ms (plus the last frame). */
const PROGRESS_INTERVAL_MS = 500;

/** What a completed job returns (BullMQ stores it as the job's return value). */
export interface QueueJobResult {
  jobId: string;
  output: string;
  format: string;
  frames: number;
  width: number;
  height: number;
  wallSeconds: number;
  /** Frames rendered per second of wall time. */
  fps: number;
  /** Frame rate of the encoded video. */
  outputFps: number;
  outputBytes: number;
  /** Bytes, whole process tree (with concurrent jobs, theirs too). */
  peakTreeRss: number;
  peakProcessRss: number;
  /** What admission predicted this job adds to the tree, bytes. */
  predictedBytes: number;
  /** Epoch ms: admitted and started rendering; finished rendering. */
  startedAt: number;
  finishedAt: number;
  /** Time spent waiting at the memory gate. */
  admissionWaitMs: number;
  /** Delay of this process's main event loop (the one renewing locks) while the job rendered. */
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
  renderedInThread: boolean;
}

export interface JobProgressData {
  frame: number;
  /** null while unknown (a streamed input, until its last frame). */
  totalFrames: number | null;
  fps: number;
  treeRssMb: number;
  stage: Progress['stage'];
}

export interface QueueWorkerOptions {
  logger?: Logger;
  limits?: Partial<ProbeLimits>;
  model?: MemoryModel;
  /** Bytes the idle process holds, fixed; default: measured at start and again whenever no job runs, at least the model's baseline. */
  baselineBytes?: number;
  /** Start taking jobs at once (default) or only after run(). */
  autorun?: boolean;
}

interface Running {
  controller: AbortController;
  admitted: boolean;
}

/** The code in a failed job's reason (`<message> [CODE]`), or undefined. */
export function failureCode(failedReason: string | undefined): string | undefined {
  return failedReason ? /\[([A-Z][A-Z0-9_]*)\]$/.exec(failedReason)?.[1] : undefined;
}

function plainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export class QueueWorker {
  readonly worker: Worker<Job, QueueJobResult>;
  readonly gate: MemoryGate;
  private baseline: number;
  private readonly running = new Map<string, Running>();
  private closing: Promise<void> | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private readonly model: MemoryModel;

  constructor(
    readonly config: QueueWorkerConfig,
    private readonly options: QueueWorkerOptions = {},
  ) {
    this.logger = options.logger ?? pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
    this.model = options.model ?? MEMORY_MODEL;
    this.baseline = options.baselineBytes ?? Math.max(this.model.processBaselineMb * MB, sampleProcessTree().treeRss);
    this.gate = new MemoryGate(Math.max(0, config.memoryBudget - this.baseline));
    this.worker = new Worker<Job, QueueJobResult>(config.queueName, (job, token, signal) => this.process(job, token, signal), {
      // maxRetriesPerRequest null: a blocking worker connection must wait out Redis restarts.
      connection: { url: config.redisUrl, maxRetriesPerRequest: null },
      concurrency: config.maxConcurrentJobs,
      autorun: options.autorun ?? true,
    });
    // An EventEmitter 'error' with no listener would throw and take the process down.
    this.worker.on('error', (error) => this.logger.error({ err: error }, `queue worker error: ${error.message}`));
    // Our own failures are logged where they happen, with their details; this catches the ones
    // BullMQ decides itself (a job stalled too often, a lost lock).
    this.worker.on('failed', (job, error) => {
      if (job && failureCode(error.message) === undefined) this.logger.warn({ jobId: job.id, attemptsMade: job.attemptsMade }, `JOB #${job.id} failed: ${error.message}`);
    });
    this.logger.info(
      {
        queue: config.queueName,
        maxConcurrentJobs: config.maxConcurrentJobs,
        memoryBudgetMb: round(config.memoryBudget / MB),
        baselineMb: round(this.baselineBytes / MB),
        renderInThread: config.renderInThread,
      },
      `stickerkey worker on queue ${config.queueName}: up to ${config.maxConcurrentJobs} jobs within ${round(config.memoryBudget / MB)} MB`,
    );
  }

  /** What the idle process holds, bytes: the part of the budget no job can have. */
  get baselineBytes(): number {
    return this.baseline;
  }

  /**
   * Re-measure the idle process when no job is rendering. A process does not give all of a
   * finished job's memory back to the system (malloc arenas, V8 heap kept for reuse): after a
   * 1080p job the idle worker holds more than when it started, and that is budget no new job can
   * use. Never below the model's floor; an explicit baselineBytes option is kept as given.
   */
  private refreshBaseline(): void {
    if (this.gate.used > 0 || this.options.baselineBytes !== undefined) return;
    const next = Math.max(this.model.processBaselineMb * MB, sampleProcessTree().treeRss);
    if (Math.abs(next - this.baseline) < MB) return;
    this.baseline = next;
    this.gate.setCapacity(this.config.memoryBudget - next);
    this.logger.info({ baselineMb: round(next / MB), gateCapacityMb: round(this.gate.capacity / MB) }, `idle process holds ${round(next / MB)} MB: ${round(this.gate.capacity / MB)} MB left for jobs`);
  }

  /** Start taking jobs (only needed with autorun: false). */
  run(): Promise<void> {
    return this.worker.run();
  }

  /** Resolves when the worker's connections are up. */
  waitUntilReady(): Promise<unknown> {
    return this.worker.waitUntilReady();
  }

  /** Jobs taken by this process: waiting at the memory gate or rendering. */
  get activeJobs(): number {
    return this.running.size;
  }

  private async process(job: BullJob<Job, QueueJobResult>, token: string | undefined, bullSignal: AbortSignal | undefined): Promise<QueueJobResult> {
    const id = String(job.id);
    const controller = new AbortController();
    const entry: Running = { controller, admitted: false };
    this.running.set(id, entry);
    // BullMQ's own cancellation (worker.cancelJob) reaches the pipeline too.
    const onBullAbort = () => controller.abort(new CancelledError(`JOB #${id} was cancelled through BullMQ`));
    bullSignal?.addEventListener('abort', onBullAbort, { once: true });
    let timeout: NodeJS.Timeout | undefined;
    if (this.config.jobTimeoutSeconds > 0) {
      timeout = setTimeout(() => {
        const limit = this.config.jobTimeoutSeconds;
        controller.abort(
          new LimitExceededError(`Expected JOB #${id} to finish within JOB_TIMEOUT_SECONDS=${limit} but it was still running`, 'JOB_TIMEOUT_SECONDS', limit, limit),
        );
      }, this.config.jobTimeoutSeconds * 1000);
      timeout.unref();
    }
    let release: (() => void) | undefined;
    let histogram: IntervalHistogram | undefined;
    try {
      if (this.closing) throw new CancelledError(`JOB #${id} arrived while the worker was closing; it will be retried`);
      const data = this.jobData(job);
      // Validation before any work: both throw INVALID_OPTION naming the setting.
      const resolved = resolveJob(data);
      const stages = buildStages(resolved.preset, resolved.effects);
      const source = await probe(resolved.input, this.options.limits);
      const prediction = predictJobMemory(source, stages, resolved.format, { inThread: this.config.renderInThread, model: this.model });
      const what = `JOB #${id} (${prediction.canvas.width}x${prediction.canvas.height} ${prediction.format})`;
      this.refreshBaseline();
      this.logger.info(
        { jobId: id, predictedMb: round(prediction.bytes / MB), gateUsedMb: round(this.gate.used / MB), gateCapacityMb: round(this.gate.capacity / MB) },
        `${what}: predicted peak ${round(prediction.bytes / MB)} MB, ${round(this.gate.used / MB)} of ${round(this.gate.capacity / MB)} MB in use`,
      );
      const waitStart = Date.now();
      release = await this.gate.acquire(prediction.bytes, what, controller.signal);
      entry.admitted = true;
      const startedAt = Date.now();

      histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
      const render = this.config.renderInThread ? renderInThread : renderJob;
      const result = await render({ ...data, jobId: id }, this.renderOptions(job, controller.signal));
      const finishedAt = Date.now();
      histogram.disable();
      const summary = this.summary(id, result, prediction.bytes, startedAt, finishedAt, startedAt - waitStart, histogram);
      this.logger.info(
        summary,
        `JOB #${id} done: ${summary.frames} frames in ${summary.wallSeconds} s (${summary.fps} fps), peak tree ${round(summary.peakTreeRss / MB)} MB RSS, predicted ${round(summary.predictedBytes / MB)} MB`,
      );
      return summary;
    } catch (error) {
      if (this.closing && !entry.admitted && errorCode(error) === 'CANCELLED' && token !== undefined) {
        // Never started here: hand it back to the queue as it was, without spending an attempt,
        // for another process (or this one, restarted) to take.
        try {
          await job.moveToDelayed(Date.now(), token);
          this.logger.info({ jobId: id }, `JOB #${id} handed back to the queue: the worker is closing`);
          throw new DelayedError();
        } catch (handBack) {
          if (handBack instanceof DelayedError) throw handBack;
          this.logger.warn({ jobId: id, err: handBack }, `JOB #${id} could not be handed back: ${(handBack as Error).message}`);
        }
      }
      throw this.failure(id, error, controller.signal);
    } finally {
      histogram?.disable();
      release?.();
      if (timeout) clearTimeout(timeout);
      bullSignal?.removeEventListener('abort', onBullAbort);
      this.running.delete(id);
    }
  }

  /** The job object, with its output placed under OUTPUT_DIR when one is configured. */
  private jobData(job: BullJob<Job, QueueJobResult>): Job {
    const data: unknown = job.data;
    if (!plainObject(data)) {
      const got = data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data;
      throw new InvalidOptionError(`Expected the data of JOB #${job.id} to be an object of job settings (as in a job file) but received ${got}`, 'job');
    }
    const outputDir = this.config.outputDir;
    if (outputDir === undefined || typeof data.output !== 'string' || data.output === '') return data as unknown as Job;
    const output = resolve(outputDir, data.output);
    const inside = relative(outputDir, output);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw new InvalidOptionError(`Expected job.output inside OUTPUT_DIR ${outputDir} but received ${JSON.stringify(data.output)}`, 'job.output');
    }
    return { ...(data as unknown as Job), output };
  }

  private renderOptions(job: BullJob<Job, QueueJobResult>, signal: AbortSignal): RenderOptions {
    const id = String(job.id);
    const log = this.logger.child({ jobId: id });
    let lastSent = 0;
    let nextLogFrame = 0;
    return {
      signal,
      ...(this.options.limits ? { limits: this.options.limits } : {}),
      // The seed-format line is the message itself, so `grep "💾 Memory Usage"` finds it.
      log: (line) => log.info(line),
      onProgress: (p) => {
        if (p.stage === 'probe') return;
        const now = Date.now();
        const last = p.totalFrames !== undefined && p.frame >= p.totalFrames && p.stage === 'frames';
        if (!last && now - lastSent < PROGRESS_INTERVAL_MS) return;
        lastSent = now;
        const data: JobProgressData = { frame: p.frame, totalFrames: p.totalFrames ?? null, fps: round(p.fps), treeRssMb: round(p.treeRss / MB), stage: p.stage };
        // Not awaited: Redis round trips never hold up the frames. A lost update is only cosmetic.
        job.updateProgress(data as unknown as object).catch((error: Error) => log.warn({ err: error }, `progress update failed: ${error.message}`));
        if (p.frame >= nextLogFrame || last) {
          // Unknown total: a line with every progress update (one per PROGRESS_INTERVAL_MS).
          nextLogFrame = p.frame + (p.totalFrames === undefined ? 1 : Math.max(1, Math.ceil(p.totalFrames / 10)));
          log.info(data, `JOB #${id}: frame ${p.frame}/${p.totalFrames ?? '?'}, ${data.fps} fps, tree ${data.treeRssMb} MB RSS`);
        }
      },
    };
  }

  private summary(
    id: string,
    result: RenderResult,
    predictedBytes: number,
    startedAt: number,
    finishedAt: number,
    admissionWaitMs: number,
    histogram: IntervalHistogram,
  ): QueueJobResult {
    const ms = (ns: number) => round(ns / 1e6);
    return {
      jobId: id,
      output: result.output,
      format: result.format,
      frames: result.frames,
      width: result.width,
      height: result.height,
      wallSeconds: round(result.wallSeconds, 2),
      fps: round(result.framesPerSecond, 2),
      outputFps: result.fps,
      outputBytes: result.outputBytes,
      peakTreeRss: result.peakTreeRss,
      peakProcessRss: result.peakProcessRss,
      predictedBytes,
      startedAt,
      finishedAt,
      admissionWaitMs,
      eventLoopDelay: { p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max) },
      renderedInThread: this.config.renderInThread,
    };
  }

  /**
   * The error BullMQ records. The reason keeps the CLI's one-line form, `<message> [CODE]`, so a
   * caller reads the code from job.failedReason (see failureCode); bad input is unrecoverable.
   */
  private failure(id: string, error: unknown, signal: AbortSignal): Error {
    // A timeout or a shutdown aborts the pipeline, which then reports a plain cancellation: the
    // abort's own reason says which it was.
    let cause = error;
    if (signal.aborted && isStickerkeyError(signal.reason) && errorCode(error) === 'CANCELLED') cause = signal.reason;
    const code = errorCode(cause);
    const reason = formatErrorLine(cause).replace(/^stickerkey: /, '');
    this.logger.error({ jobId: id, code, err: cause }, `JOB #${id}: ${reason}`);
    if (UNRECOVERABLE.has(code)) return new UnrecoverableError(reason);
    const failed = new Error(reason);
    failed.name = cause instanceof Error ? cause.name : 'Error';
    if (cause instanceof Error && cause.stack) failed.stack = `${failed.name}: ${reason}\n${cause.stack.split('\n').slice(1).join('\n')}`;
    return failed;
  }

  /** Abort jobs now: those not yet admitted always, the rendering ones too when `all`. */
  private abortJobs(reason: string, all: boolean): void {
    for (const [id, entry] of this.running) {
      if (all || !entry.admitted) entry.controller.abort(new CancelledError(`JOB #${id} ${reason}; it will be retried`));
    }
  }

  /**
   * Stop taking jobs and wait for the running ones; past `graceSeconds` (default
   * CLOSE_GRACE_SECONDS) abort them, so their ffmpeg children and temp files are cleaned up and
   * they fail CANCELLED, to be retried by BullMQ (their `attempts` permitting). Jobs taken but
   * not started (waiting for memory) are handed back to the queue at once, no attempt spent.
   * Every call returns the same promise.
   */
  close(graceSeconds: number = this.config.closeGraceSeconds): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      this.logger.info({ running: this.running.size, graceSeconds }, `closing: waiting for ${this.running.size} job(s), at most ${graceSeconds} s`);
      const steps: Array<[string, () => unknown]> = [
        ['give back jobs waiting for memory', () => this.abortJobs('was not started before the worker closed', false)],
        [
          'arm the grace period',
          () => {
            this.graceTimer = setTimeout(() => {
              this.logger.warn({ running: this.running.size }, `grace period of ${graceSeconds} s over: aborting running jobs`);
              this.abortJobs(`was aborted after the ${graceSeconds} s close grace period`, true);
            }, graceSeconds * 1000);
          },
        ],
        // BullMQ's own close: stops fetching, waits for the processors, closes lock renewal and connections.
        ['close the BullMQ worker', () => this.worker.close()],
        ['disarm the grace period', () => clearTimeout(this.graceTimer)],
        ['flush the log', () => this.logger.flush()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (error) {
          this.logger.error({ err: error }, `closing: ${name} failed: ${(error as Error).message}`);
        }
      }
      this.logger.info('closed');
    })();
    return this.closing;
  }

  /** Abort every running job at once (a second SIGINT/SIGTERM); close() still finishes the cleanup. */
  abortAll(reason = 'was aborted because the worker is stopping now'): void {
    this.abortJobs(reason, true);
  }
}

export function createQueueWorker(config: QueueWorkerConfig, options?: QueueWorkerOptions): QueueWorker {
  return new QueueWorker(config, options);
}
