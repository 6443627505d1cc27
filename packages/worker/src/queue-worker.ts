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
import { dirname, resolve, relative, isAbsolute } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import pino, { type Logger } from 'pino';
import {
  CancelledError,
  ffmpegInfo,
  ffmpegStartupLine,
  InvalidOptionError,
  LimitExceededError,
  defaultMemoryModel,
  isStickerkeyError,
  probe,
  sampleProcessTree,
  type FfmpegIdentity,
  type MemoryModel,
  type ProbeLimits,
  type Progress,
} from '@stickerkey/core';
import { MemoryGate, predictJob } from './admission.js';
import { QUEUE_STATES, WorkerMetrics, startOpsServer, type OpsServer, type Readiness } from './metrics.js';
import { sweepPartials } from './sweep.js';
import { resolveJob, type Job } from './job.js';
import type { QueueWorkerConfig } from './queue-config.js';
import { renderJob, type RenderResult } from './render.js';
import { errorCode, formatErrorLine } from './report.js';
import { buildStages } from './stages.js';
import { closeRenderThreads, renderInThread, type ThreadedRenderOptions } from './threaded-render.js';

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
  /** Which ffmpeg rendered it (FFMPEG_PATH, PATH or the bundled build). */
  ffmpeg: FfmpegIdentity;
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

