/**
 * What an operator sees: /metrics, /healthz and /readyz of a real `stickerkey worker` on a real
 * Redis, scraped over real HTTP while it renders; and the bull-board dashboard on its own port.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixture } from '@stickerkey/fixtures';
import type { JobProgressData, QueueJobResult } from '../src/queue-worker.js';
import { finished, startCli } from './helpers.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const RUN = `stickerkey-ops-${process.pid}-${Date.now().toString(36)}`;

let dir: string;
let clip: string;
/**
 * For the jobs the test must see running (the gauges during a job, /readyz while SIGTERM drains):
 * 144 frames key-only, ~1.5 s on the 2-core machine this was written on. The 2 s clip at posterize
 * 8 (16 frames) came to finish before /readyz could be polled once the keyer got faster.
 */
let longClip: string;
const queues: Queue[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-ops-'));
  clip = (await ensureFixture({ screen: 'green', height: 360, seconds: 2 })).video;
  longClip = (await ensureFixture({ screen: 'green', height: 360, seconds: 6 })).video;
});

afterAll(async () => {
  for (const queue of queues) {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close().catch(() => {});
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value of the first sample of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function newQueue(suffix: string): { name: string; queue: Queue; events: QueueEvents } {
  const name = `${RUN}-${suffix}`;
  const queue = new Queue(name, { connection: { url: REDIS_URL } });
  queues.push(queue);
  return { name, queue, events: new QueueEvents(name, { connection: { url: REDIS_URL } }) };
}

describe('metrics and health (real Redis, real HTTP)', { timeout: 300_000 }, () => {
  it('scrapes counters moving during and after jobs, and /readyz turns 503 on SIGTERM while the worker drains', async () => {
    const { name, queue, events } = newQueue('metrics');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const worker = startCli(['worker'], {
      env: { REDIS_URL, QUEUE_NAME: name, METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1', QUEUE_SAMPLE_SECONDS: '1' },
    });
    const workerRun = finished(worker);
    try {
      await events.waitUntilReady();
      const health = await waitFor('/healthz', async () => {
        const r = await get(`${base}/healthz`);
        return r.status === 200 && r.body;
      });
      expect(JSON.parse(health)).toMatchObject({ status: 'ok' });
      const ready = await waitFor('/readyz 200', async () => {
        const r = await get(`${base}/readyz`);
        return r.status === 200 && r;
      });
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready' });
      const before = await get(`${base}/metrics`);
      expect(before.type).toMatch(/^text\/plain/);
      expect(sample(before.body, 'stickerkey_jobs_completed_total', { format: 'webm' }) ?? 0).toBe(0);
      expect(sample(before.body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0); // default process metrics
      expect(sample(before.body, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
      expect(sample(before.body, 'stickerkey_memory_budget_bytes')).toBe(1536 * 1024 * 1024);

      // During a job: it is running, the tree (Node + ffmpeg) is measured, the queue shows it active.
      const midJob = new Promise<void>((resolve) => events.on('progress', ({ data }) => (data as unknown as JobProgressData).frame > 0 && resolve()));
      const first = await queue.add('render', { input: longClip, output: join(dir, 'm1.webm'), preset: 'key' });
      await midJob;
      const during = (await get(`${base}/metrics`)).body;
      expect(sample(during, 'stickerkey_jobs_running')).toBe(1);
      expect(sample(during, 'stickerkey_process_tree_resident_memory_bytes')).toBeGreaterThan(50 * 1024 * 1024);
      expect(sample(during, 'stickerkey_memory_admitted_bytes')).toBeGreaterThan(0);
      const result = (await first.waitUntilFinished(events)) as QueueJobResult;

      // The queue counts sampled from Redis (every QUEUE_SAMPLE_SECONDS, here 1): a delayed job stays
      // delayed until it is removed, so the sampler is seen whatever this machine's speed (an active
      // job can finish between two samples).
      const later = await queue.add('render', { input: clip, output: join(dir, 'later.webm') }, { delay: 600_000 });
      await waitFor(
        'the sampled queue counts to show the delayed job',
        async () => sample((await get(`${base}/metrics`)).body, 'stickerkey_queue_jobs', { state: 'delayed' }) === 1,
      );
      await later.remove();
      await waitFor(
        'the sampled queue counts to drop the removed job',
        async () => sample((await get(`${base}/metrics`)).body, 'stickerkey_queue_jobs', { state: 'delayed' }) === 0,
      );

      // After it: completed, its duration, fps and memory (predicted and measured) observed.
      const after = (await get(`${base}/metrics`)).body;
      expect(sample(after, 'stickerkey_jobs_completed_total', { format: 'webm', queue: name })).toBe(1);
      expect(sample(after, 'stickerkey_jobs_running')).toBe(0);
      expect(sample(after, 'stickerkey_job_duration_seconds_count', { format: 'webm' })).toBe(1);
      expect(sample(after, 'stickerkey_job_duration_seconds_sum', { format: 'webm' })).toBeCloseTo(result.wallSeconds, 1);
      expect(sample(after, 'stickerkey_job_frames_per_second_count', { format: 'webm' })).toBe(1);
      expect(sample(after, 'stickerkey_admission_wait_seconds_count')).toBe(1);
      expect(sample(after, 'stickerkey_job_predicted_memory_bytes_sum', { format: 'webm' })).toBe(result.predictedBytes);
      expect(sample(after, 'stickerkey_job_measured_memory_bytes_count', { format: 'webm' })).toBe(1);
      expect(sample(after, 'stickerkey_job_memory_prediction_ratio_count', { format: 'webm' })).toBe(1);
      expect(sample(after, 'stickerkey_process_tree_resident_memory_peak_bytes')).toBeGreaterThanOrEqual(result.peakTreeRss);

      // A bad job: counted by its code.
      const bad = await queue.add('render', { input: join(dir, 'missing.mp4'), output: join(dir, 'never.webm') });
      await expect(bad.waitUntilFinished(events)).rejects.toThrow(/UNSUPPORTED_INPUT/);
      expect(sample((await get(`${base}/metrics`)).body, 'stickerkey_jobs_failed_total', { code: 'UNSUPPORTED_INPUT' })).toBe(1);

      // SIGTERM during a job: not ready (503) while it drains, metrics still served, then exit 0.
      const secondMidJob = new Promise<void>((resolve) => events.on('progress', ({ data }) => (data as unknown as JobProgressData).frame > 0 && resolve()));
      const second = await queue.add('render', { input: longClip, output: join(dir, 'm2.webm'), preset: 'key' });
      await secondMidJob;
      worker.kill('SIGTERM');
      const draining = await waitFor(
        '/readyz 503',
        async () => {
          const r = await get(`${base}/readyz`);
          return r.status === 503 && r;
        },
        10_000,
      );
      expect(JSON.parse(draining.body)).toMatchObject({ status: 'not ready', reason: expect.stringMatching(/^draining/) });
      expect((await get(`${base}/healthz`)).status).toBe(200);
      expect(sample((await get(`${base}/metrics`)).body, 'stickerkey_jobs_running')).toBe(1);
      const run = await workerRun;
      expect(run.code).toBe(0);
      expect(((await second.waitUntilFinished(events)) as QueueJobResult).frames).toBe(144);
      await expect(fetch(`${base}/healthz`)).rejects.toThrow(); // closed with the worker
    } finally {
      if (worker.exitCode === null) worker.kill('SIGKILL');
      await events.close();
    }
  });
});

describe('stickerkey dashboard', { timeout: 120_000 }, () => {
  it('answers on its port, on 127.0.0.1, read-only', async () => {
    const { name, queue, events } = newQueue('dashboard');
    await events.close();
    await queue.add('render', { input: clip, output: join(dir, 'dash.webm') });
    const port = await freePort();
    const dashboard = startCli(['dashboard', '--port', String(port), '--queue', name], { env: { REDIS_URL } });
    const run = finished(dashboard);
    try {
      const page = await waitFor('the dashboard page', async () => {
        const r = await get(`http://127.0.0.1:${port}/`);
        return r.status === 200 && r;
      });
      expect(page.type).toMatch(/text\/html/);
      const api = JSON.parse((await get(`http://127.0.0.1:${port}/api/queues`)).body) as {
        queues: Array<{ name: string; readOnlyMode: boolean; counts: Record<string, number> }>;
      };
      expect(api.queues).toHaveLength(1);
      expect(api.queues[0]).toMatchObject({ name, readOnlyMode: true, counts: expect.objectContaining({ waiting: 1 }) });
      // Read-only means the API refuses actions too, not only the buttons.
      const retry = await get(`http://127.0.0.1:${port}/api/queues/${name}/clean/waiting`, { method: 'PUT' });
      expect(retry.status).toBe(405);
      expect(await queue.count()).toBe(1);
    } finally {
      dashboard.kill('SIGTERM');
    }
    const done = await run;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(new RegExp(`^stickerkey dashboard: http://127\\.0\\.0\\.1:${port}/ \\(read-only; queues: ${name}\\)\\n$`));
  });
});
