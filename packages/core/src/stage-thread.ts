/**
 * Entry of a stage thread (see stage-threads.ts): rebuilds its group of stages from their recipes
 * (imports each effect module itself, prepares it with the options and the preloaded data the
 * pipeline's thread sent), then applies them to every frame slot it is handed, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { prepareStage, type Effect } from './effect.js';
import type { Frame } from './frame.js';
import { serializeError, type FromThread, type ThreadData, type ToThread } from './stage-threads.js';

const port = parentPort!;
const data = workerData as ThreadData;
const post = (message: FromThread) => port.postMessage(message);

try {
  const runs: Array<(frame: Frame) => void> = [];
  for (const stage of data.stages) {
    const module = (await import(stage.module)) as Record<string, unknown>;
    const effect = module[stage.exportName] as Effect | undefined;
    if (!effect || typeof effect.prepare !== 'function' || typeof effect.apply !== 'function') {
      throw new Error(`Expected ${stage.module} to export the effect ${stage.name} as ${stage.exportName}`);
    }
    runs.push(prepareStage(effect, stage.options, data.size, stage.preloaded));
  }
  // Dropped once prepared: what prepare() kept is all this thread needs.
  for (const stage of data.stages) stage.preloaded = undefined;

  const { width, height } = data.size;
  let frames: Frame[] = [];
  port.on('message', (message: ToThread) => {
    if (message.type === 'pool') {
      frames = message.buffers.map((buffer) => ({ data: new Uint8Array(buffer), width, height, index: 0, pts: 0 }));
      return;
    }
    const frame = frames[message.slot]!;
    frame.index = message.index;
    frame.pts = message.pts;
    frame.alphaBounds = message.bounds;
    try {
      for (const run of runs) run(frame);
    } catch (error) {
      post({ type: 'error', error: serializeError(error) });
      return;
    }
    post({ type: 'done', slot: message.slot, bounds: frame.alphaBounds });
  });
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'error', error: serializeError(error) });
}