/** How long /readyz waits for Redis to answer PING. */
const READY_PING_MS = 1000;
/** How deep the start-up sweep looks under OUTPUT_DIR (outputs may sit in subfolders). */
const START_SWEEP_DEPTH = 3;

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
  /** Operations: metrics (METRICS_PORT), the queue-count sampler and the stale partial sweeps. */
  readonly metrics: WorkerMetrics | undefined;
  private ops: OpsServer | undefined;
  private countsQueue: Queue | undefined;
  private countsTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly config: QueueWorkerConfig,
    private readonly options: QueueWorkerOptions = {},
  ) {
    this.logger = options.logger ?? pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
    // Before any connection opens: a broken FFMPEG_PATH stops the worker here, naming the variable.
    const ffmpeg = ffmpegInfo();
    this.model = options.model ?? defaultMemoryModel();
    this.baseline = options.baselineBytes ?? Math.max(this.model.processBaselineMb * MB, sampleProcessTree().treeRss);
    this.gate = new MemoryGate(Math.max(0, config.memoryBudget - this.baseline));
    this.worker = new Worker<Job, QueueJobResult>(config.queueName, (job, token, signal) => this.process(job, token, signal), {
      // maxRetriesPerRequest null: a blocking worker connection must wait out Redis restarts.
      connection: { url: config.redisUrl, maxRetriesPerRequest: null },
      concurrency: config.maxConcurrentJobs,
      autorun: options.autorun ?? true,
      // A SIGKILLed worker's job goes back to the queue once its lock expires: lockDuration is
      // how long that takes; the stalled check runs as often (BullMQ's defaults: both 30 s).
      lockDuration: config.lockDurationSeconds * 1000,
      stalledInterval: config.lockDurationSeconds * 1000,
    });
    // An EventEmitter 'error' with no listener would throw and take the process down.
    this.worker.on('error', (error) => this.logger.error({ err: error }, `queue worker error: ${error.message}`));
    // Our own failures are logged where they happen, with their details; this catches the ones
    // BullMQ decides itself (a job stalled too often, a lost lock).
    this.worker.on('failed', (job, error) => {
      if (job && failureCode(error.message) === undefined)
        this.logger.warn({ jobId: job.id, attemptsMade: job.attemptsMade }, `JOB #${job.id} failed: ${error.message}`);
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
    this.logger.info({ ffmpeg: { path: ffmpeg.path, version: ffmpeg.version, source: ffmpeg.source, slow: ffmpeg.slow } }, ffmpegStartupLine(ffmpeg));
    for (const warning of ffmpeg.warnings) this.logger.warn({ ffmpeg: ffmpeg.path }, warning);
    if (config.metricsPort > 0) {
      this.metrics = new WorkerMetrics({
        labels: { queue: config.queueName },
        gate: () => ({ budget: this.config.memoryBudget, baseline: this.baseline, admitted: this.gate.used }),
      });
      this.startOperations();
    }
    // Temp outputs of a worker killed earlier (this one's previous life, or another's).
    if (config.outputDir !== undefined) void this.sweep(config.outputDir, START_SWEEP_DEPTH);
  }

  /** The metrics and health server, and the sampler of the queue's counts. */
  private startOperations(): void {
    this.ops = startOpsServer({ port: this.config.metricsPort, host: this.config.metricsHost, metrics: this.metrics!, readiness: () => this.readiness() });
    this.ops.listening.then(
      (address) => {
        this.logger.info({ metricsPort: address.port }, `metrics on http://${this.config.metricsHost}:${address.port}/metrics, health on /healthz and /readyz`);
        if (!this.closing) this.sampleQueueCounts();
      },
      (error: Error) =>
        this.logger.error({ err: error }, `metrics server could not listen on ${this.config.metricsHost}:${this.config.metricsPort}: ${error.message}`),
    );
  }

  /**
   * Counts come from Redis every QUEUE_SAMPLE_SECONDS, not per scrape: many scrapers (or a
   * scrape storm) then cost Redis nothing more.
   */
  private sampleQueueCounts(): void {
    this.countsQueue = new Queue(this.config.queueName, { connection: { url: this.config.redisUrl } });
    this.countsQueue.on('error', (error) => this.logger.warn({ err: error }, `queue counts: ${error.message}`));
    const sample = () => {
      this.countsQueue
        ?.getJobCounts(...QUEUE_STATES)
        .then((counts) => this.metrics?.setQueueCounts(counts))
        .catch((error: Error) => this.logger.warn({ err: error }, `queue counts could not be read: ${error.message}`));
    };
    sample();
    this.countsTimer = setInterval(sample, this.config.queueSampleSeconds * 1000);
    this.countsTimer.unref();
  }

  /** Resolves with the metrics server's address (METRICS_PORT set), rejects if it could not listen. */
  async metricsAddress(): Promise<{ host: string; port: number } | undefined> {
    if (!this.ops) return undefined;
    const address = await this.ops.listening;
    return { host: address.address, port: address.port };
  }

  /** /readyz: taking jobs and Redis answers. Not ready from the first close() (SIGTERM) on. */
  async readiness(): Promise<Readiness> {
    if (this.closing) return { ready: false, reason: 'draining: the worker is closing and takes no new jobs' };
    if (!this.worker.isRunning()) return { ready: false, reason: 'the worker is not taking jobs' };
    try {
      const client = await this.worker.client;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READY_PING_MS} ms`)), READY_PING_MS);
      });
      // BullMQ's client interface has no PING; its default client (ioredis) does. INFO otherwise.
      const pingable = client as unknown as { ping?: () => Promise<unknown> };
      const answer = typeof pingable.ping === 'function' ? pingable.ping() : client.info();
      await Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
    } catch (error) {
      return { ready: false, reason: `Redis does not answer: ${(error as Error).message}` };
    }
    return { ready: true, reason: `taking jobs from queue ${this.config.queueName}` };
  }

  /** Remove stale temp outputs (sweep.ts); logs what it removed, never throws. */
  private async sweep(dir: string, depth = 0): Promise<void> {
    await sweepPartials(dir, {
      depth,
      minAgeSeconds: this.config.partialSweepAgeSeconds,
      onRemoved: (path, pid) => this.logger.info({ path, ownerPid: pid }, `removed ${path}: temp output of process ${pid}, which is gone`),
    });
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
    this.logger.info(
      { baselineMb: round(next / MB), gateCapacityMb: round(this.gate.capacity / MB) },
      `idle process holds ${round(next / MB)} MB: ${round(this.gate.capacity / MB)} MB left for jobs`,
    );
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
          new LimitExceededError(
            `Expected JOB #${id} to finish within JOB_TIMEOUT_SECONDS=${limit} but it was still running`,
            'JOB_TIMEOUT_SECONDS',
            limit,
            limit,
          ),
        );
      }, this.config.jobTimeoutSeconds * 1000);
      timeout.unref();
    }
    let release: (() => void) | undefined;
    let histogram: IntervalHistogram | undefined;
    let output: string | undefined;
    try {
      if (this.closing) throw new CancelledError(`JOB #${id} arrived while the worker was closing; it will be retried`);
      const data = this.jobData(job);
      // Validation before any work: both throw INVALID_OPTION naming the setting.
      const resolved = resolveJob(data);
      const stages = buildStages(resolved.preset, resolved.effects);
      const source = await probe(resolved.input, this.options.limits);
      const prediction = predictJob(source, stages, resolved, { inThread: this.config.renderInThread, model: this.model });
      const what = `JOB #${id} (${prediction.canvas.width}x${prediction.canvas.height} ${prediction.format})`;
      this.refreshBaseline();
      this.logger.info(
        { jobId: id, predictedMb: round(prediction.bytes / MB), gateUsedMb: round(this.gate.used / MB), gateCapacityMb: round(this.gate.capacity / MB) },
        `${what}: predicted peak ${round(prediction.bytes / MB)} MB, ${round(this.gate.used / MB)} of ${round(this.gate.capacity / MB)} MB in use`,
      );
      const waitStart = Date.now();
      this.metrics?.jobsWaitingForMemory.inc();
      try {
        release = await this.gate.acquire(prediction.bytes, what, controller.signal);
      } finally {
        this.metrics?.jobsWaitingForMemory.dec();
      }
      entry.admitted = true;
      const startedAt = Date.now();
      this.metrics?.admissionWait.observe((startedAt - waitStart) / 1000);
      this.metrics?.jobsRunning.inc();
      output = resolved.output;

      histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
      const render = this.config.renderInThread ? renderInThread : renderJob;
      const result = await render({ ...data, jobId: id }, this.renderOptions(job, controller.signal));
      const finishedAt = Date.now();
      histogram.disable();
      const summary = this.summary(id, result, prediction.bytes, startedAt, finishedAt, startedAt - waitStart, histogram);
      this.metrics?.completed({
        format: summary.format,
        wallSeconds: summary.wallSeconds,
        framesPerSecond: summary.fps,
        admissionWaitSeconds: summary.admissionWaitMs / 1000,
        predictedBytes: summary.predictedBytes,
        peakTreeRss: summary.peakTreeRss,
        baselineBytes: this.baseline,
      });
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
      if (entry.admitted) this.metrics?.jobsRunning.dec();
      release?.();
      // A worker killed during an earlier attempt of this job (or of another one writing here)
      // left its temp output in this folder: its owner is gone now.
      if (output !== undefined) void this.sweep(dirname(output));
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

  private renderOptions(job: BullJob<Job, QueueJobResult>, signal: AbortSignal): ThreadedRenderOptions {
    const id = String(job.id);
    const log = this.logger.child({ jobId: id });
    let lastSent = 0;
    let nextLogFrame = 0;
    return {
      signal,
      keepThreadMs: this.config.renderThreadIdleMs,
      ...(this.options.limits ? { limits: this.options.limits } : {}),
      // The gate has already admitted this job by the same model, against what the measured idle
      // process and the running jobs leave of MEMORY_BUDGET_MB: a stricter check than the
      // pipeline's lone-job one, whose default budget would refuse what a larger MEMORY_BUDGET_MB admits.
      memoryBudget: Number.POSITIVE_INFINITY,
      // The seed-format line is the message itself, so `grep "💾 Memory Usage"` finds it.
      log: (line) => log.info(line),
      onProgress: (p) => {
        if (p.stage === 'probe') return;
        const now = Date.now();
        const last = p.totalFrames !== undefined && p.frame >= p.totalFrames && p.stage === 'frames';
        if (!last && now - lastSent < PROGRESS_INTERVAL_MS) return;
        lastSent = now;
        const data: JobProgressData = {
          frame: p.frame,
          totalFrames: p.totalFrames ?? null,
          fps: round(p.fps),
          treeRssMb: round(p.treeRss / MB),
          stage: p.stage,
        };
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
      ffmpeg: result.ffmpeg,
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
    this.metrics?.failed(code);
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
        // Kept for the next job (threaded-render.ts); there is none now.
        ['end the idle render threads', () => closeRenderThreads()],
        ['stop sampling the queue counts', () => clearInterval(this.countsTimer)],
        ['close the queue-counts connection', () => this.countsQueue?.close()],
        // Last: /readyz says 503 and /metrics stays scrapeable for the whole drain.
        ['close the metrics server', () => this.ops?.close()],
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
