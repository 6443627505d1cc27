/**
 * The queue worker's settings, from the environment, checked once at start-up. Like the job's
 * own settings they are an option table refused by core's resolveOptions, so a bad value reads
 * `Expected integer between 1 and 64 for MAX_CONCURRENT_JOBS but received 0` and names the
 * variable to fix, before any connection to Redis is opened.
 */
import { resolve } from 'node:path';
import { environmentInput, InvalidOptionError, resolveOptions } from '@stickerkey/core';

export const QUEUE_ENV = [
  { name: 'REDIS_URL', type: 'string', default: 'redis://127.0.0.1:6379', help: 'Redis the queue lives in (redis:// or rediss://)' },
  { name: 'QUEUE_NAME', type: 'string', default: 'stickerkey', help: 'BullMQ queue name; every worker process on it shares the jobs' },
  { name: 'MAX_CONCURRENT_JOBS', type: 'integer', min: 1, max: 64, default: 1, help: 'most jobs this process renders at once' },
  {
    name: 'MEMORY_BUDGET_MB',
    type: 'number',
    min: 64,
    max: 1_048_576,
    default: 1536,
    unit: 'MB',
    help: 'process-tree memory this process may use (Node + ffmpeg children); admission keeps predicted peaks under it',
  },
  {
    name: 'JOB_TIMEOUT_SECONDS',
    type: 'number',
    min: 0,
    max: 604_800,
    default: 0,
    unit: 's',
    help: 'a job still running after this long is aborted and fails LIMIT_EXCEEDED; 0 = no timeout',
  },
  { name: 'OUTPUT_DIR', type: 'string', default: '', help: 'relative job outputs land here, and absolute ones must lie inside it; empty = any path' },
  {
    name: 'CLOSE_GRACE_SECONDS',
    type: 'number',
    min: 0,
    max: 86_400,
    default: 60,
    unit: 's',
    help: 'on SIGTERM/SIGINT, how long running jobs may finish before they are aborted (CANCELLED, retried later)',
  },
  { name: 'RENDER_IN_THREAD', type: 'boolean', default: true, help: 'render jobs in a worker thread so pixel work never blocks lock renewal' },
  {
    name: 'RENDER_THREAD_IDLE_SECONDS',
    type: 'number',
    min: 0,
    max: 86_400,
    default: 300,
    unit: 's',
    help: 'how long a render thread waits for the next job before it ends (its compiled code skips ~10% of a 1-CPU job; ~60-75 MB while idle); 0 = a new thread per job',
  },
  // Operations: the metrics and health server (metrics.ts), the stale partial sweep (sweep.ts), the lock.
  { name: 'METRICS_PORT', type: 'integer', min: 0, max: 65_535, default: 0, help: 'serve /metrics (Prometheus), /healthz and /readyz on this port; 0 = off' },
  { name: 'METRICS_HOST', type: 'string', default: '0.0.0.0', help: 'address the metrics and health server listens on' },
  {
    name: 'QUEUE_SAMPLE_SECONDS',
    type: 'number',
    min: 1,
    max: 3600,
    default: 15,
    unit: 's',
    help: "how often the queue's waiting/active/delayed/failed counts are read from Redis for /metrics",
  },
  {
    name: 'PARTIAL_SWEEP_AGE_SECONDS',
    type: 'number',
    min: 0,
    max: 86_400,
    default: 60,
    unit: 's',
    help: 'temp outputs (.*.partial) left by a killed worker are removed once their owner is gone and they are this old; 0 is safe when only this machine writes the output folder',
  },
  {
    name: 'LOCK_DURATION_SECONDS',
    type: 'number',
    min: 1,
    max: 3600,
    default: 30,
    unit: 's',
    help: "BullMQ job lock: a killed worker's job goes back to the queue after about this long",
  },
] as const;

export interface QueueWorkerConfig {
  redisUrl: string;
  queueName: string;
  maxConcurrentJobs: number;
  /** Bytes. */
  memoryBudget: number;
  /** Seconds; 0 = none. */
  jobTimeoutSeconds: number;
  /** Absolute, or undefined for "any path". */
  outputDir: string | undefined;
  closeGraceSeconds: number;
  renderInThread: boolean;
  /** Milliseconds a render thread is kept for the next job (threaded-render.ts); 0 = a new thread per job. */
  renderThreadIdleMs: number;
  /** 0 = no metrics/health server. */
  metricsPort: number;
  metricsHost: string;
  queueSampleSeconds: number;
  partialSweepAgeSeconds: number;
  lockDurationSeconds: number;
}

const MB = 1024 * 1024;

/**
 * Read and check the environment (core's environmentInput: empty counts as unset, 1/0 and
 * yes/no are booleans). Throws InvalidOptionError naming the variable.
 */
export function loadQueueConfig(env: NodeJS.ProcessEnv = process.env): QueueWorkerConfig {
  const o = resolveOptions('environment', QUEUE_ENV, environmentInput(QUEUE_ENV, env));
  // String options may resolve to null in core's table; the environment never gives null.
  const redisUrl = o.REDIS_URL ?? '';
  const queueName = o.QUEUE_NAME ?? '';
  const outputDir = o.OUTPUT_DIR ?? '';
  if (!/^rediss?:\/\/./.test(redisUrl)) {
    throw new InvalidOptionError(
      `Expected a redis:// or rediss:// URL for environment.REDIS_URL but received ${JSON.stringify(redisUrl)}`,
      'environment.REDIS_URL',
    );
  }
  if (queueName.includes(':')) {
    // BullMQ builds its Redis keys as bull:<queue>:...; a colon would make them ambiguous.
    throw new InvalidOptionError(`Expected environment.QUEUE_NAME without ":" but received ${JSON.stringify(queueName)}`, 'environment.QUEUE_NAME');
  }
  return {
    redisUrl,
    queueName,
    maxConcurrentJobs: o.MAX_CONCURRENT_JOBS,
    memoryBudget: Math.round(o.MEMORY_BUDGET_MB * MB),
    jobTimeoutSeconds: o.JOB_TIMEOUT_SECONDS,
    outputDir: outputDir === '' ? undefined : resolve(outputDir),
    closeGraceSeconds: o.CLOSE_GRACE_SECONDS,
    renderInThread: o.RENDER_IN_THREAD,
    renderThreadIdleMs: Math.round(o.RENDER_THREAD_IDLE_SECONDS * 1000),
    metricsPort: o.METRICS_PORT,
    metricsHost: o.METRICS_HOST ?? '0.0.0.0',
    queueSampleSeconds: o.QUEUE_SAMPLE_SECONDS,
    partialSweepAgeSeconds: o.PARTIAL_SWEEP_AGE_SECONDS,
    lockDurationSeconds: o.LOCK_DURATION_SECONDS,
  };
}
