import { describe, expect, it } from 'vitest';
import { computeAlphaBounds, createFrame, expandBounds, frameBytes } from '../src/index.js';

describe('frame helpers', () => {
  it('computes the box of non-zero alpha', () => {
    const frame = createFrame(5, 4);
    frame.data[(1 * 5 + 2) * 4 + 3] = 10; // (2,1)
    frame.data[(2 * 5 + 3) * 4 + 3] = 255; // (3,2)
    const box = computeAlphaBounds(frame, { left: 0, top: 0, right: 0, bottom: 0 });
    expect(box).toEqual({ left: 2, top: 1, right: 4, bottom: 3 });
    expect(expandBounds(box, 2, frame, { left: 0, top: 0, right: 0, bottom: 0 })).toEqual({ left: 0, top: 0, right: 5, bottom: 4 });
  });

  it('gives an empty box for a transparent frame', () => {
    expect(computeAlphaBounds(createFrame(3, 3), { left: 9, top: 9, right: 9, bottom: 9 })).toEqual({ left: 0, top: 0, right: 0, bottom: 0 });
    expect(frameBytes({ width: 1920, height: 1080 })).toBe(8_294_400);
  });
});
