/**
 * Nothing left behind by a hard kill (what a container's OOM killer does): ffmpeg children die
 * with the process that spawned them, and the temp output a killed worker leaves is swept by the
 * worker that recovers its job. Real Redis, real ffmpeg, real SIGKILL.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parentDeathPrefix } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { loadQueueConfig } from '../src/queue-config.js';
import { createQueueWorker, type JobProgressData, type QueueJobResult } from '../src/queue-worker.js';
import { PARTIAL_NAME, sweepPartials } from '../src/sweep.js';
import { alive, finished, processesMentioning, startCli } from './helpers.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const CORE = fileURLToPath(new URL('../../core/dist/index.js', import.meta.url));

let dir: string;
/** The job killed mid-way: 144 frames key-only (~1.5 s here), so it is still running when its temp output is looked for. */
let longClip: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-hardkill-'));
  longClip = (await ensureFixture({ screen: 'green', height: 360, seconds: 6 })).video;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ffmpeg children die with their parent', { timeout: 60_000 }, () => {
  it('uses the kernel parent-death signal on this machine (setpriv --pdeathsig)', () => {
    expect(parentDeathPrefix()).toEqual([expect.stringMatching(/setpriv$/), '--pdeathsig', 'KILL']);
  });

  it('an encoder whose parent is SIGKILLed stops at once instead of finishing its output', async () => {
    // An encoder fed one frame, padded to 60 s and paced in real time: at stdin EOF (its parent
    // gone) it would go on writing for a minute, as a real encoder goes on to finish its file.
    const script = `
      import { spawnFfmpeg } from ${JSON.stringify(CORE)};
      const ff = spawnFfmpeg(['-f', 'rawvideo', '-pix_fmt', 'gray', '-s', '16x16', '-r', '10', '-i', 'pipe:0',
        '-vf', 'tpad=stop_mode=clone:stop_duration=60,realtime', '-f', 'null', '-']);
      ff.child.stdin.write(Buffer.alloc(256));
      console.log(ff.child.pid);
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
    });
    expect(alive(pid)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pid)).toBe(true); // still encoding its minute of padding
    parent.kill('SIGKILL');
    await waitFor('the orphaned ffmpeg to die', () => !alive(pid), 5000);
    expect(alive(pid)).toBe(false);
  });
});

describe('sweeping stale partials', () => {
  it('removes partials whose owner is gone, keeps live ones, fresh ones and other files', async () => {
    const folder = await mkdtemp(join(dir, 'sweep-'));
    const dead = join(folder, '.clip.webm.999999999-0badcafe.partial'); // no such pid
    const mine = join(folder, `.clip.webm.${process.pid}-00c0ffee.partial`); // this process, writing now
    const fresh = join(folder, '.other.webm.999999998-12345678.partial'); // written just now: maybe another host's
    const reused = join(folder, `.old.webm.${process.pid}-abcdef01.partial`); // written before this process started
    const other = join(folder, 'clip.webm');
    for (const path of [dead, mine, fresh, reused, other]) await writeFile(path, 'x');
    const old = new Date(Date.now() - 3600_000);
    await utimes(dead, old, old);
    await utimes(reused, old, old);
    await utimes(other, old, old);
    expect(PARTIAL_NAME.test('.clip.webm.123-0badcafe.partial')).toBe(true);

    const removed = await sweepPartials(folder, { minAgeSeconds: 60 });
    expect(removed.sort()).toEqual([dead, reused].sort());
    expect((await readdir(folder)).sort()).toEqual(
      ['.clip.webm.' + process.pid + '-00c0ffee.partial', '.other.webm.999999998-12345678.partial', 'clip.webm'].sort(),
    );
    // With no age guard (storage only this machine writes), the fresh dead one goes too.
    expect(await sweepPartials(folder, { minAgeSeconds: 0 })).toEqual([fresh]);
  });
});

describe('a worker SIGKILLed mid-job', { timeout: 180_000 }, () => {
  it('leaves no ffmpeg; the worker that recovers the job completes it and sweeps the partial', async () => {
    const queueName = `stickerkey-hardkill-${process.pid}-${Date.now().toString(36)}`;
    const folder = await mkdtemp(join(dir, 'job-'));
    // A copy of the clip in this test's own folder: any ffmpeg of this job mentions the folder.
    const input = join(folder, 'clip.mp4');
    await copyFile(longClip, input);
    const queue = new Queue(queueName, { connection: { url: REDIS_URL } });
    const events = new QueueEvents(queueName, { connection: { url: REDIS_URL } });
    const env = { REDIS_URL, QUEUE_NAME: queueName, OUTPUT_DIR: folder, LOCK_DURATION_SECONDS: '2', PARTIAL_SWEEP_AGE_SECONDS: '0' };
    try {
      await events.waitUntilReady();
      const victim = startCli(['worker'], { env });
      const victimRun = finished(victim);
      const midJob = new Promise<void>((resolve) => events.on('progress', ({ data }) => (data as unknown as JobProgressData).frame > 0 && resolve()));
      const job = await queue.add('render', { input, output: 'out.webm', preset: 'key' }, { attempts: 2 });
      await midJob;
      const partial = await waitFor('the temp output', async () => (await readdir(folder)).find((name) => PARTIAL_NAME.test(name)));
      expect(partial).toContain(`.out.webm.${victim.pid}-`);
      expect(processesMentioning(folder).length).toBeGreaterThan(0); // its decoder and encoder

      victim.kill('SIGKILL');
      expect((await victimRun).signal).toBe('SIGKILL');
      await waitFor('the killed worker’s ffmpeg children to die', () => processesMentioning(folder).length === 0, 5000);
      expect(await readdir(folder)).toContain(partial); // what the kill left behind

      // Another worker takes the job once its lock expires, renders it, and sweeps the partial.
      const cfg = loadQueueConfig(env);
      const rescuer = createQueueWorker(cfg, { logger: pino({ level: process.env.DEBUG_RESCUER ? 'info' : 'silent' }) });
      try {
        const result = (await job.waitUntilFinished(events, 120_000)) as QueueJobResult;
        expect(result.output).toBe(join(folder, 'out.webm'));
        await waitFor('the sweep after the job', async () => !(await readdir(folder)).includes(partial), 5000);
      } finally {
        await rescuer.close(0);
      }
      expect((await readdir(folder)).sort()).toEqual(['clip.mp4', 'out.webm']);
      expect(processesMentioning(folder)).toEqual([]);
    } finally {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      await events.close();
    }
  });
});
