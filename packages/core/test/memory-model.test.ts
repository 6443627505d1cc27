import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MEMORY_BUDGET,
  defaultMemoryModel,
  fitToMemoryBudget,
  predictJobMemory,
  predictedCanvas,
  probe,
  runPipeline,
  type Progress,
  type Stage,
} from '../src/index.js';
import { ffmpegDescendants, leftHalfTransparent, makeClip, partialFiles, refusal, tempDir } from './helpers.js';

const MB = 1024 * 1024;
const UHD = { width: 3840, height: 2160 };
/** The pipeline counts a render thread's heap when it runs in one; so must the expectations (vitest's pool decides). */
const inThread = !isMainThread;

/** A real stage that reaches `margin` pixels outside the frame and records whether its setup ran. */
function reaching(margin: number): Stage & { setups: number } {
  const stage = { ...leftHalfTransparent(), name: `reach-${margin}`, margin, setups: 0 };
  const setup = stage.setup.bind(stage);
  stage.setup = async (ctx) => {
    stage.setups++;
    await setup(ctx);
  };
  return stage;
}

describe('the memory model', () => {
  it('grows with the canvas and the encoder, and counts the idle process once in the peak', () => {
    const stages = [reaching(10)];
    const small = predictJobMemory({ width: 640, height: 360 }, stages, 'webm', { inThread: false });
    const big = predictJobMemory({ width: 1920, height: 1080 }, stages, 'webm', { inThread: false });
    const gif = predictJobMemory({ width: 1920, height: 1080 }, stages, 'gif', { inThread: false });
    const threaded = predictJobMemory({ width: 1920, height: 1080 }, stages, 'webm', { inThread: true });
    expect(big.bytes).toBeGreaterThan(small.bytes);
    expect(big.parts.encoder).toBeGreaterThan(gif.parts.encoder);
    expect(threaded.bytes - big.bytes).toBe(defaultMemoryModel().perJob.threadMb * MB);
    expect(big.peakBytes - big.bytes).toBe(defaultMemoryModel().processBaselineMb * MB);
    expect(big.canvas).toEqual({ width: 1940, height: 1100 });
    // The pool at its real size: 4 RGBA frames of the canvas by default, more when asked.
    expect(big.parts.pool).toBe(4 * 1940 * 1100 * 4);
    expect(predictJobMemory({ width: 1920, height: 1080 }, stages, 'webm', { inThread: false, poolSize: 8 }).parts.pool).toBe(8 * 1940 * 1100 * 4);
  });

  it('decodes a scaled-down clip at full size: the decoder part follows the source, the rest the canvas', () => {
    const full = predictJobMemory(UHD, [], 'webm', { inThread: false });
    const scaled = predictJobMemory(UHD, [], 'webm', { inThread: false, size: { width: 1280, height: 720 } });
    expect(scaled.canvas).toEqual({ width: 1280, height: 720 });
    expect(scaled.parts.decoder).toBe(full.parts.decoder);
    expect(scaled.parts.encoder).toBeLessThan(full.parts.encoder / 4);
  });

  it('fits the largest even size of the same aspect whose peak is within the budget', () => {
    const stages = [reaching(7)];
    const budget = 900 * MB;
    const fitted = fitToMemoryBudget(UHD, stages, 'webm', budget, { inThread: false });
    expect(fitted.peakBytes).toBeLessThanOrEqual(budget);
    const { width, height } = fitted.frames;
    expect(width % 2).toBe(0);
    expect(height % 2).toBe(0);
    expect(Math.abs(width / height - 16 / 9)).toBeLessThan(0.01);
    // Two pixels wider no longer fits: it is the largest.
    const wider = predictJobMemory(UHD, stages, 'webm', { inThread: false, size: { width: width + 2, height: 2 * Math.round(((width + 2) * 9) / 16 / 2) } });
    expect(wider.peakBytes).toBeGreaterThan(budget);
    // The canvas is the scaled frames padded by the stages' reach, odd margin made even.
    expect(fitted.canvas).toEqual(predictedCanvas(fitted.frames, stages));
  });
});

