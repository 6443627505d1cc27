// The same sticker job N times in a row through renderInThread, as the queue worker renders: with
// the render thread kept between jobs (the default) or a new one per job (--new-thread, i.e.
// RENDER_THREAD_IDLE_SECONDS=0). Prints each job's wall, set-up, tree CPU and peak tree RSS.
// Pin it to one CPU to see what a 1-CPU container pays:
//   taskset -c 0 node packages/worker/bench/kept-thread.mjs 3 clip.mp4 [--new-thread]
// Build first (`pnpm build`).
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { optimiseOnOwnThreads } from '@stickerkey/core';
import { closeRenderThreads, renderInThread } from '../dist/index.js';

// As the queue worker's process does before its first job (core's thread-compilation.ts;
// STICKERKEY_V8_BACKGROUND_COMPILE=1 to compare with V8's default).
optimiseOnOwnThreads();

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'new-thread': { type: 'boolean', default: false } } });
const [count = '3', input] = positionals;
if (!input) throw new Error('Expected: kept-thread.mjs <jobs> <clip> [--new-thread]');
const keepThreadMs = values['new-thread'] ? 0 : undefined;
for (let k = 0; k < Number(count); k++) {
  const r = await renderInThread(
    { input, output: `/tmp/stickerkey-kept-thread-${process.pid}-${k}.webm`, format: 'webm', preset: 'sticker', posterize: 12 },
    keepThreadMs === undefined ? {} : { keepThreadMs },
  );
  await rm(r.output, { force: true });
  const MB = 2 ** 20;
  console.log(
    `job ${k + 1}: wall ${r.wallSeconds.toFixed(2)} s, set-up ${r.setupSeconds.toFixed(3)} s, tree CPU ${r.cpuSeconds.toFixed(2)} s, peak tree ${Math.round(r.peakTreeRss / MB)} MB, ${r.outputBytes} bytes, stage threads ${r.stageThreads}`,
  );
}
await closeRenderThreads();
