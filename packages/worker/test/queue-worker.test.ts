/**
 * The BullMQ queue worker against a REAL Redis (REDIS_URL, default redis://127.0.0.1:6379), real
 * ffmpeg and real files. Each test uses its own queue, obliterated afterwards. Without Redis
 * these tests fail: the queue worker is what production runs, it is not optional.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Job as BullJob, Queue, QueueEvents } from 'bullmq';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError, predictJobMemory, probe, type ProbeResult } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { MemoryGate } from '../src/admission.js';
import type { Job } from '../src/job.js';
import { loadQueueConfig, type QueueWorkerConfig } from '../src/queue-config.js';
import { createQueueWorker, failureCode, type JobProgressData, type QueueJobResult, type QueueWorker } from '../src/queue-worker.js';
import { buildStages } from '../src/stages.js';
import { MEMORY_LINE, alive, descendants, finished, startCli } from './helpers.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const MB = 1024 * 1024;
const RUN = `stickerkey-test-${process.pid}-${Date.now().toString(36)}`;

let dir: string;
let clip: string;
let source: ProbeResult;
let queueCount = 0;
const queues: Queue[] = [];
const closers: Array<() => Promise<unknown>> = [];

/** PING over a plain socket: is anything answering at REDIS_URL? */
function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port || 6379), hostname || '127.0.0.1', () => socket.write('PING\r\n'));
    // +PONG, or -NOAUTH from a Redis that wants a password (which the URL then carries).
    socket.once('data', (chunk) => done(/^[+-]/.test(chunk.toString('latin1'))));
  });
}

/** A fresh queue name for one test (workers of other tests never see its jobs). */
function newQueue(): { name: string; queue: Queue; events: QueueEvents } {
  const name = `${RUN}-${++queueCount}`;
  const connection = { url: REDIS_URL };
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  queues.push(queue);
  closers.push(() => events.close());
  return { name, queue, events };
}

function config(queueName: string, over: Partial<QueueWorkerConfig> = {}): QueueWorkerConfig {
  return { ...loadQueueConfig({ REDIS_URL, QUEUE_NAME: queueName }), ...over };
}

/** A pino logger whose records land in an array, to check the lines the worker writes. */
function captureLogger(): { logger: pino.Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}

function startWorker(cfg: QueueWorkerConfig, options: Parameters<typeof createQueueWorker>[1] = {}): QueueWorker {
  const worker = createQueueWorker(cfg, { logger: captureLogger().logger, ...options });
  closers.push(() => worker.close(0));
  return worker;
}

/** A 16-frame job on the 360p fixture; the cheaper `key` preset unless a test needs the full stack. */
function stickerJob(name: string, over: Partial<Job> = {}): Job {
  return { input: clip, output: join(dir, name), preset: 'key', posterize: 8, ...over };
}

function overlap(a: QueueJobResult, b: QueueJobResult): boolean {
  return a.startedAt < b.finishedAt && b.startedAt < a.finishedAt;
}

beforeAll(async () => {
  if (!(await redisAnswers(REDIS_URL))) {
    throw new Error(
      `Redis at REDIS_URL=${REDIS_URL} is required for the queue worker tests and does not answer. Start one (redis-server), or run .ci/run, which starts it.`,
    );
  }
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-queue-'));
  clip = (await ensureFixture({ screen: 'green', height: 360, seconds: 2 })).video;
  source = await probe(clip);
});

