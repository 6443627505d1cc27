import { describe, expect, it } from 'vitest';
import { createFrame, type Stage } from '@stickerkey/core';
import { injectStages, parseInjection } from '../src/inject.js';

const identity: Stage = { name: 'identity', margin: 0, producesAlpha: false, async setup() {}, process() {} };
const ctx = { size: { width: 2, height: 2 }, sampleFrames: () => Promise.resolve([]) };

describe('fault injection', () => {
  it('is off by default and parses both switches', () => {
    expect(parseInjection(undefined)).toBeNull();
    expect(parseInjection('')).toBeNull();
    expect(parseInjection('memory:300,slow:2')).toEqual({ memoryMb: 300, slowFactor: 2 });
  });
  it('refuses a malformed switch with a message that quotes it', () => {
    expect(() => parseInjection('memory:lots')).toThrow(
      'Expected STICKERKEY_BENCH_INJECT as memory:<MB> and/or slow:<factor> (e.g. memory:300,slow:2) but received "memory:lots"',
    );
  });
  it('leaves the stack alone without injection', () => {
    expect(injectStages([identity], null).map((s) => s.name)).toEqual(['identity']);
  });
  it('holds the extra memory as resident pages from setup on', async () => {
    const ballast = injectStages([identity], { memoryMb: 64, slowFactor: 1 })[1]!;
    const before = process.memoryUsage().rss;
    await ballast.setup(ctx);
    ballast.process(createFrame(2, 2));
    expect(process.memoryUsage().rss - before).toBeGreaterThan(48 * 1024 * 1024);
  });
  it('wraps the stack with a timer and a busy-wait when slowed', async () => {
    const stages = injectStages([identity], { memoryMb: 0, slowFactor: 3 });
    expect(stages.map((s) => s.name)).toEqual(['inject-slow-start', 'identity', 'inject-slow']);
    const frame = createFrame(2, 2);
    for (const s of stages) await s.setup(ctx);
    for (const s of stages) s.process(frame);
  });
});
