/**
 * Encoder speed presets and size-bound resources: every preset encodes with real ffmpeg and its
 * output keeps what the format promises (alpha where it has alpha), a bad preset is refused
 * before work, and the threads/look-ahead chosen for a canvas stay inside the memory bound.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkSpeed,
  DEFAULT_SPEED,
  ENCODER_SPEEDS,
  encoderArgs,
  encoderCores,
  encoderResources,
  FrameDecoder,
  FORMAT_EXTENSIONS,
  FrameEncoder,
  FramePool,
  OUTPUT_FORMATS,
  probe,
  runPipeline,
  SPEED_PRESETS,
  type EncoderSpeed,
  type OutputFormat,
} from '../src/index.js';
import { decodeAll, decodeComposited, makeClip, refusal, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const size = { width: 96, height: 64 };
const pixels = size.width * size.height;

/** Frame k: a colour ramp, transparent on the left third, half-transparent in the middle third. */
function paint(data: Uint8Array, k: number): void {
  for (let i = 0, p = 0; i < pixels; i++, p += 4) {
    const x = i % size.width;
    const y = Math.floor(i / size.width);
    data[p] = (x * 2 + k * 8) & 255;
    data[p + 1] = (y * 3) & 255;
    data[p + 2] = 200;
    data[p + 3] = x < 32 ? 0 : x < 64 ? 128 : 255;
  }
}

async function encode(format: OutputFormat, speed: EncoderSpeed): Promise<string> {
  const output = join(dir, `${speed}${FORMAT_EXTENSIONS[format][0]}`);
  const encoder = new FrameEncoder({ output, format, size, fps: 12, speed });
  const pool = new FramePool(size, 2);
  for (let k = 0; k < 6; k++) {
    let frame = pool.tryAcquire();
    while (!frame) {
      await pool.whenReleased();
      frame = pool.tryAcquire();
    }
    paint(frame.data, k);
    await encoder.write({ ...frame, index: k, pts: k / 12 }, (f) => pool.release(f));
  }
  await encoder.finish();
  return output;
}

describe('speed presets', () => {
  it('have a row for every format and preset, and the default is one of them', () => {
    expect(ENCODER_SPEEDS).toContain(DEFAULT_SPEED);
    for (const format of OUTPUT_FORMATS) {
      for (const speed of ENCODER_SPEEDS) expect(Array.isArray(SPEED_PRESETS[format][speed])).toBe(true);
    }
  });

  it('choose the VP9 deadline: realtime for fast and balanced, good for small', () => {
    const args = (speed: EncoderSpeed) => encoderArgs('webm', { size, fps: 12, speed });
    expect(args('balanced').join(' ')).toContain('-deadline realtime -cpu-used 6');
    expect(args('fast').join(' ')).toContain('-deadline realtime -cpu-used 8');
    expect(args('small').join(' ')).toContain('-deadline good -cpu-used 2');
    expect(encoderArgs('webm', { size, fps: 12 })).toEqual(args(DEFAULT_SPEED));
  });

  for (const format of OUTPUT_FORMATS) {
    it(`${format}: every preset encodes with real ffmpeg, 6 frames, alpha kept where the format has it`, async () => {
      for (const speed of ENCODER_SPEEDS) {
        const output = await encode(format, speed);
        expect((await stat(output)).size).toBeGreaterThan(0);
        // ffmpeg 5.1 cannot decode animated WebP: libwebp composites it.
        const rgba =
          format === 'webp' ? Buffer.concat(await decodeComposited(output, format, size)) : await decodeAll(output, { alphaDecoder: format === 'webm' });
        expect(rgba.length).toBe(6 * pixels * 4);
        // Pixel (10, 30) is transparent in the source, (80, 30) opaque.
        const at = (x: number) => rgba[(30 * size.width + x) * 4 + 3]!;
        if (format === 'mp4') {
          expect(at(10)).toBe(255);
        } else {
          expect(at(10)).toBeLessThan(16);
          expect(at(80)).toBeGreaterThan(240);
        }
      }
    });
  }
});

describe('checkSpeed', () => {
  it('accepts the presets and refuses anything else, naming the option', () => {
    for (const speed of ENCODER_SPEEDS) expect(checkSpeed(speed)).toBe(speed);
    expect(() => checkSpeed('turbo')).toThrow('Expected speed to be one of fast, balanced, small but received "turbo"');
    expect(() => checkSpeed(3, 'job.speed')).toThrow('Expected job.speed to be one of fast, balanced, small but received 3');
  });

  it('runPipeline refuses a bad speed before any work', async () => {
    const clip = await makeClip(join(dir, 'clip.mp4'), { seconds: 0.5 });
    const output = join(dir, 'never.webm');
    const error = await refusal(runPipeline({ input: clip, output, speed: 'quick' as EncoderSpeed }));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe('Expected speed to be one of fast, balanced, small but received "quick"');
    await expect(stat(output)).rejects.toThrow(/ENOENT/);
  });
});

