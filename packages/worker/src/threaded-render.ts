/**
 * renderJob() in a worker thread of its own: same options, same result, same typed errors. The
 * effects run synchronously per frame, and setup (screen estimate, texture resize) can hold a
 * loop for seconds on a loaded 1-CPU box; in a thread, that loop is not the one that renews the
 * BullMQ job locks. One thread per job, ended when the job ends, so a job's heap and texture
 * cache go with it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CancelledError, type ProbeLimits } from '@stickerkey/core';
import type { Job } from './job.js';
import type { RenderOptions, RenderResult } from './render.js';
import { reviveError, type FromThread, type ToThread } from './thread-messages.js';

/** How long an aborted thread gets to kill its ffmpeg children and remove its temp file. */
const ABORT_GRACE_MS = 30_000;

function threadEntry(): URL {
  const built = new URL('./render-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  // Running from TypeScript sources (vitest): a thread cannot load .ts, so use the build.
  return new URL('../dist/render-thread.js', import.meta.url);
}

export function renderInThread(job: Job, options: RenderOptions = {}): Promise<RenderResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(new CancelledError());
  const limits: Partial<ProbeLimits> | undefined = options.limits;
  const { memoryBudget, fitMemory } = options;
  const thread = new Worker(threadEntry(), { workerData: { job, limits, memoryBudget, fitMemory } });
  return new Promise<RenderResult>((resolve, reject) => {
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      fn();
      // The answer is in; the thread has already waited for its ffmpeg children.
      void thread.terminate();
    };
    const onAbort = () => {
      const reason = signal?.reason instanceof Error ? signal.reason.message : 'The job was cancelled';
      thread.postMessage({ type: 'abort', reason } satisfies ToThread);
      // A thread stuck in a synchronous loop cannot read the message: end it after a grace period.
      killTimer = setTimeout(
        () => settle(() => reject(new CancelledError(`${reason} (render thread did not stop within ${ABORT_GRACE_MS / 1000} s)`))),
        ABORT_GRACE_MS,
      );
      killTimer.unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    thread.on('message', (message: FromThread) => {
      switch (message.type) {
        case 'start':
          options.onStart?.(message.job);
          break;
        case 'progress':
          options.onProgress?.(message.progress);
          break;
        case 'log':
          options.log?.(message.line);
          break;
        case 'done':
          settle(() => resolve(message.result));
          break;
        case 'error':
          settle(() => reject(reviveError(message.error)));
          break;
      }
    });
    thread.on('error', (error) => settle(() => reject(error)));
    thread.on('exit', (code) => settle(() => reject(new Error(`render thread exited with code ${code} before answering`))));
  });
}
