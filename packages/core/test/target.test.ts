import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError, LimitExceededError, PLATFORM_TARGETS, probe, QUALITY_STEPS, readAnimationInfo, renderForTarget } from '../src/index.js';
import { firstQualityFor } from '../src/target.js';
import { countFrames, decodeAll, greenKeyer, makeBoxClip, opaqueBounds, refusal, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let box: string;
let long: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  box = await makeBoxClip(join(dir, 'box.mp4'));
  long = await makeBoxClip(join(dir, 'long.mp4'), { seconds: 4 });
});
afterAll(() => cleanup());

/** Nothing but the outputs a test asked for: no spool, attempt or partial left behind. */
async function leftovers(): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('.'));
}

describe('renderForTarget: telegram', () => {
  it('cuts the canvas to where the character goes over the clip and meets every limit', async () => {
    const output = join(dir, 'box.webm');
    const result = await renderForTarget({ input: box, output, target: 'telegram', stages: [greenKeyer()] });
    // The box sweeps x 100..258, y 50..170: found from the small search pass, a few pixels wide at most.
    const { character } = result;
    expect(character.left).toBeLessThanOrEqual(100);
    expect(character.left).toBeGreaterThanOrEqual(92);
    expect(character.right).toBeGreaterThanOrEqual(258);
    expect(character.right).toBeLessThanOrEqual(266);
    expect(character.top).toBeLessThanOrEqual(50);
    expect(character.bottom).toBeGreaterThanOrEqual(170);

    const info = await probe(output);
    expect(Math.max(info.width, info.height)).toBe(512);
    expect(info.width).toBe(512); // wider than tall
    expect(info.height).toBeLessThan(512);
    expect(info.fps).toBeLessThanOrEqual(30);
    expect(info.duration).toBeLessThanOrEqual(3);
    expect(result.outputBytes).toBeLessThanOrEqual(256_000);
    // A flat box is far smaller than the sticker the first encode's step was predicted for: the
    // search goes up to the best step, which fits.
    expect(result.chosen).toMatchObject({ quality: 32, fits: true });
    expect(result.attempts.every((attempt) => attempt.fits)).toBe(true);

    // The canvas follows the character: at the start the box is at the canvas's left, at the end
    // at its right, and over the clip it spans the canvas but for the search's slack (a few source
    // pixels on each side, three output pixels each at this scale).
    const rgba = await decodeAll(output, { alphaDecoder: true });
    const frameBytes = info.width * info.height * 4;
    const frames = rgba.length / frameBytes;
    expect(frames).toBe(48);
    const first = opaqueBounds(rgba.subarray(0, frameBytes), info.width, info.height);
    const last = opaqueBounds(rgba.subarray((frames - 1) * frameBytes), info.width, info.height);
    expect(first.left).toBeLessThan(32);
    expect(first.right).toBeLessThan(info.width * 0.6); // the box is half the region wide
    expect(last.right).toBeGreaterThan(info.width - 32);
    expect(first.top).toBeLessThan(32);
    expect(first.bottom).toBeGreaterThan(info.height - 32);
    // Still a sticker: see-through around the box.
    expect(rgba[3]).toBeLessThan(16);
    expect(await leftovers()).toEqual([]);
  });

  it('fails with LIMIT_EXCEEDED naming the smallest size reached when the budget cannot be met', async () => {
    const output = join(dir, 'tiny.webm');
    const target = { ...PLATFORM_TARGETS.telegram, maxBytes: 800 };
    const error = await refusal(renderForTarget({ input: box, output, target, stages: [greenKeyer()] }));
    expect(error).toBeInstanceOf(LimitExceededError);
    const limit = error as LimitExceededError;
    expect(limit.code).toBe('LIMIT_EXCEEDED');
    expect(limit.limit).toBe('maxBytes');
    expect(limit.limitValue).toBe(800);
    expect(limit.actual).toBeGreaterThan(800);
    expect(limit.message).toContain(`the smallest of`);
    expect(limit.message).toContain(`was ${limit.actual} bytes`);
    expect(limit.message).toContain('--fit rate');
    expect(await leftovers()).toEqual([]);
    await expect(readdir(dir)).resolves.not.toContain('tiny.webm');
  });
});

