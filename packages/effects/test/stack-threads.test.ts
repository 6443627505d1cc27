/**
 * The whole sticker stack in stage threads (core's stage-threads.ts) against in-line, on a real
 * fixture clip: every stage's recipe must rebuild it in a thread (module URL and export from the
 * registry), the keyer's screen estimate must reach its thread, and the frames that leave the
 * stack must be byte-identical, alphaBounds included.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, type Stage } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { createStickerStack, effectNames, effectOrigin, effects } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-stack-threads-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Hand-made, so it stays in-line after the threads: what the encoder would receive, hashed. */
function recorder(into: string[]): Stage {
  return {
    name: 'recorder',
    margin: 0,
    producesAlpha: false,
    async setup() {},
    process(frame) {
      const b = frame.alphaBounds;
      into.push(`${frame.index} ${b ? `${b.left},${b.top},${b.right},${b.bottom}` : '-'} ${createHash('sha1').update(frame.data).digest('hex')}`);
    },
  };
}

describe('sticker stack in stage threads', () => {
  it('names a module and export for every effect that hold that very effect', async () => {
    for (const name of effectNames) {
      const origin = effectOrigin(name);
      const module = (await import(origin.module)) as Record<string, unknown>;
      expect((module[origin.exportName] as { name: string }).name).toBe(name);
      expect(origin.cost).toBeGreaterThan(0);
    }
    expect(createStickerStack().every((stage) => stage.recipe !== undefined)).toBe(true);
    expect(effects['chroma-key'].name).toBe('chroma-key');
  });

  it('gives byte-identical frames with 1 and 2 threads', async () => {
    const fx = await ensureFixture({ screen: 'green', height: 360, seconds: 2 });
    const byThreads: Record<number, string[]> = {};
    for (const threads of [1, 2]) {
      const records: string[] = [];
      const result = await runPipeline({
        input: fx.video,
        output: join(dir, `sticker-${threads}.mov`),
        stages: [...createStickerStack({ preset: 'sticker' }), recorder(records)],
        posterize: 12,
        threads,
      });
      expect(result.stageThreads).toBe(threads === 1 || availableParallelism() === 1 ? 0 : 2);
      byThreads[threads] = records;
    }
    expect(byThreads[1]).toHaveLength(24);
    // The keyer set bounds that travelled with every frame.
    expect(byThreads[1].every((line) => !line.includes(' - '))).toBe(true);
    expect(byThreads[2]).toEqual(byThreads[1]);
  });
});
