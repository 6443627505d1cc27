/**
 * Entry of a render thread: jobs one after another, each through the same renderJob() as the CLI,
 * with progress, memory lines, the result and any error sent to the parent as messages. The
 * parent's event loop then only talks to Redis (lock renewal, progress), however long an effect
 * holds this thread's loop between two frames.
 *
 * The thread outlives its job (threaded-render.ts says why): between jobs it holds its compiled
 * code and the texture cache, as a process rendering in-line does (textures.ts: an LRU bounded by
 * STICKERKEY_TEXTURE_CACHE_MB, ~14 MB for a 1080p sticker job's textures, which the next job of that
 * canvas finds made), and the job's garbage is collected at once (collectGarbage), not when the
 * next job allocates. What stays is in the idle worker's RSS, which it re-measures as its baseline.
 */
import { parentPort } from 'node:worker_threads';
import { CancelledError, collectGarbage } from '@stickerkey/core';
import { renderJob } from './render.js';
import { serializeError, type FromThread, type RenderRequest, type ToThread } from './thread-messages.js';

const port = parentPort;
if (!port) throw new Error('render-thread.js runs as a worker thread, started by renderInThread()');
const send = (message: FromThread) => port.postMessage(message);

/** The job in progress: one at a time, the parent never sends a second before the first answers. */
let controller: AbortController | undefined;

async function render({ job, limits, memoryBudget, fitMemory }: RenderRequest): Promise<void> {
  const own = new AbortController();
  controller = own;
  try {
    const result = await renderJob(job, {
      signal: own.signal,
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
    const reason: unknown = own.signal.reason;
    send({ type: 'error', error: serializeError(own.signal.aborted && reason instanceof CancelledError ? reason : error) });
  } finally {
    controller = undefined;
    collectGarbage();
  }
}

port.on('message', (message: ToThread) => {
  if (message.type === 'abort') controller?.abort(new CancelledError(message.reason));
  else void render(message);
});
