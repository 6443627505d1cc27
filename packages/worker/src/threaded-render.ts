/**
 * renderJob() in a render thread: same options, same result, same typed errors. The effects run
 * synchronously per frame, and setup (screen estimate, texture resize) can hold a loop for seconds
 * on a loaded 1-CPU box; in a thread, that loop is not the one that renews the BullMQ job locks.
 *
 * A thread renders one job at a time and is kept for the next job (idle for at most
 * `keepThreadMs`, default IDLE_THREAD_MS; the queue worker's RENDER_THREAD_IDLE_SECONDS). Why: a
 * new thread is a new V8 isolate, whose first frames run the effects in the interpreter until
 * they are compiled again, and on a 1-CPU container that CPU is the job's wall.
 * Measured, the 720p 10 s sticker job (one CPU, stack in-line) three times in a row, two rounds:
 * 9.02-9.24 s of CPU and 0.65-0.72 s of set-up for the 2nd and 3rd job in a kept thread, against
 * 9.83-10.19 s and 0.98-1.03 s in new ones (same bytes, no higher peak; README "Idle memory").
 * With two cores the effect stack runs in stage threads, which core keeps between jobs too
 * (stage-threads.ts); they live in this thread, so they are kept as long as it is. Between jobs the thread keeps its compiled code and the texture cache
 * (render-thread.ts), and collects the job's garbage at once (collectGarbage). Idle after a 1080p
 * job (Dockerfile malloc settings), the process held 159-185 MB of RSS with the render thread, its
 * two stage threads and the textures kept, against 101-118 MB with nothing kept: the worker
 * re-measures its idle baseline between jobs, so admission counts that. At most MAX_IDLE_THREADS
 * wait, for at most `keepThreadMs`: with the default of one job at a time, the next job takes the
 * thread it counts.
 * A thread that crashed is gone; one whose job did not stop within ABORT_GRACE_MS of an abort is
 * terminated, never reused. Idle threads do not keep the process alive.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CancelledError, IdleThreads } from '@stickerkey/core';
import type { Job } from './job.js';
import type { RenderOptions, RenderResult } from './render.js';
import { reviveError, type FromThread, type ToThread } from './thread-messages.js';

export interface ThreadedRenderOptions extends RenderOptions {
  /** How long the thread may wait for another job once this one is done; 0: it ends with the job. Default IDLE_THREAD_MS. */
  keepThreadMs?: number;
}

/** How long an aborted thread gets to kill its ffmpeg children and remove its temp file. */
const ABORT_GRACE_MS = 30_000;
/** An idle thread is ended after this long: a worker with no jobs gives its isolate's memory back. */
export const IDLE_THREAD_MS = 5 * 60_000;
/** Threads kept waiting at once; one more that finishes its job is ended (see the header). */
const MAX_IDLE_THREADS = 1;

function threadEntry(): URL {
  const built = new URL('./render-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  // Running from TypeScript sources (vitest): a thread cannot load .ts, so use the build.
  return new URL('../dist/render-thread.js', import.meta.url);
}

/** Render threads waiting for a job (one kind: any thread renders any job). */
const idle = new IdleThreads(() => new Worker(threadEntry()));
const RENDER = 'render';

/** Render threads kept for later jobs: how many are idle now. */
export function idleRenderThreads(): number {
  return idle.size;
}

/** End every idle render thread (a closing worker, a test). Threads rendering a job end with it. */
export function closeRenderThreads(): Promise<void> {
  return idle.close();
}

export function renderInThread(job: Job, options: ThreadedRenderOptions = {}): Promise<RenderResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(new CancelledError());
  const { limits, memoryBudget, fitMemory } = options;
  const thread = idle.take(RENDER);
  return new Promise<RenderResult>((resolve, reject) => {
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    // `reuse`: the thread answered (the job's own error included) and has waited for its ffmpeg
    // children, so it can take the next job; otherwise it crashed or is stuck and is ended.
    const settle = (fn: () => void, reuse: boolean) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      thread.off('message', onMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
      if (reuse) idle.keep(RENDER, thread, options.keepThreadMs ?? IDLE_THREAD_MS, MAX_IDLE_THREADS);
      else void thread.terminate();
      fn();
    };
    const onAbort = () => {
      const reason = signal?.reason instanceof Error ? signal.reason.message : 'The job was cancelled';
      thread.postMessage({ type: 'abort', reason } satisfies ToThread);
      // A thread stuck in a synchronous loop cannot read the message: end it after a grace period.
      killTimer = setTimeout(
        () => settle(() => reject(new CancelledError(`${reason} (render thread did not stop within ${ABORT_GRACE_MS / 1000} s)`)), false),
        ABORT_GRACE_MS,
      );
      killTimer.unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const onMessage = (message: FromThread) => {
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
          settle(() => resolve(message.result), true);
          break;
        case 'error':
          settle(() => reject(reviveError(message.error)), true);
          break;
      }
    };
    const onError = (error: Error) => settle(() => reject(error), false);
    const onExit = (code: number) => settle(() => reject(new Error(`render thread exited with code ${code} before answering`)), false);
    thread.on('message', onMessage);
    thread.on('error', onError);
    thread.on('exit', onExit);
    thread.postMessage({ type: 'render', job, ...(limits ? { limits } : {}), memoryBudget, fitMemory } satisfies ToThread);
  });
}
