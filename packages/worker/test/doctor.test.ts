/**
 * `stickerkey doctor` and the start-up line of `render`, through the built CLI, on real binaries:
 * the bundled build (chosen with FFMPEG_PATH), whatever this machine resolves to, a broken
 * FFMPEG_PATH, and a script standing for an ffmpeg built without libvpx (a fixture of a
 * non-qualifying binary: what is under test is how doctor reports it).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_VP9_COST, bundledBinaries, resetFfmpegResolution, resolveFfmpeg, type FfmpegInfo } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { loadQueueConfig } from '../src/queue-config.js';
import { createQueueWorker } from '../src/queue-worker.js';
import { expectOneLineError, runCli } from './helpers.js';

const bundled = bundledBinaries();
/** The environment with no choice made: resolution from PATH, nothing inherited from this process. */
const clean = (): NodeJS.ProcessEnv => ({ FFMPEG_PATH: '', FFPROBE_PATH: '', STICKERKEY_FFMPEG_RESOLVED: '' });
const onBundled = { FFMPEG_PATH: bundled.ffmpeg, FFPROBE_PATH: bundled.ffprobe, STICKERKEY_FFMPEG_RESOLVED: '' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-doctor-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('stickerkey doctor', () => {
  it('on the bundled build: says where it came from, warns with the measured cost, exits 1', async () => {
    const run = await runCli(['doctor'], { env: onBundled });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^ffmpeg {4}N-47683-\S+ \(libavcodec 58\.42\.100\), from FFMPEG_PATH$/);
    expect(lines[1]!.trim()).toBe(bundled.ffmpeg);
    expect(lines[3]!.trim()).toBe(bundled.ffprobe);
    expect(run.stdout).toContain('encoders  found: libvpx-vp9, prores_ks, libx264 (libvpx-vp9 encodes yuva420p); missing: none\n');
    expect(run.stdout).toContain('filters   found: palettegen, paletteuse; missing: none\n');
    // Both animated-image encoders, but a GIF encoder that leaves frames in place (stickerkey disposes them).
    expect(run.stdout).toContain(
      'formats   webp yes (libwebp_anim), apng yes (apng); gif frames written whole and disposed by stickerkey (the encoder leaves them in place)\n',
    );
    expect(run.stdout).toContain(`warning: ffmpeg is the bundled 2018 static build (`);
    expect(run.stdout).toContain(`its VP9 encoder took ${BUNDLED_VP9_COST.ratio}x the CPU of Debian 12's ffmpeg 5.1`);
    expect(lines.at(-2)).toBe('slow: jobs run, but on the slow fallback (see the warning above).');
  });

  it('--json gives the same facts for scripts', async () => {
    const run = await runCli(['doctor', '--json'], { env: onBundled });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { ok: boolean; exitCode: number; ffmpeg: FfmpegInfo };
    expect(report).toMatchObject({
      ok: false,
      exitCode: 1,
      ffmpeg: { path: bundled.ffmpeg, source: 'env', slow: true, qualifies: false, ffprobe: { path: bundled.ffprobe, source: 'env' } },
    });
    expect(report.ffmpeg.encoders.missing).toEqual([]);
    expect(report.ffmpeg.warnings).toHaveLength(1);
  });

  it("reports this machine's own resolution, exiting 0 exactly when it is the fast path", async () => {
    const env = { ...process.env, ...clean() };
    const expected = resolveFfmpeg(env);
    const run = await runCli(['doctor', '--json'], { env: clean() });
    const report = JSON.parse(run.stdout) as { ok: boolean; exitCode: number; ffmpeg: FfmpegInfo };
    expect(report.ffmpeg).toEqual(expected);
    expect(run.code).toBe(expected.qualifies ? 0 : 1);
    expect(report.ok).toBe(expected.qualifies);
    const text = await runCli(['doctor'], { env: clean() });
    expect(text.code).toBe(run.code);
    expect(text.stdout.split('\n').at(-2)).toMatch(expected.qualifies ? /^ok: the fast path\. FFmpeg .* from PATH has every encoder/ : /^slow: /);
  });

  it('names what an FFMPEG_PATH lacks and exits 1', async () => {
    const fake = join(dir, 'ffmpeg');
    writeFileSync(
      fake,
      `#!/bin/sh
case "$*" in
  *-encoders*) printf 'ffmpeg version 6.1.1\\n  libavcodec     60. 31.102 / 60. 31.102\\n' >&2; printf ' V....D libx264    H.264\\n VFS... prores_ks  ProRes\\n' ;;
  *-filters*) printf ' ... palettegen  V->V  palette\\n ... paletteuse  VV->V  palette\\n' ;;
esac
`,
    );
    chmodSync(fake, 0o755);
    const run = await runCli(['doctor'], { env: { ...clean(), FFMPEG_PATH: fake } });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('encoders  found: prores_ks, libx264; missing: libvpx-vp9\n');
    expect(run.stdout).toContain(`warning: ffmpeg at ${fake} lacks encoder libvpx-vp9: jobs that need it will fail\n`);
    expect(run.stdout).toContain('incomplete: jobs run, but the ones that need what is missing will fail.');
  });

  it('refuses a broken FFMPEG_PATH with one line naming it, exit 2 (and JSON with --json)', async () => {
    const run = await runCli(['doctor'], { env: { ...clean(), FFMPEG_PATH: '/nonexistent/ffmpeg' } });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(expectOneLineError(run, 'INVALID_OPTION')).toBe(
      'stickerkey: Expected environment.FFMPEG_PATH to be an ffmpeg executable but received "/nonexistent/ffmpeg": no such file [INVALID_OPTION]',
    );
    const json = await runCli(['doctor', '--json'], { env: { ...clean(), FFMPEG_PATH: '/nonexistent/ffmpeg' } });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: 2, error: { code: 'INVALID_OPTION' } });
  });
});

