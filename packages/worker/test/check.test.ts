/**
 * `stickerkey check` end to end, as users run it: the built CLI on real files made by ffmpeg and
 * by our own encoder; exit codes 0 (meets), 1 (breaks, every limit listed), 2 (bad target).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBinary } from '@stickerkey/core';
import { expectOneLineError, runCli } from './helpers.js';

const run = promisify(execFile);
let dir: string;
let good: string;
let bad: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-check-'));
  // A 100x100 VP9 WebM with alpha, 1 s at 12 fps: a Telegram custom emoji.
  good = join(dir, 'emoji.webm');
  // prettier-ignore
  await run(ffmpegBinary(), [
    '-v', 'error', '-y', '-f', 'lavfi',
    '-i', "color=c=black:s=100x100:r=12:d=1,format=rgba,geq=r=255:g=0:b=0:a='255*lt(abs(X-N*6-8)\\,8)'",
    '-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p', '-deadline', 'realtime', '-cpu-used', '8',
    '-metadata:s:v:0', 'alpha_mode=1',
    good,
  ]);
  // VP8 with a sound track, the wrong size, 3.5 s at 32 fps, opaque.
  bad = join(dir, 'bad.webm');
  // prettier-ignore
  await run(ffmpegBinary(), [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=120x100:r=32:d=3.5', '-f', 'lavfi',
    '-i', 'sine=d=3.5', '-c:v', 'libvpx', '-c:a', 'libopus', '-shortest', bad,
  ]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('stickerkey check', () => {
  it('exits 0 for a file that meets every limit, saying what it read', async () => {
    const result = await runCli(['check', good, '--target', 'telegram-emoji']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${good} against telegram-emoji (Telegram video custom emoji):`);
    expect(result.stdout).toMatch(/^ {2}webm \(vp9\), 100x100, 1\.\d+ s, 12\.00 fps, 12 frames, [\d,]+ bytes, see-through, no audio$/m);
    expect(result.stdout).toContain('  ✓ meets every telegram-emoji limit');
  });

  it('exits 1 listing every limit a file breaks; --json gives the same as data', async () => {
    const result = await runCli(['check', bad, '--target', 'telegram-emoji']);
    expect(result.code).toBe(1);
    const listed = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('  ✗ '))
      .map((line) => line.slice(4, line.indexOf(':')));
    expect(listed).toEqual(['codec', 'pixels', 'duration', 'fps', 'audio', 'alpha']);
    expect(result.stdout).toContain('  breaks 6 limits');

    const json = await runCli(['check', bad, '--target', 'telegram-emoji', '--json']);
    expect(json.code).toBe(1);
    const data = JSON.parse(json.stdout) as { ok: boolean; target: string; facts: { codec: string; audioStreams: number }; breaches: { limit: string }[] };
    expect(data).toMatchObject({ ok: false, target: 'telegram-emoji', facts: { codec: 'vp8', audioStreams: 1 } });
    expect(data.breaches.map((b) => b.limit)).toEqual(listed);
  });

  it('exits 2 with one line for an unknown target or none', async () => {
    const unknown = await runCli(['check', good, '--target', 'myspace']);
    expect(unknown.code).toBe(2);
    expect(expectOneLineError(unknown, 'INVALID_OPTION')).toBe(
      'stickerkey: Expected --target to be one of telegram, telegram-emoji, whatsapp, signal, discord, line, imessage, web but received "myspace" [INVALID_OPTION]',
    );
    const none = await runCli(['check', good]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("required option '--target <name>' not specified");
  });
});
