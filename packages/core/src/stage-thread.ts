/**
 * Entry of a stage thread (see stage-threads.ts). For each job, in order: 'load' names its group of
 * stages (it imports each effect module at once, while the pipeline's thread preloads; a module
 * this thread imported for an earlier job is already there), 'prepare' brings the canvas size and
 * the preloaded data, 'pool' the frames, then it applies the stages to every frame slot it is
 * handed, in order. 'reset' ends the job: everything of it is dropped and collected, and 'idle'
 * tells the line that no message of that job will follow, so the thread may take the next one.
 */
import { parentPort } from 'node:worker_threads';
import { collectGarbage } from './collect-garbage.js';
import { prepareStage, type Effect } from './effect.js';
import type { Frame } from './frame.js';
import { serializeError, type FromThread, type StageData, type ToThread } from './stage-threads.js';

const port = parentPort!;
const post = (message: FromThread) => port.postMessage(message);

/** The job in hand: its stages, their effects (loading), what prepare() made of them, its frames. */
let stages: StageData[] = [];
let effects: Promise<Effect[]> = Promise.resolve([]);
let runs: Array<(frame: Frame) => void> = [];
let frames: Frame[] = [];
let size = { width: 0, height: 0 };
/** Counts loads and resets: a prepare that finishes after its job was reset answers nothing. */
let epoch = 0;

/** The group's effects, loaded from their modules: started before the preloads are done. */
async function loadEffects(group: readonly StageData[]): Promise<Effect[]> {
  const loaded: Effect[] = [];
  for (const stage of group) {
    const module = (await import(stage.module)) as Record<string, unknown>;
    const effect = module[stage.exportName] as Effect | undefined;
    if (!effect || typeof effect.prepare !== 'function' || typeof effect.apply !== 'function') {
      throw new Error(`Expected ${stage.module} to export the effect ${stage.name} as ${stage.exportName}`);
    }
    loaded.push(effect);
  }
  return loaded;
}

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'load':
      epoch++;
      stages = message.stages;
      effects = loadEffects(stages);
      // Not a failure of its own until the 'prepare' message awaits it.
      effects.catch(() => {});
      return;
    case 'prepare': {
      size = message.size;
      const group = stages;
      const job = epoch;
      // What prepare() keeps is all this thread needs: the preloaded data is not held beyond it.
      effects
        .then((loaded) => {
          if (job !== epoch) return;
          runs = loaded.map((effect, i) => prepareStage(effect, group[i]!.options, size, message.preloaded[i]));
          post({ type: 'ready' });
        })
        .catch((error: unknown) => {
          if (job === epoch) post({ type: 'error', error: serializeError(error) });
        });
      return;
    }
    case 'pool':
      frames = message.buffers.map((buffer) => ({ data: new Uint8Array(buffer), width: size.width, height: size.height, index: 0, pts: 0 }));
      return;
    case 'reset':
      epoch++;
      stages = [];
      effects = Promise.resolve([]);
      runs = [];
      frames = [];
      collectGarbage();
      post({ type: 'idle' });
      return;
    case 'frame': {
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
    }
  }
});