afterEach(async () => {
  // Close workers first (they hold blocking connections), then the event listeners.
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

afterAll(async () => {
  for (const queue of queues) {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close().catch(() => {});
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('queue worker configuration', () => {
  it('reads the environment with defaults', () => {
    const c = loadQueueConfig({});
    expect(c).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      queueName: 'stickerkey',
      maxConcurrentJobs: 1,
      memoryBudget: 1536 * MB,
      jobTimeoutSeconds: 0,
      renderThreadIdleMs: 300_000,
    });
    expect(c.outputDir).toBeUndefined();
    expect(
      loadQueueConfig({ MAX_CONCURRENT_JOBS: '3', MEMORY_BUDGET_MB: '900', RENDER_IN_THREAD: 'no', RENDER_THREAD_IDLE_SECONDS: '0', OUTPUT_DIR: '/srv/out' }),
    ).toMatchObject({
      maxConcurrentJobs: 3,
      memoryBudget: 900 * MB,
      renderInThread: false,
      renderThreadIdleMs: 0,
      outputDir: '/srv/out',
    });
  });

  it('refuses a bad variable, naming it', () => {
    expect(() => loadQueueConfig({ MAX_CONCURRENT_JOBS: '0' })).toThrow(
      new InvalidOptionError('Expected integer between 1 and 64 for environment.MAX_CONCURRENT_JOBS but received 0', 'environment.MAX_CONCURRENT_JOBS'),
    );
    expect(() => loadQueueConfig({ MEMORY_BUDGET_MB: 'lots' })).toThrow(/environment\.MEMORY_BUDGET_MB but received "lots"/);
    expect(() => loadQueueConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/redis:\/\/ or rediss:\/\/ URL for environment\.REDIS_URL/);
    expect(() => loadQueueConfig({ QUEUE_NAME: 'a:b' })).toThrow(/QUEUE_NAME without ":"/);
  });
});

describe('memory gate', () => {
  it('admits in order while the bytes fit, and refuses what never could', async () => {
    const gate = new MemoryGate(100);
    const a = await gate.acquire(60, 'a');
    let bAdmitted = false;
    const b = gate.acquire(60, 'b').then((release) => {
      bAdmitted = true;
      return release;
    });
    await new Promise((r) => setImmediate(r));
    expect(bAdmitted).toBe(false);
    expect(gate.waiting).toBe(1);
    a();
    a(); // a second release must not free the bytes twice
    const releaseB = await b;
    expect(gate.used).toBe(60);
    releaseB();
    expect(gate.used).toBe(0);
    await expect(gate.acquire(101, 'huge')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('gives up a waiting place when its job is aborted', async () => {
    const gate = new MemoryGate(100);
    const a = await gate.acquire(80, 'a');
    const controller = new AbortController();
    const waiting = gate.acquire(80, 'b', controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(gate.waiting).toBe(0);
    a();
    expect(gate.used).toBe(0);
  });

  it('admits a waiter when its capacity grows, and holds new ones when it shrinks', async () => {
    const gate = new MemoryGate(100);
    const a = await gate.acquire(60, 'a');
    const b = gate.acquire(60, 'b');
    gate.setCapacity(120);
    const releaseB = await b;
    expect(gate.used).toBe(120);
    gate.setCapacity(50); // the idle process grew: jobs already running keep their bytes
    a();
    releaseB();
    await expect(gate.acquire(60, 'c')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('predicts more for WebM than for GIF, and more for a bigger canvas', () => {
    const stages = buildStages('sticker', {});
    const small = predictJobMemory({ width: 640, height: 360 }, stages, 'webm', { inThread: true });
    const gif = predictJobMemory({ width: 640, height: 360 }, stages, 'gif', { inThread: true });
    const big = predictJobMemory({ width: 1920, height: 1080 }, stages, 'webm', { inThread: true });
    expect(small.bytes).toBeGreaterThan(gif.bytes);
    expect(big.bytes).toBeGreaterThan(small.bytes);
    expect(small.canvas.width).toBeGreaterThan(640); // padded by the effects' margins
    expect(small.canvas.width % 2).toBe(0);
  });
});

// Renders on a shared 2-core machine: allow for slow frames.
describe('queue worker (real Redis, real ffmpeg)', { timeout: 300_000 }, () => {
  it('renders the 360p fixture, reports progress and returns the result summary', async () => {
    const { name, queue, events } = newQueue();
    const { logger, records } = captureLogger();
    const worker = startWorker(config(name), { logger });
    await events.waitUntilReady();
    const progress: JobProgressData[] = [];
    events.on('progress', ({ data }) => progress.push(data as unknown as JobProgressData));

    const job = await queue.add('render', stickerJob('first.webm', { preset: 'sticker' }));
    const result = (await job.waitUntilFinished(events)) as QueueJobResult;

    expect(result).toMatchObject({ jobId: job.id, output: join(dir, 'first.webm'), format: 'webm', renderedInThread: true, outputFps: 8 });
    expect(result.frames).toBe(16);
    expect(result.peakTreeRss).toBeGreaterThan(result.peakProcessRss);
    expect(result.predictedBytes).toBeGreaterThan(0);
    expect(result.finishedAt).toBeGreaterThanOrEqual(result.startedAt);
    expect(result.eventLoopDelay.maxMs).toBeGreaterThanOrEqual(result.eventLoopDelay.p50Ms);
    const out = await probe(result.output);
    expect(out.codec).toBe('vp9');
    expect(out.hasAlpha).toBe(true);

    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) {
      expect(p.totalFrames).toBe(16);
      expect(p.frame).toBeGreaterThanOrEqual(0);
      expect(p.frame).toBeLessThanOrEqual(16);
      expect(p.treeRssMb).toBeGreaterThan(0);
    }
    expect(progress.some((p) => p.frame === 16)).toBe(true);

    // The seed's memory lines, with the BullMQ job id, as the whole message.
    const memory = records.map((r) => String(r.msg)).filter((m) => m.includes('💾'));
    expect(memory.length).toBeGreaterThan(2);
    for (const line of memory) {
      expect(line).toMatch(MEMORY_LINE);
      expect(line.startsWith(`JOB #${job.id}: 💾 Memory Usage at `)).toBe(true);
    }
    expect(worker.activeJobs).toBe(0);
  });

  it('fails bad jobs with their code, without retrying them, and keeps working', async () => {
    const { name, queue, events } = newQueue();
    startWorker(config(name));
    await events.waitUntilReady();
    const cases: Array<[unknown, string, RegExp]> = [
      [
        { input: clip, output: join(dir, 'bad.webm'), posterize: 500 },
        'INVALID_OPTION',
        /Expected number between 0 and 240 for job\.posterize but received 500/,
      ],
      ['render this', 'INVALID_OPTION', /Expected the data of JOB #\S+ to be an object of job settings .* but received string/],
      [{ input: clip, output: join(dir, 'bad2.webm'), effects: { glitter: true } }, 'INVALID_OPTION', /Unknown effect glitter/],
      [{ input: join(dir, 'missing.mp4'), output: join(dir, 'bad3.webm') }, 'UNSUPPORTED_INPUT', /Input file not found/],
    ];
    for (const [data, code, message] of cases) {
      const job = await queue.add('render', data, { attempts: 3, backoff: { type: 'fixed', delay: 10 } });
      await expect(job.waitUntilFinished(events)).rejects.toThrow(message);
      const stored = await BullJob.fromId(queue, job.id!);
      expect(await stored!.getState()).toBe('failed');
      expect(failureCode(stored!.failedReason)).toBe(code);
      expect(stored!.failedReason).toMatch(message);
      expect(stored!.attemptsMade).toBe(1); // unrecoverable: not retried despite attempts: 3
    }
    // The worker survived all of it.
    const good = await queue.add('render', stickerJob('after-bad.gif', { preset: 'key' }));
    const result = (await good.waitUntilFinished(events)) as QueueJobResult;
    expect(result.format).toBe('gif');
  });

  it('fails a job predicted above the whole budget with LIMIT_EXCEEDED, not retried', async () => {
    const { name, queue, events } = newQueue();
    // A budget 20 MB above the process baseline: no render fits in it.
    const worker = startWorker(config(name, { memoryBudget: 220 * MB }), { baselineBytes: 200 * MB });
    await events.waitUntilReady();
    const job = await queue.add('render', stickerJob('too-big.webm'), { attempts: 3 });
    await expect(job.waitUntilFinished(events)).rejects.toThrow(/fit the memory budget of 20 MB .* predicted to need \d+ MB \[LIMIT_EXCEEDED\]$/);
    const stored = await BullJob.fromId(queue, job.id!);
    expect(failureCode(stored!.failedReason)).toBe('LIMIT_EXCEEDED');
    expect(stored!.attemptsMade).toBe(1);
    expect(existsSync(join(dir, 'too-big.webm'))).toBe(false);
    expect(worker.gate.used).toBe(0);
  });

  it('admits by memory: with room for one job, two jobs run one after the other even with 2 slots', async () => {
    const { name, queue, events } = newQueue();
    const one = predictJobMemory(source, buildStages('key', {}), 'webm', { inThread: true }).bytes;
    const baseline = 200 * MB;
    const { logger, records } = captureLogger();
    const cfg = config(name, { maxConcurrentJobs: 2, memoryBudget: baseline + Math.round(1.5 * one) });
    const worker = startWorker(cfg, { baselineBytes: baseline, autorun: false, logger });
    await events.waitUntilReady();
    const a = await queue.add('render', stickerJob('serial-a.webm'));
    const b = await queue.add('render', stickerJob('serial-b.webm'));
    void worker.run();
    const [ra, rb] = (await Promise.all([a.waitUntilFinished(events), b.waitUntilFinished(events)])) as [QueueJobResult, QueueJobResult];
    expect(overlap(ra, rb)).toBe(false);
    // Both were taken at once (2 slots): the second found the first's memory in use and waited at the gate.
    const arrivals = records.filter((r) => typeof r.predictedMb === 'number');
    expect(arrivals).toHaveLength(2);
    expect(arrivals.some((r) => (r.gateUsedMb as number) > 0)).toBe(true);
  });

  it('runs jobs side by side when MAX_CONCURRENT_JOBS=2 and the budget is large', async () => {
    const { name, queue, events } = newQueue();
    const worker = startWorker(config(name, { maxConcurrentJobs: 2, memoryBudget: 64 * 1024 * MB }), { autorun: false });
    await events.waitUntilReady();
    const a = await queue.add('render', stickerJob('parallel-a.webm'));
    const b = await queue.add('render', stickerJob('parallel-b.webm'));
    void worker.run();
    const [ra, rb] = (await Promise.all([a.waitUntilFinished(events), b.waitUntilFinished(events)])) as [QueueJobResult, QueueJobResult];
    expect(overlap(ra, rb)).toBe(true);
  });

  it('close() during a job waits for it to finish, and every call shares one promise', async () => {
    const { name, queue, events } = newQueue();
    const worker = startWorker(config(name));
    await events.waitUntilReady();
    const framesSeen = new Promise<void>((resolve) => events.on('progress', ({ data }) => (data as unknown as JobProgressData).frame > 0 && resolve()));
    const job = await queue.add('render', stickerJob('during-close.webm'));
    await framesSeen;
    const closing = worker.close();
    expect(worker.close()).toBe(closing);
    await closing;
    const stored = await BullJob.fromId(queue, job.id!);
    expect(await stored!.getState()).toBe('completed');
    expect((stored!.returnvalue as QueueJobResult).frames).toBe(16);
    expect(existsSync(join(dir, 'during-close.webm'))).toBe(true);
  });

  it('past the grace period, close() aborts the job: CANCELLED, nothing left behind, retried by the next worker', async () => {
    const { name, queue, events } = newQueue();
    const out = join(dir, 'aborted');
    await rm(out, { recursive: true, force: true });
    const worker = startWorker(config(name));
    await events.waitUntilReady();
    const framesSeen = new Promise<void>((resolve) => events.on('progress', ({ data }) => (data as unknown as JobProgressData).frame > 0 && resolve()));
    const job = await queue.add('render', stickerJob('aborted/clip.webm'), { attempts: 2 });
    await framesSeen;
    await worker.close(0);

    const stored = await BullJob.fromId(queue, job.id!);
    expect(failureCode(stored!.failedReason)).toBe('CANCELLED');
    expect(stored!.failedReason).toMatch(/was aborted after the 0 s close grace period; it will be retried/);
    expect(stored!.attemptsMade).toBe(1);
    expect(['waiting', 'delayed']).toContain(await stored!.getState()); // back in the queue, not failed for good
    expect(await readdir(out)).toEqual([]); // no temp file, no partial output
    expect(descendants(process.pid).filter(alive)).toEqual([]); // no ffmpeg child

    startWorker(config(name));
    const result = (await job.waitUntilFinished(events)) as QueueJobResult;
    expect(result.frames).toBe(16);
  });

  it('close() hands a job still waiting for memory back to the queue, without spending an attempt', async () => {
    const { name, queue, events } = newQueue();
    const one = predictJobMemory(source, buildStages('key', {}), 'webm', { inThread: true }).bytes;
    const baseline = 200 * MB;
    const worker = startWorker(config(name, { maxConcurrentJobs: 2, memoryBudget: baseline + Math.round(1.5 * one) }), {
      baselineBytes: baseline,
      autorun: false,
    });
    await events.waitUntilReady();
    const framesSeen = new Promise<void>((resolve) => events.on('progress', ({ data }) => (data as unknown as JobProgressData).frame > 0 && resolve()));
    const a = await queue.add('render', stickerJob('handback-a.webm'), { attempts: 1 });
    const b = await queue.add('render', stickerJob('handback-b.webm'), { attempts: 1 });
    void worker.run();
    await framesSeen;
    // The second job is taken too (2 slots) and, once probed, waits at the memory gate.
    while (worker.gate.waiting !== 1) await new Promise((r) => setTimeout(r, 20));
    await worker.close();

    const [first, second] = await Promise.all([BullJob.fromId(queue, a.id!), BullJob.fromId(queue, b.id!)]);
    const states = await Promise.all([first!.getState(), second!.getState()]);
    // One rendered to the end; the other never started and is back in the queue, untouched.
    expect(states.filter((state) => state === 'completed')).toHaveLength(1);
    const back = states[0] === 'completed' ? second! : first!;
    expect(['waiting', 'delayed']).toContain(await back.getState());
    expect(back.attemptsMade).toBe(0);
    expect(back.failedReason ?? '').toBe('');
    expect(existsSync(back.data.output)).toBe(false);

    startWorker(config(name));
    const result = (await back.waitUntilFinished(events)) as QueueJobResult;
    expect(result.output).toBe(back.data.output);
  });

  it('aborts a job past JOB_TIMEOUT_SECONDS: LIMIT_EXCEEDED, not retried, nothing left behind', async () => {
    const { name, queue, events } = newQueue();
    const out = join(dir, 'timeout');
    await rm(out, { recursive: true, force: true });
    startWorker(config(name, { jobTimeoutSeconds: 0.2 }));
    await events.waitUntilReady();
    const job = await queue.add('render', stickerJob('timeout/clip.webm', { preset: 'sticker' }), { attempts: 3 });
    await expect(job.waitUntilFinished(events)).rejects.toThrow(
      /Expected JOB #\S+ to finish within JOB_TIMEOUT_SECONDS=0\.2 but it was still running \[LIMIT_EXCEEDED\]$/,
    );
    const stored = await BullJob.fromId(queue, job.id!);
    expect(stored!.attemptsMade).toBe(1);
    expect(existsSync(out) ? await readdir(out) : []).toEqual([]);
    expect(descendants(process.pid).filter(alive)).toEqual([]);
  });

  it('stickerkey worker + stickerkey enqueue --wait: a job file through the CLI, SIGTERM exits 0 after closing', async () => {
    const { name } = newQueue();
    const env = { REDIS_URL, QUEUE_NAME: name, MEMORY_BUDGET_MB: '1536' };
    const worker = startCli(['worker'], { env });
    const workerRun = finished(worker);
    const jobFile = join(dir, 'cli-job.yaml');
    await writeFile(jobFile, `input: ${clip}\noutput: cli-out.gif\npreset: key\nposterize: 8\n`);
    const enqueue = await finished(startCli(['enqueue', jobFile, '--wait', '--json'], { env }));
    expect(enqueue.stderr).toBe('');
    expect(enqueue.code).toBe(0);
    const reply = JSON.parse(enqueue.stdout) as { id: string; queue: string; result: QueueJobResult };
    expect(reply.queue).toBe(name);
    expect(reply.result.output).toBe(join(dir, 'cli-out.gif'));
    expect(reply.result.frames).toBe(16);

    worker.kill('SIGTERM');
    const run = await workerRun;
    expect(run.code).toBe(0);
    const messages = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => String((JSON.parse(line) as { msg: string }).msg));
    expect(messages.filter((m) => m.includes('💾')).every((m) => m.startsWith(`JOB #${reply.id}: 💾 Memory Usage at `))).toBe(true);
    expect(messages).toContain('closed');

    // A bad job file is refused at the producer, before it reaches the queue.
    const badFile = join(dir, 'bad-job.yaml');
    await writeFile(badFile, `input: ${clip}\noutput: x.webm\nformat: avi\n`);
    const refused = await finished(startCli(['enqueue', badFile], { env }));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^stickerkey: Expected one of webm, mov, gif, mp4, webp, apng for job\.format but received "avi" of type string \[INVALID_OPTION\]\n$/,
    );
  });
});
