/**
 * Entry of a render thread: one job, through the same renderJob() as the CLI, with progress,
 * memory lines, the result and any error sent to the parent as messages. The parent's event
 * loop then only talks to Redis (lock renewal, progress), however long an effect holds this
 * thread's loop between two frames.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CancelledError } from '@stickerkey/core';
import type { Job } from './job.js';
import { renderJob } from './render.js';
import { serializeError, type FromThread, type ToThread } from './thread-messages.js';

interface ThreadInput {
  job: Job;
  limits?: Record<string, number>;
  memoryBudget?: number;
  fitMemory?: boolean;
}

const port = parentPort;
if (!port) throw new Error('render-thread.js runs as a worker thread, started by renderInThread()');
const { job, limits, memoryBudget, fitMemory } = workerData as ThreadInput;
const controller = new AbortController();
const send = (message: FromThread) => port.postMessage(message);

port.on('message', (message: ToThread) => {
  if (message.type === 'abort') controller.abort(new CancelledError(message.reason));
});

try {
  const result = await renderJob(job, {
    signal: controller.signal,
    onProgress: (progress) => send({ type: 'progress', progress }),
    log: (line) => send({ type: 'log', line }),
    onStart: (resolved) => send({ type: 'start', job: resolved }),
    ...(limits ? { limits } : {}),
    ...(memoryBudget !== undefined ? { memoryBudget } : {}),
    ...(fitMemory ? { fitMemory } : {}),
  });
  // The timeline can hold thousands of samples: the parent only reports peaks.
  send({ type: 'done', result: { ...result, timeline: [] } });
} catch (error) {
  // The pipeline throws a plain "The job was cancelled" on abort: keep the reason the parent gave.
  const reason: unknown = controller.signal.reason;
  send({ type: 'error', error: serializeError(controller.signal.aborted && reason instanceof CancelledError ? reason : error) });
} finally {
  // Let the thread end on its own; the parent also terminates it once it has the answer.
  port.unref();
}
