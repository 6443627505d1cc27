/**
 * A source that already has alpha, keyed: the key only removes more. Transparent source pixels stay
 * transparent through the real keyer (packages/effects' chroma-key) and the pipeline; the opaque
 * character stays opaque; the screen goes. Lives here because core's tests cannot import effects.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStage, ffmpegBinary, probe, runPipeline } from '@stickerkey/core';
import { chromaKey } from '@stickerkey/effects';

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-alpha-source-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('an alpha source, keyed', () => {
  it('keeps transparent source pixels transparent, keys the screen and keeps the character', async () => {
    const clip = join(dir, 'alpha.mov');
    // x < 40: transparent (its colour is screen green, to tempt the keyer); 40..99: green screen,
    // opaque; x >= 100: an opaque orange character.
    // prettier-ignore
    await run(ffmpegBinary(), [
      '-v', 'error', '-y', '-f', 'lavfi',
      '-i', "color=c=black:s=160x90:r=24:d=1,format=rgba,geq=r='if(gte(X\\,100)\\,255\\,0)':g='if(gte(X\\,100)\\,128\\,177)':b='if(gte(X\\,100)\\,0\\,64)':a='if(lt(X\\,40)\\,0\\,255)'",
      '-c:v', 'prores_ks', '-profile:v', '4', '-pix_fmt', 'yuva444p10le',
      clip,
    ]);
    expect((await probe(clip)).hasAlpha).toBe(true);
    const output = join(dir, 'keyed.mov');
    const result = await runPipeline({ input: clip, output, stages: [createStage(chromaKey, { screen: '#00b140' })] });
    expect([result.width, result.height, result.frames]).toEqual([160, 90, 24]);
    const { stdout } = await run(ffmpegBinary(), ['-v', 'error', '-i', output, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'], {
      encoding: 'buffer',
      maxBuffer: 1 << 24,
    });
    const alpha = (x: number, y: number) => stdout[(y * 160 + x) * 4 + 3]!;
    for (const y of [10, 45, 80]) {
      expect(alpha(10, y), 'transparent in the source').toBeLessThanOrEqual(4);
      expect(alpha(70, y), 'screen keyed out').toBeLessThanOrEqual(4);
      expect(alpha(140, y), 'character kept').toBeGreaterThanOrEqual(250);
    }
  });
});
