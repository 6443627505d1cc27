/**
 * Render threads kept from job to job (threaded-render.ts): a real fixture clip, real ffmpeg. The
 * second job in a kept thread must decode to the very frames the first gave in a new one; a job's own
 * failure or abort leaves the thread usable; closeRenderThreads() ends the idle ones.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, ffmpegBinary, UnsupportedInputError } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { closeRenderThreads, idleRenderThreads, renderInThread, type Job } from '../src/index.js';

const run = promisify(execFile);

let dir: string;
let clip: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-render-threads-'));
  clip = (await ensureFixture({ screen: 'green', height: 360, seconds: 2 })).video;
});
afterAll(async () => {
  await closeRenderThreads();
  await rm(dir, { recursive: true, force: true });
});

function job(name: string, over: Partial<Job> = {}): Job {
  return { input: clip, output: join(dir, name), format: 'webm', preset: 'sticker', posterize: 8, ...over };
}

/** The decoded frames' hashes, alpha included (the WebM muxer writes a random segment id, so not the file's bytes). */
async function decodedFrames(path: string): Promise<string[]> {
  const args = ['-v', 'error', '-c:v', 'libvpx-vp9', '-i', path, '-map', '0:v:0', '-vsync', '0', '-pix_fmt', 'rgba', '-f', 'framemd5', '-'];
  const { stdout } = await run(ffmpegBinary(), args, { maxBuffer: 1 << 26 });
  return stdout.split('\n').filter((line) => line && !line.startsWith('#'));
}

function threadCount(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

describe('render threads kept between jobs (real ffmpeg)', { timeout: 300_000 }, () => {
  it('renders a second job in the thread the first left, to the same frames', async () => {
    await closeRenderThreads();
    const first = await renderInThread(job('first.webm'));
    expect(idleRenderThreads()).toBe(1);
    const second = await renderInThread(job('second.webm'));
    // One thread did both: a new one per job would leave two idle.
    expect(idleRenderThreads()).toBe(1);
    expect(second.frames).toBe(first.frames);
    const frames = await decodedFrames(first.output);
    expect(frames).toHaveLength(first.frames);
    expect(await decodedFrames(second.output)).toEqual(frames);
  });

  it("keeps the thread after a job's own failure or abort, and the next job renders", async () => {
    await closeRenderThreads();
    await expect(renderInThread(job('bad.webm', { input: join(dir, 'missing.mp4') }))).rejects.toBeInstanceOf(UnsupportedInputError);
    expect(idleRenderThreads()).toBe(1);

    const controller = new AbortController();
    const aborted = renderInThread(job('aborted.webm'), {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.frame >= 2) controller.abort();
      },
    });
    await expect(aborted).rejects.toBeInstanceOf(CancelledError);
    expect(idleRenderThreads()).toBe(1);
    // Nothing of the aborted job is left: no output, no temp file.
    expect((await readdir(dir)).filter((f) => f.includes('aborted'))).toEqual([]);

    const after = await renderInThread(job('after.webm'));
    expect(after.frames).toBe(16);
    expect(idleRenderThreads()).toBe(1);
  });

  it('ends the thread with its job when told to keep none (RENDER_THREAD_IDLE_SECONDS=0)', async () => {
    await closeRenderThreads();
    const before = threadCount();
    await renderInThread(job('unkept.webm'), { keepThreadMs: 0 });
    expect(idleRenderThreads()).toBe(0);
    // terminate() is asynchronous: the thread is gone within a moment.
    for (let i = 0; i < 50 && threadCount() > before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(threadCount()).toBeLessThanOrEqual(before);
  });

  it('ends the idle threads on closeRenderThreads()', async () => {
    await renderInThread(job('last.webm'));
    expect(idleRenderThreads()).toBe(1);
    const before = threadCount();
    await closeRenderThreads();
    expect(idleRenderThreads()).toBe(0);
    expect(threadCount()).toBeLessThan(before);
  });
});
