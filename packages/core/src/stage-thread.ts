/**
 * Entry of a stage thread (see stage-threads.ts): rebuilds its group of stages from their recipes
 * (imports each effect module itself as soon as it starts, while the pipeline's thread preloads;
 * prepares each with its options and the preloaded data that the 'prepare' message brings), then
 * applies them to every frame slot it is handed, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { prepareStage, type Effect } from './effect.js';
import type { Frame } from './frame.js';
import { serializeError, type FromThread, type ThreadData, type ToThread } from './stage-threads.js';

const port = parentPort!;
const data = workerData as ThreadData;
const post = (message: FromThread) => port.postMessage(message);

const runs: Array<(frame: Frame) => void> = [];

/** The group's effects, loaded from their modules: started before the preloads are done. */
async function loadEffects(): Promise<Effect[]> {
  const effects: Effect[] = [];
  for (const stage of data.stages) {
    const module = (await import(stage.module)) as Record<string, unknown>;
    const effect = module[stage.exportName] as Effect | undefined;
    if (!effect || typeof effect.prepare !== 'function' || typeof effect.apply !== 'function') {
      throw new Error(`Expected ${stage.module} to export the effect ${stage.name} as ${stage.exportName}`);
    }
    effects.push(effect);
  }
  return effects;
}

try {
  const effects = loadEffects();
  // Not a failure of its own until the 'prepare' message awaits it.
  effects.catch(() => {});
  let size = { width: 0, height: 0 };
  let frames: Frame[] = [];
  port.on('message', (message: ToThread) => {
    if (message.type === 'prepare') {
      size = message.size;
      // What prepare() keeps is all this thread needs: the preloaded data is not held beyond it.
      effects
        .then((loaded) => {
          loaded.forEach((effect, i) => runs.push(prepareStage(effect, data.stages[i]!.options, size, message.preloaded[i])));
          post({ type: 'ready' });
        })
        .catch((error: unknown) => post({ type: 'error', error: serializeError(error) }));
      return;
    }
    if (message.type === 'pool') {
      frames = message.buffers.map((buffer) => ({ data: new Uint8Array(buffer), width: size.width, height: size.height, index: 0, pts: 0 }));
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
} catch (error) {
  post({ type: 'error', error: serializeError(error) });
}
