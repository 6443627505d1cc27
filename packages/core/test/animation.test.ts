/**
 * Animated outputs play right: each decoded frame shows its own character and nothing of the
 * frames before it (no trail), for GIF, APNG and WebP; and the container facts the checker reads
 * (frames, durations, plays, palette) are what we wrote.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeGifFramesToBackground, gifDisposals, readAnimationInfo, setGifDisposal } from '../src/index.js';
import { coverageMismatch, decodeComposited, encodeMovingCharacter, expectFramesReplaceEachOther, MOVING, tempDir } from './helpers.js';

type Animated = 'gif' | 'apng' | 'webp';
const EXTENSION: Record<Animated, string> = { gif: 'gif', apng: 'png', webp: 'webp' };

let dir: string;
let cleanup: () => Promise<void>;
/** Each format encoded once from the same frames; `written` is their alpha as we wrote it. */
const outputs = {} as Record<Animated, string>;
let written: Uint8Array[];
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  for (const format of ['gif', 'apng', 'webp'] as const) {
    outputs[format] = join(dir, `moving.${EXTENSION[format]}`);
    written = await encodeMovingCharacter(outputs[format], format);
  }
});
afterAll(() => cleanup());

describe('animated outputs: frames replace each other', () => {
  it('uses a clip whose character moves enough for a trail to show', () => {
    // Pixels covered in some frame but not in frame i: what a trail would add to frame i.
    const union = new Uint8Array(written[0]!.length);
    for (const alpha of written) for (let p = 0; p < alpha.length; p++) if (alpha[p]! >= 128) union[p] = 255;
    const unionRgba = new Uint8Array(union.length * 4);
    for (let p = 0; p < union.length; p++) unionRgba[p * 4 + 3] = union[p]!;
    const lastFrameTrail = coverageMismatch(written.at(-1)!, unionRgba);
    expect(lastFrameTrail.mismatched).toBeGreaterThan(lastFrameTrail.written * 0.2);
  });

  it.each(['gif', 'apng', 'webp'] as const)('%s: each decoded frame covers exactly what we wrote for it', async (format) => {
    await expectFramesReplaceEachOther(outputs[format], format, written);
  });

  it('a GIF whose frames stay in place shows the trail, and disposeGifFramesToBackground removes it', async () => {
    // The bundled 2018 build writes every frame "do not dispose": made here by setting that
    // disposal on a GIF of ours, byte for byte what such an encoder leaves.
    const trailing = join(dir, 'trailing.gif');
    await copyFile(outputs.gif, trailing);
    expect(setGifDisposal(trailing, 1)).toBe(written.length);
    const decoded = await decodeComposited(trailing, 'gif', MOVING);
    const last = coverageMismatch(written.at(-1)!, decoded.at(-1)!);
    expect(last.decoded).toBeGreaterThan(last.written * 1.2);

    expect(disposeGifFramesToBackground(trailing)).toBe(written.length);
    expect(new Set(gifDisposals(trailing))).toEqual(new Set([2]));
    await expectFramesReplaceEachOther(trailing, 'gif', written);
  });
});

describe('readAnimationInfo', () => {
  it.each([
    ['gif', 'gif', true],
    ['apng', 'png', false],
    ['webp', 'webp', false],
  ] as [Animated, string, boolean][])('%s: frames, durations, loop forever, canvas, palette', (format, container, palette) => {
    const info = readAnimationInfo(outputs[format]);
    expect(info).toMatchObject({ container, width: MOVING.width, height: MOVING.height, frames: MOVING.frames, plays: Infinity, palette, alphaChannel: true });
    // 16 frames at 12 fps: 1.333 s, give or take the format's rounding (GIF: 1/100 s, WebP: 1 ms).
    expect(info.durationSeconds).toBeCloseTo(MOVING.frames / MOVING.fps, 1);
    for (const ms of info.frameMs) expect(Math.abs(ms - 1000 / MOVING.fps)).toBeLessThanOrEqual(10);
  });

  it('refuses a file that is none of them, and one cut short', async () => {
    const notImage = join(dir, 'not.gif');
    await writeFile(notImage, 'plain text, not a picture');
    expect(() => readAnimationInfo(notImage)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_INPUT' }));
    const output = join(dir, 'cut.gif');
    const bytes = await readFile(outputs.gif);
    await writeFile(output, bytes.subarray(0, bytes.length >> 1));
    expect(() => readAnimationInfo(output)).toThrow(/ends inside its/);
  });
});