describe('stickerkey render says which ffmpeg ran', () => {
  it('in one start-up line and in the --json result', async () => {
    const clip = (await ensureFixture({ screen: 'green', height: 360, seconds: 2 })).video;
    const output = join(dir, 'which.webm');
    const run = await runCli(['render', clip, '-o', output, '--preset', 'key', '--posterize', '8', '--json'], { env: onBundled });
    expect(run.code).toBe(0);
    const first = run.stderr.split('\n')[0];
    expect(first).toBe(
      `ffmpeg ${resolveFfmpeg(onBundled).version} (env: ${bundled.ffmpeg}) [SLOW: VP9 takes ${BUNDLED_VP9_COST.ratio}x the CPU of a current ffmpeg; see \`stickerkey doctor\`]`,
    );
    expect(run.stderr.split('\n').filter((line) => line.startsWith('ffmpeg '))).toHaveLength(1);
    const result = JSON.parse(run.stdout) as { ffmpeg: { path: string; version: string; source: string } };
    expect(result.ffmpeg).toEqual({ path: bundled.ffmpeg, version: resolveFfmpeg(onBundled).version, source: 'env' });
  });

  it('refuses a broken FFMPEG_PATH before any work, as one line', async () => {
    const clip = (await ensureFixture({ screen: 'green', height: 360, seconds: 2 })).video;
    const output = join(dir, 'never.webm');
    const run = await runCli(['render', clip, '-o', output], { env: { ...clean(), FFMPEG_PATH: '/nonexistent/ffmpeg' } });
    expect(run.code).toBe(2);
    expectOneLineError(run, 'INVALID_OPTION');
  });
});

describe('the queue worker says which ffmpeg at start (real Redis)', () => {
  it('logs one ffmpeg line, and a warning with the measured cost on the bundled build', async () => {
    const saved = { FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH };
    Object.assign(process.env, onBundled);
    resetFfmpegResolution();
    const records: Array<{ level: number; msg: string; ffmpeg?: unknown }> = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n')) if (line) records.push(JSON.parse(line) as { level: number; msg: string });
        callback();
      },
    });
    const config = loadQueueConfig({ REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', QUEUE_NAME: `doctor-${process.pid}` });
    const worker = createQueueWorker(config, { logger: pino(stream), autorun: false });
    try {
      const line = records.find((r) => r.msg.startsWith('ffmpeg '));
      expect(line).toMatchObject({ level: 30, ffmpeg: { path: bundled.ffmpeg, source: 'env', slow: true } });
      expect(line!.msg).toMatch(/^ffmpeg N-47683-\S+ \(env: .*\) \[SLOW: VP9 takes [\d.]+x the CPU/);
      const warnings = records.filter((r) => r.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toContain(`its VP9 encoder took ${BUNDLED_VP9_COST.ratio}x the CPU`);
    } finally {
      await worker.close(0);
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      resetFfmpegResolution();
    }
  });
});
