/**
 * The built CLI end to end: real ffmpeg, real files, spawned as users run it (`node dist/cli.js`).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictJobMemory, probe } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { effectNames } from '../src/stages.js';
import { MEMORY_LINE, alive, descendants, expectOneLineError, finished, processesMentioning, runCli, startCli } from './helpers.js';

let dir: string;
let clip: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-cli-'));
  clip = (await ensureFixture({ screen: 'green', height: 360, seconds: 2 })).video;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('stickerkey render', () => {
  it('renders the 360p fixture to WebM with alpha, logs memory in the seed format and prints a summary', async () => {
    const output = join(dir, 'sticker.webm');
    const run = await runCli(['render', clip, '-o', output, '--preset', 'sticker', '--posterize', '12', '--job-id', '42']);
    expect(run.stderr).not.toMatch(/stickerkey: /);
    expect(run.code).toBe(0);
    const memory = run.stderr.split('\n').filter((line) => line.includes('💾'));
    expect(memory.length).toBeGreaterThan(0);
    for (const line of memory) expect(line).toMatch(MEMORY_LINE);
    expect(memory[0]).toMatch(/^JOB #42: 💾 Memory Usage at start: /u);
    expect(run.stderr).toMatch(/^progress: frame \d+\/\d+ \(100%\)/m);
    expect(run.stdout).toMatch(/^Rendered \d+ frames .* in [\d.]+ s: [\d.]+ fps$/m);
    expect(run.stdout).toMatch(/^ {2}peak memory: [\d.]+ MB process RSS, [\d.]+ MB tree RSS/m);
    expect(run.stdout).toContain(`output: ${output} (webm, `);
    const out = await probe(output);
    expect(out.codec).toBe('vp9');
    expect(out.hasAlpha).toBe(true);
  });

  it('writes an animated GIF with --format gif, and --json gives the result', async () => {
    const output = join(dir, 'sticker.gif');
    const run = await runCli(['render', clip, '-o', output, '--format', 'gif', '--posterize', '8', '--json', '-q']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { output: string; format: string; frames: number; outputBytes: number; peakTreeRss: number };
    expect(result.output).toBe(output);
    expect(result.format).toBe('gif');
    expect(result.outputBytes).toBe((await stat(output)).size);
    expect(result.peakTreeRss).toBeGreaterThan(0);
    expect((await probe(output)).codec).toBe('gif');
  });

  it('takes a YAML job file, with flags laid over it', async () => {
    const job = join(dir, 'job.yaml');
    await writeFile(
      job,
      [`input: ${JSON.stringify(clip)}`, 'output: from-job/out.webm', 'posterize: 8', 'preset: sticker', 'effects:', '  drop-shadow: false', ''].join('\n'),
    );
    const run = await runCli(['render', '--job', job, '--posterize', '12', '--json', '-q']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { output: string; fps: number; job: { posterize: number; effects: Record<string, unknown> } };
    expect(result.output).toBe(join(dir, 'from-job', 'out.webm'));
    expect(result.job.posterize).toBe(12);
    expect(result.job.effects['drop-shadow']).toBe(false);
    expect(existsSync(result.output)).toBe(true);
  });
});

describe('bad input: one line on stderr with the code, no stack trace, no output', () => {
  it('a job predicted above --memory-budget is refused after the probe; --fit-memory renders it smaller instead', async () => {
    const refusedOut = join(dir, 'over-budget.mp4');
    const refused = await runCli(['render', clip, '-o', refusedOut, '--preset', 'none', '--memory-budget', '200']);
    expect(refused.code).toBe(1);
    expect(expectOneLineError(refused, 'LIMIT_EXCEEDED')).toMatch(
      /^stickerkey: Expected a predicted peak of at most 200 MB for .* but this job needs about \d+ MB \(640x360 canvas, mp4\); use fitMemory \(--fit-memory\) to scale it down/,
    );
    expect(existsSync(refusedOut)).toBe(false);

    // A budget that fits 480x270 but not the full 640x360 (the CLI renders on its main thread).
    const fits = predictJobMemory({ width: 640, height: 360 }, [], 'mp4', { inThread: false, size: { width: 480, height: 270 } }).peakBytes;
    const budgetMb = String(Math.ceil(fits / (1024 * 1024)));
    const output = join(dir, 'fitted.mp4');
    const run = await runCli(['render', clip, '-o', output, '--preset', 'none', '--memory-budget', budgetMb, '--fit-memory', '--json', '-q']);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { width: number; height: number; scaledFrom?: { width: number; height: number } };
    expect(result.scaledFrom).toEqual({ width: 640, height: 360 });
    expect(result.width).toBeGreaterThanOrEqual(480);
    expect(result.width).toBeLessThan(640);
    const out = await probe(output);
    expect([out.width, out.height]).toEqual([result.width, result.height]);
    const summary = await runCli(['render', clip, '-o', join(dir, 'fitted-2.mp4'), '--preset', 'none', '--memory-budget', budgetMb, '--fit-memory']);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toMatch(/^Rendered \d+ frames at \d+x\d+ \(scaled down from 640x360 to fit the memory budget\) in /m);

    const bad = await runCli(['render', clip, '-o', join(dir, 'x.mp4'), '--memory-budget', 'lots']);
    expect(bad.code).toBe(2);
    expect(expectOneLineError(bad, 'INVALID_OPTION')).toContain(
      'Expected number between 64 and 1048576 for render.memory-budget but received "lots" of type string',
    );
  });

  it('a missing input file', async () => {
    const output = join(dir, 'missing.webm');
    const run = await runCli(['render', join(dir, 'does-not-exist.mp4'), '-o', output]);
    expect(run.code).not.toBe(0);
    expect(expectOneLineError(run, 'UNSUPPORTED_INPUT')).toContain('does-not-exist.mp4');
    expect(existsSync(output)).toBe(false);
  });

  it('a text file renamed .mp4', async () => {
    const fake = join(dir, 'notes.mp4');
    await writeFile(fake, 'these are my notes, not a video\n'.repeat(20));
    const run = await runCli(['render', fake, '-o', join(dir, 'notes.webm')]);
    expect(run.code).not.toBe(0);
    expectOneLineError(run, 'UNSUPPORTED_INPUT');
    expect(existsSync(join(dir, 'notes.webm'))).toBe(false);
  });

  it('an option value out of range, refused before the input is even looked at', async () => {
    // The input does not exist either: the option must be what is reported, proving no work started.
    const run = await runCli(['render', join(dir, 'nothing-here.mp4'), '-o', join(dir, 'x.webm'), '--set', 'drop-shadow.opacity=150']);
    expect(run.code).toBe(2);
    const line = expectOneLineError(run, 'INVALID_OPTION');
    expect(line).toMatch(/drop-shadow\.opacity/);
    expect(line).toMatch(/between \S+ and \S+/);
    expect(line).toMatch(/received 150/);
  });

  it('an unknown effect, from --set, a job file or --no-<effect>', async () => {
    const viaSet = await runCli(['render', clip, '-o', join(dir, 'x.webm'), '--set', 'sparkles.amount=3']);
    expect(viaSet.code).toBe(2);
    expect(expectOneLineError(viaSet, 'INVALID_OPTION')).toMatch(/Unknown effect sparkles; expected one of .*drop-shadow/);

    const job = join(dir, 'unknown-effect.json');
    await writeFile(job, JSON.stringify({ input: clip, output: join(dir, 'x.webm'), effects: { sparkles: { amount: 3 } } }));
    const viaFile = await runCli(['render', '--job', job]);
    expect(viaFile.code).toBe(2);
    expect(expectOneLineError(viaFile, 'INVALID_OPTION')).toMatch(/Unknown effect sparkles/);

    const viaSwitch = await runCli(['render', clip, '-o', join(dir, 'x.webm'), '--no-sparkles']);
    expect(viaSwitch.code).toBe(2);
    expect(expectOneLineError(viaSwitch, 'USAGE')).toMatch(/unknown option '--no-sparkles'/);
    expect(existsSync(join(dir, 'x.webm'))).toBe(false);
  });

  it('a bad --speed, refused before the input is looked at', async () => {
    const run = await runCli(['render', join(dir, 'nothing-here.mp4'), '-o', join(dir, 'x.webm'), '--speed', 'turbo']);
    expect(run.code).toBe(2);
    expect(expectOneLineError(run, 'INVALID_OPTION')).toContain('Expected one of fast, balanced, small for job.speed but received "turbo"');
  });

  it('a bad format and a malformed job file', async () => {
    const format = await runCli(['render', clip, '-o', join(dir, 'x.webm'), '--format', 'avi']);
    expect(expectOneLineError(format, 'INVALID_OPTION')).toContain('Expected one of webm, mov, gif, mp4, webp, apng for job.format but received "avi"');
    const job = join(dir, 'broken.yaml');
    await writeFile(job, 'input: [unclosed\n');
    const broken = await runCli(['render', '--job', job]);
    expect(expectOneLineError(broken, 'INVALID_OPTION')).toMatch(/is not valid YAML/);
  });

  it('prints the stack only when asked with --debug', async () => {
    const run = await runCli(['render', join(dir, 'does-not-exist.mp4'), '-o', join(dir, 'y.webm'), '--debug']);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')[0]).toMatch(/\[UNSUPPORTED_INPUT\]$/);
    expect(run.stderr).toMatch(/\n\s+at /);
  });
});

describe('stickerkey effects', () => {
  it('lists every effect with its option table', async () => {
    const run = await runCli(['effects']);
    expect(run.code).toBe(0);
    for (const name of effectNames()) expect(run.stdout).toMatch(new RegExp(`^${name}: `, 'm'));
    // describeOptions lines: `name  type min..max (default x)  help`, indented under their effect.
    expect(run.stdout).toMatch(/^ {4}opacity {2}number \d+\.\.\d+.*\(default [^)]+\)/m);
  });
});

describe('Ctrl-C', () => {
  it('aborts mid-render: exit 130, no output, no temp file, no ffmpeg left', async () => {
    const long = (await ensureFixture({ screen: 'green', height: 360, seconds: 6 })).video;
    const outDir = await mkdtemp(join(dir, 'sigint-'));
    const output = join(outDir, 'cancelled.webm');
    // No posterize and every effect: the slowest path, so the signal surely lands mid-clip.
    const child = startCli(['render', long, '-o', output, '--preset', 'sticker']);
    const done = finished(child);
    let stderr = '';
    const children = await new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no progress seen:\n${stderr}`));
      }, 90_000);
      child.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        // Wait for frames to be flowing (decoder and encoder both up), not yet at the end.
        const match = [...stderr.matchAll(/progress: frame (\d+)\/(\d+)/g)].at(-1);
        if (match && Number(match[1]) > 0 && Number(match[1]) < Number(match[2])) {
          clearTimeout(timer);
          resolve(descendants(child.pid!));
        }
      });
    });
    expect(children.length).toBeGreaterThan(0); // the ffmpeg decoder and encoder were running
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/^stickerkey: Interrupted by SIGINT.*\[CANCELLED\]$/);
    expect(await readdir(outDir)).toEqual([]);
    for (const pid of children) expect(alive(pid)).toBe(false);
    expect(processesMentioning(outDir)).toEqual([]);
  });
});
