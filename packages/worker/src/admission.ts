/**
 * Admission by memory: start a job only when its predicted peak fits the budget left by the jobs
 * already running. Counting jobs is not enough: a 1080p WebM job holds several times the memory
 * of a 360p GIF, mostly in the VP9 encoder child, and the container's limit counts the whole
 * process tree. The prediction itself is core's (MEMORY_MODELS, predictJobMemory), the same one
 * runPipeline checks a lone job against; this module only adds the gate that shares one budget
 * among concurrent jobs.
 */
import {
  CancelledError,
  LimitExceededError,
  predictJobMemory,
  stageThreadCount,
  type FrameSize,
  type MemoryModel,
  type MemoryPrediction,
  type Stage,
} from '@stickerkey/core';
import type { ResolvedJob } from './job.js';

const MB = 1024 * 1024;

/**
 * What a resolved job will hold, as the queue worker and the local batch both admit it: core's
 * prediction for the stage threads the job will really start (job.threads, 0 meaning one per core).
 */
export function predictJob(
  source: FrameSize,
  stages: readonly Stage[],
  job: Pick<ResolvedJob, 'format' | 'threads'>,
  options: { inThread: boolean; model?: MemoryModel },
): MemoryPrediction {
  return predictJobMemory(source, stages, job.format, {
    inThread: options.inThread,
    stageThreads: stageThreadCount(stages, job.threads > 0 ? job.threads : undefined),
    ...(options.model ? { model: options.model } : {}),
  });
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
