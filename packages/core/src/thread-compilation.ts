/**
 * Where our worker threads' hot code is optimised: on the thread that runs it, not on V8's shared
 * background compiler threads.
 *
 * By default V8 hands a hot function to its background threads for TurboFan and keeps running the
 * slow tiers until the optimised code is ready. A job keeps every core busy (one stage thread a
 * core, the decoder and the encoder beside them), so those compiler threads wait for a core while
 * a stage thread runs its first frames in the interpreter, and the first frame of a job crosses
 * two threads that are both still cold. Compiled on the thread itself, each function runs
 * optimised as soon as it is hot. Measured in fresh processes, the same bytes out (ffmpeg 5.1):
 * the 1080p bench job on 2 cores set up in 0.77-0.86 s against 0.90-1.05 s (4 interleaved pairs;
 * its whole CPU 14.98-15.20 s against 15.38-15.74 s there, but level in the bench's medians of
 * three); the queue worker's path on one CPU, a render thread's first 720p job, 8.47-8.55 s of CPU
 * against 8.68-9.07 s (2 pairs).
 *
 * V8 reads this flag when it creates an isolate, so it applies to threads started after the call:
 * our stage threads and the queue worker's render thread, not the main thread and not threads
 * already running. So a job the CLI runs in-line (one core) is unchanged. It is process-wide, so
 * the library does not set it by itself: our own processes (the `stickerkey` CLI, the queue
 * worker, the demo, the bench's job runner) call `optimiseOnOwnThreads()` before their first job;
 * an application that imports the packages may call it too.
 */
import { setFlagsFromString } from 'node:v8';

/** Set to 1 to keep V8's background compilation (the default before this module). */
export const BACKGROUND_COMPILE_ENV = 'STICKERKEY_V8_BACKGROUND_COMPILE';

let applied = false;

/**
 * Worker threads started from now on optimise their hot code on their own thread (see the
 * header). Idempotent; returns whether it applies (false when BACKGROUND_COMPILE_ENV is 1).
 */
export function optimiseOnOwnThreads(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[BACKGROUND_COMPILE_ENV] === '1') return false;
  if (!applied) {
    setFlagsFromString('--no-concurrent-recompilation');
    applied = true;
  }
  return true;
}
