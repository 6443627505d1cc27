import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelledError,
  closeStageThreads,
  createStage,
  framePoolSize,
  idleStageThreads,
  InvalidOptionError,
  planHops,
  resolveThreads,
  runPipeline,
  threadsForCanvas,
  type Effect,
  type Stage,
} from '../src/index.js';
import { ffmpegDescendants, makeClip, partialFiles, refusal, tempDir } from './helpers.js';

const run = promisify(execFile);
// Threads load the built core (plain Node cannot load .ts), so the test effects import it too.
const coreDist = pathToFileURL(resolve(import.meta.dirname, '../dist/index.js')).href;

/**
 * Test effects as a real ES module on disk, which a stage thread imports by file URL as it would
 * an effect of the effects package. `trail` carries state from frame to frame (its output depends
 * on seeing every frame in order, in one thread) and its preloaded value comes from a sample
 * frame; `quarter` keys the left quarter out and sets alphaBounds; `tint` reads alphaBounds.
 */
const EFFECTS = `
import { InvalidOptionError } from ${JSON.stringify(coreDist)};
import { isMainThread } from 'node:worker_threads';
export const counts = { preloads: 0 };
const none = { name: 'failAt', type: 'integer', default: -1, min: -1, max: 100000, help: 'frame index to throw at' };
export const trail = {
  name: 'trail', description: 'adds the previous frame red into green', options: [none],
  async preload(o, ctx) {
    counts.preloads++;
    const [f] = await ctx.sampleFrames(1);
    let sum = 0;
    for (let i = 0; i < f.data.length; i += 4) sum += f.data[i];
    return { mean: new Float64Array([sum / (f.data.length / 4)]) };
  },
  prepare(o, size, pre) { return { o, mean: Math.round(pre.mean[0]) & 255, prev: 0 }; },
  apply(st, frame) {
    if (frame.index === st.o.failAt) throw new InvalidOptionError('Expected trail to fail at frame ' + st.o.failAt, 'trail.failAt');
    const d = frame.data, carry = st.prev;
    st.prev = d[(frame.width * (frame.height >> 1) + (frame.width >> 1)) * 4];
    for (let i = 0; i < d.length; i += 4) d[i + 1] = (d[i + 1] + carry + st.mean) & 255;
  },
};
export const quarter = {
  name: 'quarter', description: 'left quarter transparent', options: [], producesAlpha: true,
  prepare() { return {}; },
  apply(st, frame) {
    const { data, width, height } = frame, q = width >> 2;
    for (let y = 0; y < height; y++) for (let x = 0; x < q; x++) data[(y * width + x) * 4 + 3] = 0;
    frame.alphaBounds = { left: q, top: 0, right: width, bottom: height };
  },
};
let prepared = 0;
export const stamp = {
  name: 'stamp', description: 'writes how many times this isolate has prepared it into the first byte', options: [],
  prepare() { return { n: ++prepared }; },
  apply(st, frame) { frame.data[0] = st.n; },
};
export const crash = {
  name: 'crash', description: 'ends its thread at frame 3, as an out-of-memory thread would end', options: [],
  prepare() { return {}; },
  // Only in a worker thread: in-line (one core) it would end the test's own process.
  apply(st, frame) { if (frame.index === 3 && !isMainThread) process.exit(3); },
};
export const tint = {
  name: 'tint', description: 'inverts blue inside alphaBounds', options: [],
  prepare() { return {}; },
  apply(st, frame) {
    const b = frame.alphaBounds;
    if (!b) throw new Error('tint: no alphaBounds');
    for (let y = b.top; y < b.bottom; y += 2) for (let x = b.left; x < b.right; x++) {
      const p = (y * frame.width + x) * 4 + 2;
      frame.data[p] = 255 - frame.data[p];
    }
  },
};
`;

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
let effectsUrl: string;
let effects: { counts: { preloads: number }; trail: Effect; quarter: Effect; tint: Effect; stamp: Effect; crash: Effect };

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  clip = await makeClip(join(dir, 'clip.mp4'), { width: 160, height: 90, fps: 24, seconds: 2 });
  const file = join(dir, 'test-effects.mjs');
  await writeFile(file, EFFECTS);
  effectsUrl = pathToFileURL(file).href;
  effects = await import(effectsUrl);
});
afterAll(() => cleanup());

