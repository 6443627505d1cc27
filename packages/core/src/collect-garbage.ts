/**
 * V8's full collection for a thread that is kept between jobs (a stage thread, the queue worker's
 * render thread), run when its job is over.
 *
 * Why: a finished job leaves its frames and scratch as garbage (tens of MB at 1080p), and an idle
 * isolate allocates nothing, so V8 would keep it until the next job allocates: the idle process's
 * RSS, which the worker's admission counts as its baseline, would carry the last job's scratch.
 * Measured on the render thread after a 1080p job (Dockerfile malloc settings): 174-181 MB idle
 * without a collection, 120-137 MB with one, 101-118 MB with no thread kept at all.
 *
 * How: `node --expose-gc` is a V8 flag, and V8 flags are process-wide; set from here, every context
 * created afterwards (this one's new context, any later isolate) has a `gc` global, as it would
 * under --expose-gc. The same two lines as the expose-gc package.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** A full, synchronous collection of this isolate's heap. */
export function collectGarbage(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
