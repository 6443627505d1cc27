import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { makeContactSheet } from '../src/contact-sheet.js';
import { renderJob } from '../src/render.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-sheet-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('makeContactSheet', () => {
  it('lays out source frames over rendered frames with alpha shown on a checkerboard', async () => {
    const fixture = await ensureFixture({ screen: 'green', height: 360, seconds: 2 });
    const result = await renderJob({ input: fixture.video, output: join(dir, 'keyed.webm'), preset: 'key', posterize: 12 });
    const source = await probe(fixture.video);
    const rendered = await probe(result.output);

    const sheet = await makeContactSheet({ source: fixture.video, result: result.output, output: join(dir, 'sheet.png'), frames: 4, cellWidth: 320 });

    // Layout, computed here by hand: 12 px padding, 30 px title, 22 px caption above each row.
    const sourceHeight = Math.round((320 * source.height) / source.width / 2) * 2;
    const resultHeight = Math.round((320 * rendered.height) / rendered.width / 2) * 2;
    const width = 12 + 4 * (320 + 12);
    const height = 30 + 22 + sourceHeight + 12 + 22 + resultHeight + 12;
    const meta = await sharp(sheet.output).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([width, height]);
    expect([sheet.width, sheet.height]).toEqual([width, height]);
    expect(sheet.times).toHaveLength(4);

    // The top-left corner of a clip is screen, far from the character: green in the source row,
    // keyed away in the result row so the grey checkerboard shows through.
    const { data, info } = await sharp(sheet.output).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number): [number, number, number] => {
      const p = (y * info.width + x) * info.channels;
      return [data[p]!, data[p + 1]!, data[p + 2]!];
    };
    const left = 12;
    const [r, g, b] = px(left + 3, 30 + 22 + 3);
    expect(g).toBeGreaterThan(r + 40);
    expect(g).toBeGreaterThan(b + 40);
    const resultTop = 30 + 22 + sourceHeight + 12 + 22;
    const [cr, cg, cb] = px(left + 3, resultTop + 3);
    expect(Math.abs(cr - cg)).toBeLessThan(12);
    expect(Math.abs(cg - cb)).toBeLessThan(12);
    expect(cr).toBeGreaterThan(180);
  });
});