function threadable(name: 'trail' | 'quarter' | 'tint' | 'stamp' | 'crash', options: Record<string, unknown> = {}): Stage {
  return createStage(effects[name], options, { module: effectsUrl, exportName: name });
}

/** A hand-made stage (no recipe: it stays in-line) that records each frame's bytes and bounds as they leave the stack. */
function recorder(into: string[]): Stage {
  return {
    name: 'recorder',
    margin: 0,
    producesAlpha: false,
    async setup() {},
    process(frame) {
      const b = frame.alphaBounds;
      into.push(`${frame.index} ${b ? `${b.left},${b.top},${b.right},${b.bottom}` : '-'} ${createHash('sha1').update(frame.data).digest('hex')}`);
    },
  };
}

/** A hand-made stage between threaded groups: checks the bounds came along and marks a pixel. */
function middle(): Stage {
  return {
    name: 'middle',
    margin: 0,
    producesAlpha: false,
    async setup() {},
    process(frame) {
      if (!frame.alphaBounds) throw new Error('middle: alphaBounds lost on the way');
      frame.data[frame.alphaBounds.left * 4]! ^= 0x55;
    },
  };
}

function threadCount(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

function stack(records: string[], failAt = -1): Stage[] {
  return [threadable('trail', { failAt }), threadable('quarter'), middle(), threadable('tint'), recorder(records)];
}

describe('stage threads: the split', () => {
  const cost = (name: string, c: number): Stage => ({
    name,
    margin: 0,
    producesAlpha: false,
    async setup() {},
    process() {},
    recipe: { module: 'file:///x.js', exportName: name, cost: c, options: {}, preload: () => Promise.resolve(undefined) },
  });
  const handMade = (name: string): Stage => ({ name, margin: 0, producesAlpha: false, async setup() {}, process() {} });
  const names = (hops: ReturnType<typeof planHops>) => hops.map((h) => `${h.thread ? 'T' : 'I'}:${h.stages.map((s) => s.name).join('+')}`);

  it('cuts the sticker stack into groups of even cost, in order', () => {
    const sticker = [
      cost('key', 10.1),
      cost('outline', 5.5),
      cost('displace', 9.9),
      cost('multiply', 3.8),
      cost('add', 3.6),
      cost('surface', 7.2),
      cost('alpha', 5.9),
      cost('shadow', 5.5),
    ];
    expect(names(planHops(sticker, 2))).toEqual(['T:key+outline+displace', 'T:multiply+add+surface+alpha+shadow']);
    expect(names(planHops(sticker, 3))).toEqual(['T:key+outline', 'T:displace+multiply+add', 'T:surface+alpha+shadow']);
    // No more threads than stages, and one thread means in-line.
    expect(planHops(sticker, 64).filter((h) => h.thread)).toHaveLength(8);
    expect(names(planHops(sticker, 1))).toEqual(['I:key+outline+displace+multiply+add+surface+alpha+shadow']);
  });

  it('keeps hand-made stages in-line at their place, or everything in-line when they cut too many runs', () => {
    expect(names(planHops([cost('a', 1), handMade('h'), cost('b', 1), cost('c', 1)], 2))).toEqual(['T:a', 'I:h', 'T:b+c']);
    expect(names(planHops([cost('a', 1), handMade('h'), cost('b', 1), handMade('g'), cost('c', 1)], 2))).toEqual(['I:a+h+b+g+c']);
    expect(names(planHops([handMade('h')], 4))).toEqual(['I:h']);
  });

  it('runs a small canvas known before the probe (a sticker target) in-line, and leaves the rest to the cores and the option', () => {
    expect(threadsForCanvas({ width: 512, height: 470 }, undefined)).toBe(1);
    expect(threadsForCanvas({ width: 512, height: 470 }, 4)).toBe(1);
    expect(threadsForCanvas({ width: 1364, height: 804 }, undefined)).toBeUndefined();
    expect(threadsForCanvas({ width: 1364, height: 804 }, 3)).toBe(3);
    expect(threadsForCanvas(undefined, 2)).toBe(2);
  });

  it('sizes the pool for the threads', () => {
    expect(framePoolSize(0)).toBe(4);
    expect(framePoolSize(2)).toBe(4);
    expect(framePoolSize(3)).toBe(5);
  });

  it('takes the lowest of the cores, the option and STICKERKEY_THREADS, and refuses bad values', () => {
    expect(resolveThreads(1, {})).toBe(1);
    expect(resolveThreads(64, { STICKERKEY_THREADS: '1' })).toBe(1);
    expect(resolveThreads(undefined, { STICKERKEY_THREADS: '' })).toBeGreaterThanOrEqual(1);
    expect(() => resolveThreads(0, {})).toThrow(new InvalidOptionError('Expected integer between 1 and 64 for threads but received 0', 'threads'));
    expect(() => resolveThreads(undefined, { STICKERKEY_THREADS: 'two' })).toThrow(
      'Expected integer between 1 and 64 for STICKERKEY_THREADS but received "two" of type string',
    );
  });
});

describe('stage threads: runPipeline', () => {
  it.each([
    // [trail+quarter] [middle, in-line] [tint] [recorder, in-line]
    ['with a hand-made stage between the threads', true],
    // [trail] [quarter+tint] [recorder, in-line]: bounds cross from thread to thread
    ['with threads back to back', false],
  ])('gives byte-identical frames with 1 and 2 threads %s, preloads once on the pipeline thread, keeps only idle threads', async (_, withMiddle) => {
    await closeStageThreads();
    const stages = (records: string[]) => stack(records).filter((stage) => withMiddle || stage.name !== 'middle');
    const byThreads: Record<number, string[]> = {};
    let baseline = 0;
    for (const threads of [1, 2]) {
      const records: string[] = [];
      const preloadsBefore = effects.counts.preloads;
      const result = await runPipeline({ input: clip, output: join(dir, `same-${threads}.mov`), stages: stages(records), threads });
      expect(result.frames).toBe(48);
      // On a one-core machine even 2 asked for runs in-line.
      expect(result.stageThreads).toBe(Math.min(threads, availableParallelism()) === 1 ? 0 : 2);
      expect(effects.counts.preloads - preloadsBefore).toBe(1);
      byThreads[threads] = records;
      if (threads === 1) baseline = threadCount();
      // The line's threads wait, idle, for a later job; nothing else of it is left.
      else expect(threadCount()).toBeLessThanOrEqual(baseline + idleStageThreads());
    }
    expect(idleStageThreads()).toBe(availableParallelism() > 1 ? 2 : 0);
    await closeStageThreads();
    expect(idleStageThreads()).toBe(0);
    await expect.poll(threadCount).toBeLessThanOrEqual(baseline);
    expect(byThreads[1]).toHaveLength(48);
    expect(byThreads[1]![10]).toMatch(/^10 40,0,160,90 [0-9a-f]{40}$/);
    expect(byThreads[2]).toEqual(byThreads[1]);
  });

  it('runs the next job in the threads the last one left, prepared afresh', async () => {
    await closeStageThreads();
    const firstBytes: number[][] = [];
    for (let job = 0; job < 2; job++) {
      const bytes: number[] = [];
      const firstByte: Stage = { ...recorder([]), process: (frame) => void bytes.push(frame.data[0]!) };
      // [trail] [stamp]: stamp's thread counts the prepares its isolate has made.
      await runPipeline({ input: clip, output: join(dir, `kept-${job}.mov`), stages: [threadable('trail'), threadable('stamp'), firstByte], threads: 2 });
      firstBytes.push(bytes);
      // On one core the stack runs in-line, in this isolate: the count says the same there.
      expect(idleStageThreads()).toBe(availableParallelism() > 1 ? 2 : 0);
    }
    expect(firstBytes[0]).toEqual(new Array<number>(48).fill(1));
    // Prepared a second time in the same isolate: the kept thread, not a new one.
    expect(firstBytes[1]).toEqual(new Array<number>(48).fill(2));
    await closeStageThreads();
  });

  it('fails with the thrown error class, code and fields, leaving no ffmpeg, temp file or busy thread', async () => {
    await closeStageThreads();
    const output = join(dir, 'fails.mov');
    const records: string[] = [];
    const inline = await refusal(runPipeline({ input: clip, output, stages: stack(records, 5), threads: 1 }));
    const baseline = threadCount();
    const threaded = await refusal(runPipeline({ input: clip, output, stages: stack(records, 5), threads: 2 }));
    // In-line, the error is the test module's own (it imports the built core, a copy of the
    // classes this test imports from source); from the thread it is revived as the pipeline's.
    expect(threaded).toBeInstanceOf(InvalidOptionError);
    for (const error of [inline, threaded]) {
      expect(error.name).toBe('InvalidOptionError');
      expect(error).toMatchObject({ code: 'INVALID_OPTION', option: 'trail.failAt', message: 'Expected trail to fail at frame 5' });
    }
    expect(ffmpegDescendants()).toEqual([]);
    expect(await partialFiles(dir)).toEqual([]);
    // A thread whose effect threw is still sound: reset, it waits for a later job.
    expect(idleStageThreads()).toBe(availableParallelism() > 1 ? 2 : 0);
    await closeStageThreads();
    await expect.poll(threadCount).toBeLessThanOrEqual(baseline);
  });

  it('fails when a thread dies mid-job, and keeps only the threads that did not', async () => {
    await closeStageThreads();
    const job = runPipeline({ input: clip, output: join(dir, 'crash.mov'), stages: [threadable('trail'), threadable('crash')], threads: 2 });
    if (availableParallelism() === 1) {
      // One core: in-line, where the stand-in for a dying thread does nothing.
      expect((await job).frames).toBe(48);
      return;
    }
    const error = await refusal(job);
    expect(error.message).toMatch(/Stage thread for crash exited with code 3/);
    expect(ffmpegDescendants()).toEqual([]);
    expect(await partialFiles(dir)).toEqual([]);
    // The keyer-like thread was sound and is kept; the dead one is not.
    expect(idleStageThreads()).toBe(1);
    await closeStageThreads();
  });

  it('is cancelled through its signal, threads and all', async () => {
    const controller = new AbortController();
    const records: string[] = [];
    const stages = [...stack(records), { ...recorder([]), process: () => void (records.length === 5 && controller.abort()) }];
    const error = await refusal(runPipeline({ input: clip, output: join(dir, 'cancelled.mov'), stages, threads: 2, signal: controller.signal }));
    expect(error).toBeInstanceOf(CancelledError);
    expect(ffmpegDescendants()).toEqual([]);
    expect(await partialFiles(dir)).toEqual([]);
  });

  it('runs nested in a worker thread (as the queue worker renders), and the process exits on its own', async () => {
    // A fresh process whose job runs in a worker thread that starts the stage threads: it prints
    // the result and must then exit by itself, which it cannot while a thread or handle is left.
    const script = join(dir, 'nested.mjs');
    await writeFile(
      join(dir, 'nested-job.mjs'),
      `
import { parentPort, workerData } from 'node:worker_threads';
import { createStage, runPipeline } from ${JSON.stringify(coreDist)};
const fx = await import(workerData.effectsUrl);
const stage = (name) => createStage(fx[name], {}, { module: workerData.effectsUrl, exportName: name });
const result = await runPipeline({ input: workerData.clip, output: workerData.output, stages: [stage('trail'), stage('quarter'), stage('tint')], threads: 2 });
parentPort.postMessage({ frames: result.frames, stageThreads: result.stageThreads });
`,
    );
    await writeFile(
      script,
      `
import { Worker } from 'node:worker_threads';
const worker = new Worker(new URL('./nested-job.mjs', import.meta.url), {
  workerData: ${JSON.stringify({ effectsUrl, clip, output: join(dir, 'nested.mov') })},
});
worker.on('message', (m) => console.log(JSON.stringify(m)));
worker.on('error', (e) => { console.error(e); process.exitCode = 1; });
`,
    );
    const { stdout } = await run(process.execPath, [script], { timeout: 100_000 });
    expect(JSON.parse(stdout)).toEqual({ frames: 48, stageThreads: availableParallelism() > 1 ? 2 : 0 });
  });
});
