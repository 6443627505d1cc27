/**
 * bench:keying end to end on a tiny set: real clips from the held-out family (144p, 4 frames, one
 * clip per set, green), our key preset, a real ffmpeg searching a small grid. Seconds, not minutes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { METRIC_ROWS, keyingTable, runKeyingBench, writeKeyingReport, type KeyingBenchResult } from '../src/keying/run.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-keying-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench:keying', () => {
  let result: KeyingBenchResult;

  it('runs ours and the ffmpeg oracle on both sets and prints finite figures', async () => {
    result = await runKeyingBench({
      sets: ['tuning', 'heldout'],
      screens: ['green'],
      height: 144,
      frames: 4,
      clipsPerSet: 1,
      grid: {
        similarities: [0.02, 0.08, 0.2],
        blends: [0, 0.1],
        colours: ['pure', 'measured'],
        despill: [
          { mix: 0.5, expand: 0 },
          { mix: 0.8, expand: 0.5 },
        ],
      },
      cacheDir: join(dir, 'clips'),
    });
    expect(result.groups.map((g) => `${g.set}/${g.screen}`)).toEqual(['tuning/green', 'heldout/green']);
    for (const g of result.groups) {
      for (const who of [g.ours, g.oracle]) {
        for (const row of METRIC_ROWS) expect(Number.isFinite(who[row.key]), `${g.set} ${row.key}`).toBe(true);
        expect(who.frames).toBe(2); // frames 1 and 3 of 4 (hold 2)
        expect(who.sad).toBeGreaterThan(0);
        expect(who.edgeColourPixels).toBeGreaterThan(0);
        expect(who.flickerPixels).toBeGreaterThan(0);
      }
      expect(g.ours.sad).not.toBe(g.oracle.sad);
    }
    const table = keyingTable(result);
    for (const row of METRIC_ROWS) expect(table).toContain(`| ${row.label} |`);
    expect(table).toContain('### heldout set, green screen');
    const paths = await writeKeyingReport(result, join(dir, 'out'));
    expect(existsSync(paths.markdown)).toBe(true);
    expect((JSON.parse(readFileSync(paths.json, 'utf8')) as KeyingBenchResult).groups).toHaveLength(2);
  });

  it('really searched: every grid point ran, they differ, and the winner is the least SAD, refined', () => {
    for (const g of result.groups) {
      // Coarse grid: 2 colours x 2 blends x 3 similarities, then midpoints round the best.
      expect(g.oracleTried.length).toBeGreaterThan(12);
      const sads = g.oracleTried.map((t) => t.sad);
      expect(new Set(sads.map((s) => s.toFixed(3))).size).toBeGreaterThan(6);
      const least = Math.min(...sads);
      const chosen = g.oracleTried.find(
        (t) => t.colour === g.oracleChoice.colour && t.similarity === g.oracleChoice.similarity && t.blend === g.oracleChoice.blend,
      )!;
      expect(chosen.sad).toBe(least);
      // The final ffmpeg run (every frame, with despill) keys the scored frames exactly as the search did.
      expect(g.oracle.sad * g.oracle.frames).toBeCloseTo(least, 6);
      expect(g.despillTried).toHaveLength(2);
      expect(new Set(g.despillTried.map((d) => d.edgeColour)).size).toBe(2);
    }
  });
});
