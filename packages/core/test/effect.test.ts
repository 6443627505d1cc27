import { describe, expect, it } from 'vitest';
import { createFrame, createStage, defineEffect } from '../src/index.js';

const invert = defineEffect({
  name: 'invert',
  description: 'inverts colour inside the alpha',
  options: [{ name: 'amount', type: 'number', default: 1, min: 0, max: 1, help: 'mix' }] as const,
  margin: (options) => options.amount * 2.5,
  prepare: (options) => ({ amount: options.amount }),
  apply(state, frame) {
    const d = frame.data;
    for (let p = 0; p < d.length; p += 4) d[p] = Math.round(d[p]! + (255 - 2 * d[p]!) * state.amount);
  },
});

describe('createStage', () => {
  it('validates options before any work, with the effect name in the message', () => {
    expect(() => createStage(invert, { amount: 2 })).toThrow('Expected number between 0 and 1 for invert.amount but received 2');
  });

  it('runs preload/prepare at setup, then apply per frame, and rounds margins up', async () => {
    const stage = createStage(invert, { amount: 1 });
    expect(stage.margin).toBe(3);
    const frame = createFrame(1, 1);
    expect(() => stage.process(frame)).toThrow('used before setup');
    await stage.setup({ size: { width: 1, height: 1 }, sampleFrames: () => Promise.resolve([]) });
    frame.data[0] = 10;
    stage.process(frame);
    expect(frame.data[0]).toBe(245);
    expect(() => stage.process(createFrame(2, 1))).toThrow('Stage invert was prepared for 1x1 but received a 2x1 frame');
  });

  it('rebuilds itself at another scale: pixel options and with them the margin follow, the recipe too', () => {
    const shadow = defineEffect({
      name: 'shadow',
      description: 'a stand-in with a distance in pixels',
      options: [
        { name: 'distance', type: 'number', default: 10, min: 0, max: 100, unit: 'px', help: 'offset' },
        { name: 'opacity', type: 'number', default: 50, min: 0, max: 100, unit: '%', help: 'opacity' },
      ] as const,
      margin: (options) => options.distance,
      prepare: () => undefined,
      apply() {},
    });
    const stage = createStage(shadow, { distance: 20 }, { module: 'file:///shadow.js', exportName: 'shadow' });
    const half = stage.scaled!(0.5);
    expect(stage.margin).toBe(20);
    expect(half.margin).toBe(10);
    expect(half.recipe?.options).toEqual({ distance: 10, opacity: 50 });
    expect(half.scaled!(0.5).margin).toBe(5);
  });
});