describe('encoderResources', () => {
  const sizes = [
    { width: 1364, height: 804 },
    { width: 2004, height: 1164 },
    { width: 3924, height: 2244 },
  ];

  it('never start more threads than cores, and one core gets one thread and no VP9 tiles', () => {
    for (const format of OUTPUT_FORMATS) {
      for (const speed of ENCODER_SPEEDS) {
        for (const s of sizes) {
          for (const cores of [1, 2, 16]) {
            const r = encoderResources(format, speed, s, cores);
            expect(r.threads).toBeGreaterThanOrEqual(1);
            expect(r.threads).toBeLessThanOrEqual(cores);
            if (cores === 1) expect(r.tileColumns).toBe(0);
          }
        }
      }
    }
  });

  it('keep VP9 without look-ahead and its tiles at least 256 pixels wide', () => {
    for (const s of sizes) {
      const r = encoderResources('webm', 'small', s, 64);
      expect(r.lookahead).toBe(0);
      expect(s.width / 2 ** r.tileColumns).toBeGreaterThanOrEqual(256);
      expect(r.threads).toBe(2 ** r.tileColumns);
    }
  });

  it('bound what x264 and ProRes hold by the frame size: shorter look-ahead and fewer threads at 4K', () => {
    const small720 = encoderResources('mp4', 'small', sizes[0]!, 2);
    const small4k = encoderResources('mp4', 'small', sizes[2]!, 16);
    expect(small720).toEqual({ threads: 2, lookahead: 40, tileColumns: 0 });
    expect(small4k.threads).toBe(1);
    expect(small4k.lookahead).toBeLessThan(40);
    for (const s of sizes) {
      for (const cores of [1, 2, 16]) {
        // x264: 3 bytes per pixel per look-ahead frame, 15 per frame thread beyond the first, within 256 MB.
        const r = encoderResources('mp4', 'small', s, cores);
        expect((r.lookahead * 3 + (r.threads - 1) * 15) * s.width * s.height).toBeLessThanOrEqual(256 * 2 ** 20);
      }
    }
    const prores4k = encoderResources('mov', 'balanced', sizes[2]!, 16);
    expect(prores4k.threads * 10 * sizes[2]!.width * sizes[2]!.height).toBeLessThanOrEqual(256 * 2 ** 20);
  });
});

describe('colour: outputs are BT.709, converted and tagged', () => {
  // Saturated colours move most between matrices: red decoded with the other matrix is ~20 levels off.
  const colours: [number, number, number][] = [
    [230, 20, 20],
    [20, 200, 40],
    [30, 40, 220],
  ];

  async function solid(format: OutputFormat): Promise<string> {
    const output = join(dir, `bt709.${format}`);
    const encoder = new FrameEncoder({ output, format, size, fps: 12 });
    const pool = new FramePool(size, 3);
    for (let k = 0; k < colours.length; k++) {
      const frame = pool.tryAcquire()!;
      for (let p = 0; p < frame.data.length; p += 4) frame.data.set([...colours[k]!, 255], p);
      await encoder.write({ ...frame, index: k, pts: k / 12 }, (f) => pool.release(f));
    }
    await encoder.finish();
    return output;
  }

  for (const format of ['webm', 'mov', 'mp4'] as const) {
    it(`${format}: tagged BT.709 limited range, and decodes back to the colours written`, async () => {
      const output = await solid(format);
      const info = await probe(output);
      expect(info.colour).toMatchObject({ matrix: 'bt709', range: 'tv', transfer: 'bt709', primaries: 'bt709' });
      // Read back the way every input is read: with the stream's own matrix and range.
      const pool = new FramePool(size, 3);
      const decoder = new FrameDecoder({ input: info, pool });
      let k = 0;
      for await (const frame of decoder) {
        const centre = ((size.height / 2) * size.width + size.width / 2) * 4;
        const got = [...frame.data.subarray(centre, centre + 3)];
        got.forEach((v, c) => expect(Math.abs(v - colours[k]![c]!), `${format} frame ${k} channel ${c}: ${got.join(',')}`).toBeLessThanOrEqual(6));
        pool.release(frame);
        k++;
      }
      expect(k).toBe(colours.length);
    });
  }
});

describe('encoderCores', () => {
  it('gives the encoder the cores the stage threads leave, at least one, and all of them when there are none', () => {
    expect(encoderCores(0, 2)).toBe(2);
    expect(encoderCores(2, 2)).toBe(1);
    expect(encoderCores(1, 4)).toBe(3);
    expect(encoderCores(4, 2)).toBe(1);
    expect(encoderCores(0, 1)).toBe(1);
  });
});