describe('firstQualityFor', () => {
  it('starts at the best step without a budget or a prediction, and lower the more pixels and frames a budget must hold', () => {
    const size = { width: 512, height: 470 };
    expect(firstQualityFor('webm', undefined, size, 72)).toBe(QUALITY_STEPS.webm[0]);
    expect(firstQualityFor('webm', 256_000, size, undefined)).toBe(QUALITY_STEPS.webm[0]);
    expect(firstQualityFor('gif', 300_000, size, 72)).toBe(QUALITY_STEPS.gif[0]);
    // A tiny sticker fits at the best step; 3 s at 512 px is predicted over it.
    expect(firstQualityFor('webm', 256_000, { width: 100, height: 100 }, 12)).toBe(QUALITY_STEPS.webm[0]);
    const steps = [24, 48, 72, 90].map((frames) => QUALITY_STEPS.webm.indexOf(firstQualityFor('webm', 256_000, size, frames)));
    expect(steps[2]).toBeGreaterThan(0);
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThanOrEqual(steps[i - 1]!);
    // Never past the floor, however large.
    expect(firstQualityFor('webm', 1000, size, 900)).toBe(QUALITY_STEPS.webm.at(-1));
  });
});

describe('renderForTarget: web', () => {
  it('writes the WebM and, from the same styled frames, an animated WebP beside it, with the HTML that picks one', async () => {
    const output = join(dir, 'page.webm');
    const result = await renderForTarget({ input: box, output, target: 'web', stages: [greenKeyer()] });
    expect(result.fallbacks).toEqual([join(dir, 'page.webp')]);
    const webp = readAnimationInfo(join(dir, 'page.webp'));
    expect(webp).toMatchObject({ width: result.width, height: result.height, alphaChannel: true, plays: Infinity });
    // libwebp merges frames identical to the one before into it: the same 2 s in fewer frames.
    expect(webp.durationSeconds).toBeCloseTo(2, 1);
    expect(Math.max(result.width, result.height)).toBe(512);
    expect(result.snippet).toContain('<video class="sticker" src="page.webm"');
    expect(result.snippet).toContain('src="page.webp"');
    expect(await leftovers()).toEqual([]);
  });
});

describe('renderForTarget: the check on its own output', () => {
  it('fails rather than hand over a file the platform would refuse (a palette where full colour is required)', async () => {
    // A row that takes GIF but refuses indexed colour: every limit render meets itself holds, only the check sees the palette.
    const target = { ...PLATFORM_TARGETS.discord, formats: ['gif' as const], palette: 'refused' as const };
    const output = join(dir, 'palette.gif');
    const error = await refusal(renderForTarget({ input: box, output, target, stages: [greenKeyer()] }));
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'palette' });
    expect(error.message).toContain(`Expected ${output} to meet Discord sticker limits (--target discord) but it breaks 1 limit: palette:`);
    await expect(readdir(dir)).resolves.not.toContain('palette.gif');
    expect(await leftovers()).toEqual([]);
  });
});

describe('renderForTarget: duration and refusals', () => {
  it('refuses a clip over the duration before any work, unless it may be trimmed or sped up', async () => {
    const refused = await refusal(renderForTarget({ input: long, output: join(dir, 'long.webm'), target: 'telegram', stages: [greenKeyer()] }));
    expect(refused).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxDurationSeconds', limitValue: 3 });
    expect(refused.message).toContain('--fit trim or --fit speed-up');

    const trimmed = await renderForTarget({ input: long, output: join(dir, 'trim.webm'), target: 'telegram', stages: [greenKeyer()], fit: ['trim'] });
    expect(trimmed).toMatchObject({ trimmedTo: 3, frames: 72, fps: 24 });
    expect(await countFrames(join(dir, 'trim.webm'))).toBe(72);

    // 4 s at 24 fps into 3 s at most 30 fps: frames taken at 22.5 fps and played at 30.
    const fast = await renderForTarget({ input: long, output: join(dir, 'fast.webm'), target: 'telegram', stages: [greenKeyer()], fit: ['speed-up'] });
    expect(fast).toMatchObject({ frames: 90, fps: 30 });
    expect(fast.speedUp).toBeCloseTo(4 / 3, 2);
    const info = await probe(join(dir, 'fast.webm'));
    expect(info.duration).toBeLessThanOrEqual(3.05);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses options that would break the platform, before any work', async () => {
    const cases: [Parameters<typeof renderForTarget>[0], string][] = [
      [
        { input: box, output: join(dir, 'x.gif'), target: 'telegram' },
        'Expected format webm for target telegram (Telegram video sticker) but received "gif" from the output',
      ],
      [{ input: box, output: join(dir, 'x.webm'), target: 'telegram', posterize: 40 }, 'Expected posterize at most 30 fps for target telegram but received 40'],
      [{ input: box, output: join(dir, 'x.webm'), target: 'telegram', fit: ['trim', 'speed-up'] }, 'Expected at most one of trim and speed-up for fit'],
    ];
    for (const [options, message] of cases) {
      const error = await refusal(renderForTarget(options));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error.message).toContain(message);
    }
    expect(await leftovers()).toEqual([]);
  });
});
