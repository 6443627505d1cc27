/**
 * `stickerkey render <inputs...> --out-dir DIR`: local batches without Redis, through the built
 * CLI, real ffmpeg, real files. Clips are tiny (320x180, 1 s at 12 fps) and made here.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBinary } from '@stickerkey/core';
import { BATCH_OPTIONS, batchSettings, expandInputs, planOutputs } from '../src/batch.js';
import { MEMORY_LINE, expectOneLineError, processesMentioning, runCli } from './helpers.js';

let dir: string;
let clips: string;

/** A green screen with a moving test pattern on it. */
function makeClip(path: string): void {
  // prettier-ignore
  const run = spawnSync(ffmpegBinary(), [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x00ff00:s=320x180:d=1:r=12', '-f', 'lavfi',
    '-i', 'testsrc2=s=120x90:d=1:r=12', '-filter_complex', '[0][1]overlay=x=100+20*t:y=45',
    '-pix_fmt', 'yuv420p',
    path,
  ]);
  if (run.status !== 0) throw new Error(`could not make ${path}: ${String(run.stderr)}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-batch-'));
  clips = join(dir, 'clips');
  await mkdir(clips);
  makeClip(join(clips, 'a.mp4'));
  makeClip(join(clips, 'b.mp4'));
  await writeFile(join(clips, 'broken.mp4'), 'this is not a video');
  await writeFile(join(clips, 'notes.txt'), 'not an input');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('batch inputs and settings', () => {
  it('expands folders (video files only, sorted), globs and files, each once', async () => {
    const fromFolder = await expandInputs([clips]);
    expect(fromFolder).toEqual(['a.mp4', 'b.mp4', 'broken.mp4'].map((f) => join(clips, f)));
    const mixed = await expandInputs([join(clips, 'b.mp4'), join(clips, '*.mp4'), join(clips, 'missing-*.mov')]);
    expect(mixed).toEqual([join(clips, 'b.mp4'), join(clips, 'a.mp4'), join(clips, 'broken.mp4'), join(clips, 'missing-*.mov')]);
  });

  it('refuses two inputs that would render to one output, and bad flags, naming them', () => {
    expect(() => planOutputs(['/x/a.mp4', '/y/a.mov'], '/out', 'webm')).toThrow(
      /Expected inputs with distinct names for --out-dir but \/x\/a\.mp4 and \/y\/a\.mov would both render to \/out\/a\.webm/,
    );
    expect(() => batchSettings({ maxConcurrent: '0' }, {})).toThrow('Expected integer between 1 and 64 for render.max-concurrent but received 0');
    expect(() => batchSettings({ memoryBudget: 'lots' }, {})).toThrow(/render\.memory-budget but received "lots"/);
    expect(batchSettings({}, { MEMORY_BUDGET_MB: '900' })).toEqual({ memoryBudget: 900 * 1024 * 1024, maxConcurrent: 1 });
    expect(BATCH_OPTIONS.map((o) => o.name)).toEqual(['memory-budget', 'max-concurrent']);
  });
});

describe('stickerkey render --out-dir (real ffmpeg)', { timeout: 300_000 }, () => {
  it('renders a folder with a bad file in it: good ones done, the bad one reported with its code, exit 1, nothing left behind', async () => {
    const out = join(dir, 'out');
    const run = await runCli(['render', clips, '--out-dir', out, '--preset', 'key', '--posterize', '6', '--max-concurrent', '2']);
    expect(run.code).toBe(1);
    // The summary table: one row per clip, the bad one with its code.
    const rows = run.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^job\s+file\s+frames\s+time\s+peak\s+result$/);
    expect(rows.find((r) => r.includes('a.mp4'))).toMatch(/^#\d\s+a\.mp4\s+6\s+[\d.]+ s\s+[\d.]+ MB\s+done: .*a\.webm$/);
    expect(rows.find((r) => r.includes('b.mp4'))).toMatch(/\s6\s.*done: .*b\.webm$/);
    expect(rows.find((r) => r.includes('broken.mp4'))).toMatch(/-\s+-\s+-\s+UNSUPPORTED_INPUT: Expected a video file for input but ffprobe cannot read/);
    expect(rows.at(-1)).toBe('2 done, 1 failed');
    // Progress per job plus a total, the error line of the bad clip, seed-format memory lines with each job's id.
    expect(run.stderr).toMatch(/^JOB #\d a\.mp4: frame \d+\/6, [\d.]+ fps, tree [\d.]+ MB RSS$/m);
    expect(run.stderr).toMatch(/^total: 3\/3 clips finished, 1 failed$/m);
    expect(run.stderr).toMatch(/^stickerkey: .*broken\.mp4.* \[UNSUPPORTED_INPUT\]$/m);
    const memory = run.stderr.split('\n').filter((line) => line.includes('💾'));
    expect(memory.length).toBeGreaterThan(4);
    for (const line of memory) expect(line).toMatch(MEMORY_LINE);
    expect(new Set(memory.map((line) => /^JOB #(\S+):/.exec(line)![1]))).toEqual(new Set(['1', '2']));
    // Nothing left behind: the two outputs only, no temp file, no ffmpeg.
    expect((await readdir(out)).sort()).toEqual(['a.webm', 'b.webm']);
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('admits by memory: clips predicted above --memory-budget fail LIMIT_EXCEEDED, the batch goes on', async () => {
    const out = join(dir, 'tight');
    const run = await runCli(['render', join(clips, 'a.mp4'), join(clips, 'b.mp4'), '--out-dir', out, '--memory-budget', '160', '--json']);
    expect(run.code).toBe(1);
    const results = JSON.parse(run.stdout) as Array<{ id: string; ok: boolean; code: string; message: string }>;
    expect(results.map((r) => [r.id, r.ok, r.code])).toEqual([
      ['1', false, 'LIMIT_EXCEEDED'],
      ['2', false, 'LIMIT_EXCEEDED'],
    ]);
    expect(results[0]!.message).toMatch(/^Expected JOB #1 \(a\.mp4, \d+x\d+ webm\) to fit the memory budget of \d+ MB .* predicted to need \d+ MB$/);
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('refuses a bad setting before any work (exit 2, one line) and several inputs without --out-dir', async () => {
    const bad = await runCli(['render', clips, '--out-dir', join(dir, 'never'), '--max-concurrent', '0']);
    expect(bad.code).toBe(2);
    expect(expectOneLineError(bad, 'INVALID_OPTION')).toBe(
      'stickerkey: Expected integer between 1 and 64 for render.max-concurrent but received 0 [INVALID_OPTION]',
    );
    const badEffect = await runCli(['render', clips, '--out-dir', join(dir, 'never'), '--set', 'drop-shadow.opacity=150']);
    expect(badEffect.code).toBe(2);
    expectOneLineError(badEffect, 'INVALID_OPTION');
    expect(await readdir(join(dir, 'never')).catch(() => 'absent')).toBe('absent');

    const many = await runCli(['render', join(clips, 'a.mp4'), join(clips, 'b.mp4'), '-o', join(dir, 'x.webm')]);
    expect(many.code).toBe(2);
    expect(expectOneLineError(many, 'USAGE')).toMatch(/2 inputs need --out-dir <dir>/);
  });
});
