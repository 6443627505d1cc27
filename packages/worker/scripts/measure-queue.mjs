#!/usr/bin/env node
/**
 * Measures the queue worker on a real Redis (REDIS_URL) with fixture clips: the main event loop's
 * delay while jobs render (with and without a render thread), lock renewals, and admission (how
 * many jobs ran at once, predicted against measured peak tree memory). Figures, not assertions:
 * timings belong here, not in unit tests. Run after `pnpm build`:
 *
 *   node scripts/measure-queue.mjs --height 720 --seconds 5 --jobs 1 --thread false
 *   node scripts/measure-queue.mjs --height 1080 --seconds 5 --jobs 2 --concurrency 2 --budget 1536
 */
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import pino from 'pino';
import { sampleProcessTree } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { createQueueWorker, loadQueueConfig } from '../dist/index.js';

const { values: a } = parseArgs({
  options: {
    height: { type: 'string', default: '720' },
    seconds: { type: 'string', default: '5' },
    jobs: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1' },
    budget: { type: 'string', default: '1536' },
    thread: { type: 'string', default: 'true' },
    format: { type: 'string', default: 'webm' },
    preset: { type: 'string', default: 'sticker' },
    posterize: { type: 'string', default: '12' },
  },
});
const MB = 1024 * 1024;
const fx = await ensureFixture({ screen: 'green', height: Number(a.height), seconds: Number(a.seconds) });
const dir = await mkdtemp(join(tmpdir(), 'stickerkey-measure-'));
const name = `stickerkey-measure-${process.pid}`;
const config = loadQueueConfig({
  ...process.env,
  QUEUE_NAME: name,
  MAX_CONCURRENT_JOBS: a.concurrency,
  MEMORY_BUDGET_MB: a.budget,
  RENDER_IN_THREAD: a.thread,
});
const connection = { url: config.redisUrl };
const queue = new Queue(name, { connection });
const events = new QueueEvents(name, { connection });
await events.waitUntilReady();
const worker = createQueueWorker(config, { logger: pino({ level: 'warn' }), autorun: false });
let renewals = 0;
let renewalFailures = 0;
worker.worker.on('locksRenewed', ({ count }) => (renewals += count));
worker.worker.on('lockRenewalFailed', (ids) => (renewalFailures += ids.length));
let peakTree = 0;
const sampler = setInterval(() => (peakTree = Math.max(peakTree, sampleProcessTree().treeRss)), 100);

const jobs = [];
for (let i = 0; i < Number(a.jobs); i++) {
  jobs.push(
    await queue.add('render', {
      input: fx.video,
      output: join(dir, `out-${i}.${a.format}`),
      preset: a.preset,
      posterize: Number(a.posterize) || null,
    }),
  );
}
const started = Date.now();
void worker.run();
const results = await Promise.all(jobs.map((job) => job.waitUntilFinished(events, 3_600_000)));
const wall = (Date.now() - started) / 1000;
clearInterval(sampler);

let maxOverlap = 0;
for (const r of results) maxOverlap = Math.max(maxOverlap, results.filter((o) => o.startedAt < r.finishedAt && r.startedAt < o.finishedAt).length);
console.log(
  JSON.stringify(
    {
      clip: `${fx.width}x${fx.height} ${a.seconds}s`,
      preset: a.preset,
      format: a.format,
      thread: config.renderInThread,
      jobs: results.length,
      concurrency: config.maxConcurrentJobs,
      budgetMb: a.budget,
      baselineMb: Math.round(worker.baselineBytes / MB),
      wallSeconds: wall,
      ranAtOnce: maxOverlap,
      predictedEachMb: results.map((r) => Math.round(r.predictedBytes / MB)),
      predictedTotalMb: Math.round((worker.baselineBytes + results.reduce((s, r) => s + r.predictedBytes, 0)) / MB),
      measuredPeakTreeMb: Math.round(peakTree / MB),
      peakTreeEachMb: results.map((r) => Math.round(r.peakTreeRss / MB)),
      idleAfterMb: Math.round(sampleProcessTree().treeRss / MB),
      baselineAfterMb: Math.round(worker.baselineBytes / MB),
      fps: results.map((r) => r.fps),
      eventLoopDelayMs: results.map((r) => r.eventLoopDelay),
      lockRenewals: renewals,
      lockRenewalFailures: renewalFailures,
    },
    null,
    1,
  ),
);
await worker.close();
await events.close();
await queue.obliterate({ force: true });
await queue.close();
await rm(dir, { recursive: true, force: true });
