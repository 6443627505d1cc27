/**
 * Bench-only fault injection, to prove the gates catch a regression. Off unless
 * STICKERKEY_BENCH_INJECT is set; it lives in the bench's child runner, never in core:
 * - `memory:300` adds a stage that holds 300 MB more for the whole job (touched, so resident);
 * - `slow:2` makes each frame take 2x as long in our frame loop: a busy-wait of (2-1) times the
 *   frame's own time, measured from the end of the previous frame's busy-wait to the end of the
 *   stack on this one (so: the stack, plus the wait for the decoder and for the encoder's drain).
 *   Only the stack's time would not do: the effects are ~10% of the job's CPU next to VP9, so a
 *   2x slower stack would be within noise; this is the frame loop, where a regression shows.
 * Both may be combined: `memory:300,slow:2`.
 */
import type { Frame, Stage } from '@stickerkey/core';

export interface Injection {
  memoryMb: number;
  slowFactor: number;
}

export function parseInjection(spec: string | undefined): Injection | null {
  if (!spec) return null;
  const injection: Injection = { memoryMb: 0, slowFactor: 1 };
  for (const part of spec.split(',')) {
    const [kind, value] = part.split(':');
    const n = Number(value);
    if (kind === 'memory' && Number.isFinite(n) && n > 0) injection.memoryMb = n;
    else if (kind === 'slow' && Number.isFinite(n) && n >= 1) injection.slowFactor = n;
    else throw new Error(`Expected STICKERKEY_BENCH_INJECT as memory:<MB> and/or slow:<factor> (e.g. memory:300,slow:2) but received ${JSON.stringify(spec)}`);
  }
  return injection;
}

/** Wraps `stack` with the injected stages (the same stack when there is nothing to inject). */
export function injectStages(stack: readonly Stage[], injection: Injection | null): Stage[] {
  if (!injection) return [...stack];
  const stages: Stage[] = [];
  let frameStart = 0;
  let lastEnd = -1;
  if (injection.slowFactor > 1) {
    stages.push({
      name: 'inject-slow-start',
      margin: 0,
      producesAlpha: false,
      async setup() {},
      process() {
        // First frame: nothing before it to measure from but the stack itself. Later frames are
        // measured from the previous frame's end, in inject-slow: with the stack in stage threads
        // a frame enters before the one ahead has left, and an end read here would count that
        // frame's busy-wait again, compounding from frame to frame.
        if (lastEnd < 0) frameStart = performance.now();
      },
    });
  }
  stages.push(...stack);
  if (injection.memoryMb > 0) {
    let ballast: Buffer | undefined;
    stages.push({
      name: 'inject-memory',
      margin: 0,
      producesAlpha: false,
      setup() {
        // allocUnsafe + fill: every page written, so the kernel counts all of it as resident.
        ballast = Buffer.allocUnsafe(Math.round(injection.memoryMb * 1024 * 1024));
        ballast.fill(0xa5);
        return Promise.resolve();
      },
      process(frame: Frame) {
        // Touch the ballast so it stays alive (and resident) until the job ends.
        if (ballast) ballast[frame.index % ballast.length]! ^= 1;
      },
    });
  }
  if (injection.slowFactor > 1) {
    const extra = injection.slowFactor - 1;
    stages.push({
      name: 'inject-slow',
      margin: 0,
      producesAlpha: false,
      async setup() {},
      process() {
        const now = performance.now();
        const until = now + (now - (lastEnd < 0 ? frameStart : lastEnd)) * extra;
        while (performance.now() < until) {
          // busy-wait: a slowdown that costs CPU, like slower code would
        }
        lastEnd = performance.now();
      },
    });
  }
  return stages;
}