describe('runPipeline: the memory budget', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let small: string;
  let uhd: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    small = await makeClip(join(dir, 'small.mp4'), { width: 161, height: 91, fps: 24, seconds: 0.5 });
    // Two frames of 3840x2160: inside the default limits, far outside a 1536 MB budget as WebM.
    uhd = await makeClip(join(dir, 'uhd.mp4'), { ...UHD, fps: 24, seconds: 0.08 });
  });
  afterAll(() => cleanup());

  it('predicts the canvas the pipeline really uses, and reports the prediction', async () => {
    const stage = reaching(3);
    const source = await probe(small);
    const result = await runPipeline({ input: small, output: join(dir, 'small.mov'), stages: [stage] });
    const prediction = predictJobMemory(source, [stage], 'mov', { inThread });
    expect({ width: result.width, height: result.height }).toEqual(prediction.canvas);
    expect(result.predictedPeak).toBe(prediction.peakBytes);
    expect(result.scaledFrom).toBeUndefined();
  });

  it('refuses a 4K WebM job under the default budget after the probe, before any other work', async () => {
    const stage = reaching(0);
    const output = join(dir, 'uhd.webm');
    const stagesSeen: Progress['stage'][] = [];
    const lines: string[] = [];
    const error = await refusal(
      runPipeline({ input: uhd, output, stages: [stage], onProgress: (p) => stagesSeen.push(p.stage), log: (line) => lines.push(line) }),
    );
    const predicted = predictJobMemory(UHD, [stage], 'webm', { inThread });
    expect(predicted.peakBytes).toBeGreaterThan(DEFAULT_MEMORY_BUDGET);
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.message).toBe(
      `Expected a predicted peak of at most 1536 MB for ${uhd} but this job needs about ${Math.ceil(predicted.peakBytes / MB)} MB ` +
        '(3840x2160 canvas, webm); use fitMemory (--fit-memory) to scale it down or raise memoryBudget (--memory-budget)',
    );
    expect(error).toMatchObject({ limit: 'memoryBudget', limitValue: 1536, actual: Math.ceil(predicted.peakBytes / MB) });
    // Nothing past the probe: no set-up (where sampling decodes), no memory line, no decoder or encoder.
    expect(stagesSeen).toEqual(['probe']);
    expect(stage.setups).toBe(0);
    expect(lines).toEqual([]);
    expect(existsSync(output)).toBe(false);
    expect(await partialFiles(dir)).toEqual([]);
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('refuses a budget that is not a positive number of bytes before probing', async () => {
    const error = await refusal(runPipeline({ input: join(dir, 'missing.mp4'), output: join(dir, 'x.webm'), memoryBudget: -5 }));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe('Expected a positive number of bytes for memoryBudget but received -5');
  });

  // H.264 below, not VP9: the same budget logic, at a fraction of the encoding time in CI.
  it('with fitMemory, renders the 4K clip at the largest size whose prediction fits, and says so', async () => {
    const stage = reaching(5);
    const output = join(dir, 'fitted.mp4');
    const budget = predictJobMemory(UHD, [stage], 'mp4', { inThread }).peakBytes - 200 * MB;
    const result = await runPipeline({ input: uhd, output, stages: [stage], memoryBudget: budget, fitMemory: true });
    expect(result.scaledFrom).toEqual(UHD);
    const fitted = fitToMemoryBudget(UHD, [stage], 'mp4', budget, { inThread });
    expect({ width: result.width, height: result.height }).toEqual(fitted.canvas);
    expect(result.width).toBeLessThan(UHD.width);
    expect(result.predictedPeak).toBe(fitted.peakBytes);
    expect(result.predictedPeak).toBeLessThanOrEqual(budget);
    expect(result.frames).toBe(2);
    const out = await probe(output);
    expect([out.width, out.height]).toEqual([result.width, result.height]);
    // The effects saw the smaller canvas too.
    expect(stage.setups).toBe(1);
  });

  it('lets the 4K job through, at full size, under a budget large enough for it', async () => {
    const predicted = predictJobMemory(UHD, [], 'mp4', { inThread }).peakBytes;
    const tight = await refusal(runPipeline({ input: uhd, output: join(dir, 'uhd-tight.mp4'), memoryBudget: predicted - MB }));
    expect(tight.code).toBe('LIMIT_EXCEEDED');
    const output = join(dir, 'uhd-big-budget.mp4');
    const result = await runPipeline({ input: uhd, output, memoryBudget: 64 * 1024 * MB });
    expect(result).toMatchObject({ width: 3840, height: 2160, frames: 2, predictedPeak: predicted });
    expect(result.scaledFrom).toBeUndefined();
    expect(existsSync(output)).toBe(true);
  });
});
