/**
 * A procedural texture made in a worker thread of its own, which exits when it is done: the
 * pipeline's thread stays free during set-up (it reads the first frames and estimates the screen
 * meanwhile). The bytes come back as the thread's SharedArrayBuffer, not a copy.
 */
import { Worker } from 'node:worker_threads';
import type { ProceduralSpec } from './procedural.js';

// Worker threads run plain Node, which cannot load TypeScript: from sources (vitest), the built
// entry is used, so build first (`pnpm test` does).
const here = import.meta.url;
const ENTRY = here.endsWith('.ts') ? new URL('../../dist/internal/texture-thread.js', here) : new URL('./texture-thread.js', here);

export function generateInThread(spec: ProceduralSpec, size: { width: number; height: number }): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(ENTRY, { workerData: { spec, size } });
    let done = false;
    worker.once('message', (buffer: SharedArrayBuffer) => {
      done = true;
      resolve(new Uint8Array(buffer));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!done) reject(new Error(`Texture thread for ${spec.procedural} ${size.width}x${size.height} exited with code ${code} before its texture`));
    });
  });
}
