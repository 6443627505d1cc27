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
});
