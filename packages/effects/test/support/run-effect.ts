/**
 * Test harness for one effect: bind options through core's createStage (the same validation the
 * CLI gets), set it up at a canvas size, process frames; and a memory probe for "no growth over
 * many apply calls" that forces full garbage collections so the figures are not noise.
 */
import { collectGarbage, createFrame, createStage, type Bounds, type Effect, type Frame, type OptionTable, type Stage } from '@stickerkey/core';

export async function setupEffect(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  effect: Effect<OptionTable, any, any>,
  options: Record<string, unknown>,
  width: number,
  height: number,
  signal?: AbortSignal,
): Promise<Stage> {
  const stage = createStage(effect, options);
  await stage.setup({ size: { width, height }, sampleFrames: () => Promise.resolve([]), signal });
  return stage;
}

/** A frame from a per-pixel function returning [r, g, b, a]. */
export function frameFrom(width: number, height: number, pixel: (x: number, y: number) => readonly [number, number, number, number], bounds?: Bounds): Frame {
  const frame = createFrame(width, height);
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p += 4) {
      const [r, g, b, a] = pixel(x, y);
      frame.data[p] = r;
      frame.data[p + 1] = g;
      frame.data[p + 2] = b;
      frame.data[p + 3] = a;
    }
  }
  if (bounds) frame.alphaBounds = { ...bounds };
  return frame;
}

export function pixelAt(frame: Frame, x: number, y: number): number[] {
  const p = (y * frame.width + x) * 4;
  return Array.from(frame.data.subarray(p, p + 4));
}

export function fullGc(): void {
  collectGarbage();
  collectGarbage();
}

/** Heap and array-buffer bytes after a full collection. */
export function memoryNow(): { heapUsed: number; arrayBuffers: number } {
  fullGc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

/**
 * Runs `step` `count` times after a warm-up and returns the growth of heap and array buffers.
 * Warm-up first so that JIT compilation and lazily created tables are not counted.
 */
export function growthOver(count: number, step: () => void): { heap: number; arrayBuffers: number } {
  for (let i = 0; i < 50; i++) step();
  const before = memoryNow();
  for (let i = 0; i < count; i++) step();
  const after = memoryNow();
  return { heap: after.heapUsed - before.heapUsed, arrayBuffers: after.arrayBuffers - before.arrayBuffers };
}
