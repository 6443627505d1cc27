/**
 * Add a job to the queue (`stickerkey enqueue job.yaml`), optionally waiting for its result.
 * The job is validated here first, with the same checks the worker makes, so a typo is refused
 * at the producer rather than discovered later in a failed job.
 */
import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import { resolveJob, type Job } from './job.js';
import type { QueueJobResult } from './queue-worker.js';
import { buildStages } from './stages.js';

export interface EnqueueOptions {
  redisUrl: string;
  queueName: string;
  /** BullMQ job id (a duplicate id is not added twice). */
  jobId?: string;
  /** Attempts in all: a job cancelled by a worker shutdown is retried within these. Default 3. */
  attempts?: number;
  /** Wait for the job to end and return its result (throws with its failed reason). */
  wait?: boolean;
  /** With wait: give up after this long (ms); default 1 hour. */
  waitTimeoutMs?: number;
}

export interface Enqueued {
  id: string;
  result?: QueueJobResult;
}

export async function enqueueJob(job: Job, options: EnqueueOptions): Promise<Enqueued> {
  const checked = resolveJob(job);
  buildStages(checked.preset, checked.effects);
  const connection = { url: options.redisUrl };
  const queue = new Queue<Job, QueueJobResult>(options.queueName, { connection });
  const events = options.wait ? new QueueEvents(options.queueName, { connection }) : undefined;
  try {
    // Subscribe before adding, so that a job finishing quickly is not missed.
    await events?.waitUntilReady();
    const opts: JobsOptions = {
      attempts: options.attempts ?? 3,
      // Retries (ffmpeg failures, shutdowns) wait 10 s, 20 s, 40 s...
      backoff: { type: 'exponential', delay: 10_000 },
      // Keep finished jobs long enough to read their results, not forever.
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
      ...(options.jobId !== undefined ? { jobId: options.jobId } : {}),
    };
    const added = await queue.add('render', job, opts);
    const id = String(added.id);
    if (!events) return { id };
    const result = await added.waitUntilFinished(events, options.waitTimeoutMs ?? 3_600_000);
    return { id, result };
  } finally {
    await events?.close().catch(() => {});
    await queue.close().catch(() => {});
  }
}
