/**
 * Micro-benchmarks: each effect's ms/frame at 720p and 1080p with tinybench, in-process, on a
 * realistic keyed frame: a fixture frame (the same character as the clips) keyed by chroma-key
 * once; each effect then runs on a fresh copy of that keyed frame. The copy's own cost is
 * measured as a task and subtracted. The whole stack runs on a copy of the unkeyed frame.
 * Scenes: the clips' own framing at 720p and 1080p (the character covers ~11% of the pixels), and
 * a 1080p close-up where it covers a fifth, the framing issue 3's speed target is stated for.
 */
import { Bench } from 'tinybench';
import { computeAlphaBounds, type Bounds, type Frame, type PreloadContext, type Stage } from '@stickerkey/core';
import { createStickerStack, PRESETS, STACK_ORDER } from '@stickerkey/effects';
import { renderCloseUp } from '@stickerkey/fixtures';

export interface MicroResult {
  name: string;
  size: string;
  width: number;
  height: number;
  /** Mean ms per frame, the copy of the input frame subtracted. */
  msPerFrame: number;
  /** Relative margin of error of the mean, %. */
  rme: number;
  samples: number;
  /** Share of the frame inside the character's alpha bounding box. */
  coverage: number;
  /** Share of the frame's pixels the keyed character covers (sum of alpha / 255). */
  pixelCoverage?: number;
}

const SIZES = [
  { label: '720p', width: 1280, height: 720, zoom: 1 },
  { label: '1080p', width: 1920, height: 1080, zoom: 1 },
  { label: '1080p close-up', width: 1920, height: 1080, zoom: 1.4 },
] as const;

function frameOf(data: Uint8Array, width: number, height: number): Frame {
  return { data, width, height, index: 0, pts: 0 };
}

async function setupStages(stages: readonly Stage[], size: { width: number; height: number }, sample: Frame): Promise<void> {
  const ctx: PreloadContext = {
    size,
    sampleFrames: (count) => Promise.resolve(Array.from({ length: count }, () => ({ ...sample, data: sample.data.slice() }))),
  };
  for (const stage of stages) await stage.setup(ctx);
}

export async function runMicro(options: { time?: number; sizes?: readonly string[]; log?: (line: string) => void } = {}): Promise<MicroResult[]> {
  const log = options.log ?? ((line) => console.log(line));
  const results: MicroResult[] = [];
  for (const size of SIZES.filter((s) => !options.sizes || options.sizes.includes(s.label))) {
    const { width, height } = size;
    // A frame from the middle of the fixture's motion; the fixture generator's own character.
    const source = renderCloseUp({ screen: 'green', width, height, fps: 24 }, 30, size.zoom);
    const keyer = createStickerStack({ preset: 'key' });
    await setupStages(keyer, size, frameOf(source, width, height));
    const keyed = frameOf(source.slice(), width, height);
    for (const stage of keyer) stage.process(keyed);
    const bounds: Bounds = keyed.alphaBounds ? { ...keyed.alphaBounds } : computeAlphaBounds(keyed, { left: 0, top: 0, right: 0, bottom: 0 });
    const coverage = ((bounds.right - bounds.left) * (bounds.bottom - bounds.top)) / (width * height);
    let alphaSum = 0;
    for (let p = 3; p < keyed.data.length; p += 4) alphaSum += keyed.data[p]!;
    const pixelCoverage = alphaSum / 255 / (width * height);

    const work = frameOf(new Uint8Array(width * height * 4), width, height);
    const bench = new Bench({ time: options.time ?? 400, warmupTime: 100 });
    const tasks: { name: string; stages: Stage[]; input: Uint8Array; keyedInput: boolean }[] = [];
    for (const name of STACK_ORDER) {
      const preset = (PRESETS.sticker as Record<string, object | undefined>)[name] ?? {};
      const stages = createStickerStack({ preset: 'none', effects: { [name]: preset } });
      const isKeyer = name === 'chroma-key';
      await setupStages(stages, size, frameOf(isKeyer ? source : keyed.data, width, height));
      tasks.push({ name, stages, input: isKeyer ? source : keyed.data, keyedInput: !isKeyer });
    }
    const whole = createStickerStack({ preset: 'sticker' });
    await setupStages(whole, size, frameOf(source, width, height));
    tasks.push({ name: 'whole stack', stages: whole, input: source, keyedInput: false });

    bench.add('copy frame', () => {
      work.data.set(source);
    });
    for (const task of tasks) {
      bench.add(task.name, () => {
        work.data.set(task.input);
        if (task.keyedInput) work.alphaBounds = { ...bounds };
        else work.alphaBounds = undefined; // as the decoder does: a delete would change the object's shape
        for (const stage of task.stages) stage.process(work);
      });
    }
    await bench.run();
    const stat = (name: string) =>
      bench.tasks.find((t) => t.name === name)?.result as { latency: { mean: number; rme: number; samples: number[] } } | undefined;
    const copy = stat('copy frame')?.latency.mean ?? 0;
    for (const task of tasks) {
      const r = stat(task.name);
      if (!r) continue;
      const result: MicroResult = {
        name: task.name,
        size: size.label,
        width,
        height,
        msPerFrame: Math.max(0, r.latency.mean - copy),
        rme: r.latency.rme,
        samples: r.latency.samples.length,
        coverage,
        pixelCoverage,
      };
      results.push(result);
      log(`  micro ${size.label} ${task.name}: ${result.msPerFrame.toFixed(2)} ms/frame ±${result.rme.toFixed(1)}%`);
    }
  }
  return results;
}
