/**
 * The speed bench's quality score: exact on hand-made pixels, and on real encoded frames it
 * orders lossless above lossy and a fine VP9 quantiser above a coarse one, alpha included (read
 * through the libvpx decoder, as the bench does).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpegBinary, rawInputArgs } from '@stickerkey/core';
import { addFramePair, emptyTotals, PSNR_CAP, qualityScore, scoreOutput } from '../src/speed.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(os.tmpdir(), 'stickerkey-speed-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('quality score on hand-made pixels', () => {
  it('compares colour composited over the background and alpha on its own', () => {
    const totals = emptyTotals();
    // Opaque red against opaque black: each pixel differs by 255 in one of three channels.
    addFramePair(totals, Uint8Array.of(255, 0, 0, 255), Uint8Array.of(0, 0, 0, 255), 0x808080);
    const score = qualityScore(totals, true);
    expect(score.frames).toBe(1);
    expect(score.colourPsnr).toBeCloseTo(10 * Math.log10(3), 2);
    expect(score.alphaPsnr).toBe(PSNR_CAP);
    expect(score.alphaMae).toBe(0);
  });

  it('ignores the colour under full transparency (both show the background) but counts alpha', () => {
    const hidden = emptyTotals();
    addFramePair(hidden, Uint8Array.of(255, 0, 0, 0), Uint8Array.of(0, 255, 0, 0), 0x808080);
    expect(qualityScore(hidden, true).colourPsnr).toBe(PSNR_CAP);

    const alpha = emptyTotals();
    // Fully opaque grey against fully transparent over the same grey: the colour looks the same.
    addFramePair(alpha, Uint8Array.of(128, 128, 128, 255, 128, 128, 128, 255), Uint8Array.of(128, 128, 128, 0, 128, 128, 128, 255), 0x808080);
    const score = qualityScore(alpha, true);
    expect(score.colourPsnr).toBe(PSNR_CAP);
    expect(score.alphaMae).toBe(127.5);
    expect(score.alphaPsnr).toBeCloseTo(10 * Math.log10((255 * 255) / ((255 * 255) / 2)), 2);
  });

  it('reports no alpha figures for a format without alpha', () => {
    const totals = emptyTotals();
    addFramePair(totals, Uint8Array.of(1, 2, 3, 255), Uint8Array.of(1, 2, 3, 255), 0);
    expect(qualityScore(totals, false)).toEqual({ frames: 1, colourPsnr: PSNR_CAP, alphaPsnr: null, alphaMae: null });
  });
});

describe('quality score on real encoded frames', () => {
  const size = { width: 128, height: 96 };
  const frames = 6;
  const raw = join(dir, 'frames.rgba');
  // A textured, moving character with a soft edge on a transparent canvas: something a codec must work at.
  const data = new Uint8Array(size.width * size.height * 4 * frames);
  for (let k = 0, p = 0; k < frames; k++) {
    for (let y = 0; y < size.height; y++) {
      for (let x = 0; x < size.width; x++, p += 4) {
        const d = Math.hypot(x - 50 - k * 4, y - 48);
        data[p] = (x * 7 + y * 3 + k * 11) & 255;
        data[p + 1] = ((x ^ y) * 5) & 255;
        data[p + 2] = (y * 9) & 255;
        data[p + 3] = d < 28 ? 255 : d < 36 ? Math.round(((36 - d) / 8) * 255) : 0;
      }
    }
  }
  writeFileSync(raw, data);

  async function encode(name: string, args: string[]): Promise<string> {
    const output = join(dir, name);
    await run(ffmpegBinary(), ['-v', 'error', '-y', ...rawInputArgs(size, 12).map((a) => (a === 'pipe:0' ? raw : a)), ...args, output]);
    return output;
  }

  it('scores a lossless RGBA encode as identical', async () => {
    const lossless = await encode('lossless.mov', ['-c:v', 'png', '-pix_fmt', 'rgba']);
    const score = await scoreOutput(lossless, 'mov', raw, size);
    expect(score.decodedFrames).toBe(frames);
    expect(score.frames).toBe(frames);
    expect(score.colourPsnr).toBe(PSNR_CAP);
    expect(score.alphaMae).toBe(0);
  });

  it('orders VP9 at a fine quantiser above a coarse one, in colour and in alpha', async () => {
    // The quantiser bounds too, not only -crf: ffmpeg before 4.4 passes codec controls such as the
    // CQ level to the colour encoder only, while qmin/qmax (encoder config) reach the alpha one.
    const vp9 = (q: number, qmin: number, qmax: number) => [
      '-vf',
      'format=yuva420p',
      '-c:v',
      'libvpx-vp9',
      '-pix_fmt',
      'yuva420p',
      '-b:v',
      '0',
      '-crf',
      String(q),
      '-qmin',
      String(qmin),
      '-qmax',
      String(qmax),
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-auto-alt-ref',
      '0',
      '-lag-in-frames',
      '0',
    ];
    const fine = await scoreOutput(await encode('fine.webm', vp9(4, 0, 4)), 'webm', raw, size);
    const coarse = await scoreOutput(await encode('coarse.webm', vp9(63, 63, 63)), 'webm', raw, size);
    expect(fine.frames).toBe(frames);
    expect(coarse.frames).toBe(frames);
    // Decoded through libvpx, the alpha is really there: far from an opaque plane.
    expect(fine.alphaMae!).toBeLessThan(5);
    expect(fine.colourPsnr).toBeGreaterThan(coarse.colourPsnr);
    expect(fine.alphaPsnr!).toBeGreaterThan(coarse.alphaPsnr!);
    expect(fine.alphaMae!).toBeLessThan(coarse.alphaMae!);
    // Both lossy: below the cap.
    expect(fine.colourPsnr).toBeLessThan(PSNR_CAP);
  });
});
