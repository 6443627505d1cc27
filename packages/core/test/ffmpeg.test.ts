/**
 * Which ffmpeg runs: resolution order, qualification and the refusal of a broken FFMPEG_PATH,
 * with real binaries (the bundled build, and whatever qualifying ffmpeg this machine has on PATH).
 * The shell scripts below are fixtures of *non-qualifying* or broken binaries: what is under
 * test is our reading of what a binary says about itself, not ffmpeg.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundledBinaries,
  checkFormatAvailable,
  ffmpegIdentity,
  ffmpegInfo,
  ffmpegStartupLine,
  FFMPEG_REQUIREMENTS,
  resolveFfmpeg,
  type FfmpegInfo,
} from '../src/index.js';
import { refusal, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
const bundled = bundledBinaries();

/** An executable shell script in `folder`. */
function script(folder: string, name: string, body: string): string {
  const path = join(folder, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/**
 * An ffmpeg 6.1 built without libvpx: answers -encoders and -filters as a real one does (banner
 * on stderr, list on stdout), and appends each call to `log`.
 */
function ffmpegWithoutVp9(folder: string, log = '/dev/null'): string {
  return script(
    folder,
    'ffmpeg',
    `echo "$*" >> '${log}'
case "$*" in
  *-encoders*)
    printf 'ffmpeg version 6.1.1 Copyright (c) 2000-2023 the FFmpeg developers\\n  libavcodec     60. 31.102 / 60. 31.102\\n' >&2
    printf 'Encoders:\\n V..... = Video\\n ------\\n V....D libx264              libx264 H.264\\n VFS... prores_ks            Apple ProRes (iCodec Pro) (codec prores)\\n' ;;
  *-filters*)
    printf 'Filters:\\n ... palettegen        V->V       Find the optimal palette for a given stream.\\n ... paletteuse        VV->V      Use a palette to downsample an input video stream.\\n' ;;
  *) exit 1 ;;
esac`,
  );
}

function fakeFfprobe(folder: string): string {
  return script(folder, 'ffprobe', `printf 'ffprobe version 6.1.1 Copyright (c) 2007-2023 the FFmpeg developers\\n'`);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('resolveFfmpeg: resolution order', () => {
  it('takes FFMPEG_PATH first, even the bundled build over a qualifying ffmpeg on PATH, and pairs it with the bundled ffprobe', () => {
    const info = resolveFfmpeg({ FFMPEG_PATH: bundled.ffmpeg, PATH: process.env.PATH });
    expect(info).toMatchObject({ path: bundled.ffmpeg, source: 'env', slow: true, qualifies: false });
    expect(info.version).toMatch(/^N-47683-/);
    expect(info.libavcodec).toBe('58.42.100');
    // It has every encoder and filter we use; it is only too old.
    expect(info.encoders).toEqual({ found: ['libvpx-vp9', 'prores_ks', 'libx264'], missing: [] });
    expect(info.filters).toEqual({ found: ['palettegen', 'paletteuse'], missing: [] });
    expect(info.ffprobe).toMatchObject({ path: bundled.ffprobe, source: 'bundled' });
    expect(info.warnings).toHaveLength(1);
    expect(info.warnings[0]).toMatch(/^ffmpeg is the bundled 2018 static build \(N-47683-.*\): its VP9 encoder took [\d.]+x the CPU/);
  });

  it('passes over an ffmpeg on PATH that lacks libvpx-vp9, and falls back to the bundled build when nothing else qualifies', async () => {
    const folder = join(dir, 'no-vp9');
    await mkdir(folder);
    const fake = ffmpegWithoutVp9(folder);
    fakeFfprobe(folder);
    const info = resolveFfmpeg({ PATH: folder });
    expect(info).toMatchObject({ path: bundled.ffmpeg, source: 'bundled', slow: true, ffprobe: { path: bundled.ffprobe, source: 'bundled' } });
    expect(info.passedOver).toEqual([{ path: fake, reason: 'no libvpx-vp9 encoder that takes yuva420p' }]);
  });

  it('takes the first qualifying ffmpeg on PATH, with the ffprobe beside it; a non-qualifying one earlier on PATH changes nothing', async () => {
    const folder = join(dir, 'earlier');
    await mkdir(folder);
    const fake = ffmpegWithoutVp9(folder);
    const alone = resolveFfmpeg({ PATH: process.env.PATH });
    const behind = resolveFfmpeg({ PATH: `${folder}:${process.env.PATH}` });
    expect(behind.path).toBe(alone.path);
    expect(behind.passedOver[0]).toEqual({ path: fake, reason: 'no libvpx-vp9 encoder that takes yuva420p' });
    // CI installs Debian's ffmpeg (.ci/run), so it takes the first branch; a bare machine the second.
    if (alone.source === 'path') {
      expect(alone).toMatchObject({ qualifies: true, slow: false, warnings: [] });
      expect(alone.encoders.missing).toEqual([]);
      expect(alone.ffprobe.source).toBe('path');
      expect(alone.ffprobe.path.replace(/ffprobe$/, 'ffmpeg')).toBe(alone.path);
      expect(Number(alone.libavcodec.split('.')[0])).toBeGreaterThanOrEqual(FFMPEG_REQUIREMENTS.minLibavcodec[0]);
    } else {
      expect(alone).toMatchObject({ source: 'bundled', path: bundled.ffmpeg, slow: true });
    }
  });

  it('skips relative PATH entries: the working directory never chooses the decoder', async () => {
    const folder = join(dir, 'relative');
    await mkdir(folder);
    ffmpegWithoutVp9(folder);
    const cwd = process.cwd();
    process.chdir(folder);
    try {
      expect(resolveFfmpeg({ PATH: '.' }).passedOver).toEqual([]);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('resolveFfmpeg: an FFMPEG_PATH is used as given, and says what it lacks', () => {
  it('keeps a non-qualifying FFMPEG_PATH, warns about the missing encoder, and takes the ffprobe beside it', async () => {
    const folder = join(dir, 'env-fake');
    await mkdir(folder);
    const fake = ffmpegWithoutVp9(folder);
    const probe = fakeFfprobe(folder);
    const info = resolveFfmpeg({ FFMPEG_PATH: fake, PATH: '' });
    expect(info).toMatchObject({ path: fake, version: '6.1.1', libavcodec: '60.31.102', source: 'env', qualifies: false, slow: false });
    expect(info.encoders).toEqual({ found: ['prores_ks', 'libx264'], missing: ['libvpx-vp9'] });
    expect(info.ffprobe).toEqual({ path: probe, version: '6.1.1', source: 'env' });
    expect(info.warnings).toEqual([
      `ffmpeg at ${fake} lacks encoder libvpx-vp9: jobs that need it will fail`,
      `ffmpeg at ${fake} has no libwebp_anim encoder: webp output is refused`,
      `ffmpeg at ${fake} has no apng encoder: apng output is refused`,
    ]);
    // The animated formats it cannot write are refused before any work, naming the encoder.
    expect(info.optionalEncoders).toEqual([]);
    expect(() => checkFormatAvailable('webp', info)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTION',
        option: 'format',
        message: `Expected an ffmpeg with the libwebp_anim encoder for format webp but ffmpeg 6.1.1 at ${fake} has none: install an ffmpeg built with it (Debian's and Homebrew's are) and point FFMPEG_PATH at it, or choose another format`,
      }),
    );
    expect(() => checkFormatAvailable('apng', info)).toThrow(/apng encoder for format apng/);
    expect(() => checkFormatAvailable('gif', info)).not.toThrow();
    // Its GIF trial fails (it answers nothing but -encoders and -filters): frames are then written whole.
    expect(info.gifDisposesTranslucentFrames).toBe(false);
  });

  it("finds webp and apng, and whether GIF frames are disposed, on the bundled build and this machine's ffmpeg", () => {
    const old = resolveFfmpeg({ FFMPEG_PATH: bundled.ffmpeg, PATH: process.env.PATH });
    expect(old).toMatchObject({ optionalEncoders: ['libwebp_anim', 'apng'], gifDisposesTranslucentFrames: false });
    const current = ffmpegInfo();
    expect(current.optionalEncoders).toEqual(['libwebp_anim', 'apng']);
    // Debian 12's 5.1 here and on CI disposes translucent frames itself.
    expect(current.gifDisposesTranslucentFrames).toBe(!current.slow);
  });

  it('says so when ffprobe cannot come from beside ffmpeg', async () => {
    const folder = join(dir, 'env-no-probe');
    await mkdir(folder);
    const fake = ffmpegWithoutVp9(folder);
    const info = resolveFfmpeg({ FFMPEG_PATH: fake, PATH: '' });
    expect(info.ffprobe).toMatchObject({ path: bundled.ffprobe, source: 'bundled' });
    expect(info.warnings).toContain(
      `ffprobe is the bundled build (${info.ffprobe.version}): none beside ffmpeg at ${fake} and none on PATH; set FFPROBE_PATH to choose`,
    );
    expect(ffmpegStartupLine(info)).toBe(`ffmpeg 6.1.1 (env: ${fake}), ffprobe ${info.ffprobe.version} (bundled: ${bundled.ffprobe})`);
  });

  it('takes FFPROBE_PATH over the ffprobe beside ffmpeg', async () => {
    const folder = join(dir, 'env-probe');
    await mkdir(folder);
    fakeFfprobe(folder);
    const info = resolveFfmpeg({ FFMPEG_PATH: bundled.ffmpeg, FFPROBE_PATH: join(folder, 'ffprobe'), PATH: '' });
    expect(info.ffprobe).toEqual({ path: join(folder, 'ffprobe'), version: '6.1.1', source: 'env' });
  });
});

describe('resolveFfmpeg: a broken FFMPEG_PATH or FFPROBE_PATH is refused before any job', () => {
  const refused = (env: NodeJS.ProcessEnv) => refusal(Promise.resolve().then(() => resolveFfmpeg(env)));

  it('refuses a path that does not exist', async () => {
    const error = await refused({ FFMPEG_PATH: '/nonexistent/ffmpeg', PATH: '' });
    expect(error.code).toBe('INVALID_OPTION');
    expect(error).toMatchObject({ option: 'environment.FFMPEG_PATH' });
    expect(error.message).toBe('Expected environment.FFMPEG_PATH to be an ffmpeg executable but received "/nonexistent/ffmpeg": no such file');
  });

  it('refuses a file that is not executable, a program that is not ffmpeg, and one that fails', async () => {
    const folder = join(dir, 'broken');
    await mkdir(folder);
    const text = join(folder, 'ffmpeg.txt');
    writeFileSync(text, 'not a program');
    expect((await refused({ FFMPEG_PATH: text })).message).toBe(
      `Expected environment.FFMPEG_PATH to be an ffmpeg executable but received ${JSON.stringify(text)}: not executable`,
    );
    const silent = script(folder, 'silent', 'exit 0');
    expect((await refused({ FFMPEG_PATH: silent })).message).toBe(
      `Expected environment.FFMPEG_PATH to be an ffmpeg executable but received ${JSON.stringify(silent)}: it printed no "ffmpeg version" line: not an ffmpeg`,
    );
    const failing = script(folder, 'failing', 'echo "error while loading shared libraries: libavdevice.so.60" >&2; exit 127');
    expect((await refused({ FFMPEG_PATH: failing })).message).toBe(
      `Expected environment.FFMPEG_PATH to be an ffmpeg executable but received ${JSON.stringify(failing)}: \`-encoders\` exited with 127: error while loading shared libraries: libavdevice.so.60`,
    );
  });

  it('refuses a bare name that is not on PATH, and a broken FFPROBE_PATH, naming the variable', async () => {
    expect((await refused({ FFMPEG_PATH: 'ffmpeg-nightly', PATH: '' })).message).toBe(
      'Expected environment.FFMPEG_PATH to be an ffmpeg executable but received "ffmpeg-nightly": not found on PATH',
    );
    const error = await refused({ FFMPEG_PATH: bundled.ffmpeg, FFPROBE_PATH: '/nonexistent/ffprobe' });
    expect(error).toMatchObject({ code: 'INVALID_OPTION', option: 'environment.FFPROBE_PATH' });
    expect(error.message).toBe('Expected environment.FFPROBE_PATH to be an ffprobe executable but received "/nonexistent/ffprobe": no such file');
  });
});

describe('ffmpegInfo: once per process, handed to child processes', () => {
  it('is resolved once and cached; the identity names the same binary', () => {
    const info = ffmpegInfo();
    expect(ffmpegInfo()).toBe(info);
    expect(ffmpegIdentity()).toEqual({ path: info.path, version: info.version, source: info.source });
  });

  /** A fake ffmpeg in its own folder that logs every run, and a Node child that resolves ffmpeg under `env`. */
  async function inspectionRig(name: string) {
    const folder = join(dir, name);
    await mkdir(folder, { recursive: true });
    const log = join(folder, 'calls.log');
    writeFileSync(log, '');
    const fake = ffmpegWithoutVp9(folder, log);
    fakeFfprobe(folder);
    const core = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const child = (env: NodeJS.ProcessEnv) => {
      const code = `const m = await import(${JSON.stringify(core)}); const info = m.ffmpegInfo(); process.stdout.write(JSON.stringify({ info, cache: process.env.STICKERKEY_FFMPEG_RESOLVED }));`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      return JSON.parse(run.stdout) as { info: FfmpegInfo; cache: string };
    };
    const calls = () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length;
    return { folder, fake, child, calls };
  }

  it('a child process inherits the answer instead of running the binaries again, until a binary changes', async () => {
    const { fake, child, calls } = await inspectionRig('inherit');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, FFMPEG_PATH: fake };

    const first = child(env);
    expect(first.info.path).toBe(fake);
    const resolving = calls();
    expect(resolving).toBe(3); // -encoders, -filters (no libvpx-vp9 to ask about), the GIF disposal trial

    const second = child({ ...env, STICKERKEY_FFMPEG_RESOLVED: first.cache });
    expect(second.info).toEqual(first.info);
    expect(calls()).toBe(resolving);

    // An upgraded binary (new mtime) is asked again.
    utimesSync(fake, new Date(), new Date(Date.now() + 5000));
    child({ ...env, STICKERKEY_FFMPEG_RESOLVED: first.cache });
    expect(calls()).toBe(2 * resolving);
  });

  it('keeps the answer on disk per environment: runs with another PATH do not evict it', async () => {
    const { folder, fake, child: inspect, calls } = await inspectionRig('disk');
    const tmp = join(folder, 'tmp');
    await mkdir(tmp);
    const child = (env: NodeJS.ProcessEnv) => inspect({ ...env, TMPDIR: tmp });
    const plain: NodeJS.ProcessEnv = { PATH: process.env.PATH, FFMPEG_PATH: fake };
    // As `pnpm test` runs it: the same binaries, another PATH.
    const viaPnpm: NodeJS.ProcessEnv = { ...plain, PATH: `${join(folder, 'node_modules', '.bin')}:${process.env.PATH}` };
    child(plain);
    const once = calls();
    expect(once).toBe(3); // -encoders, -filters, the GIF disposal trial
    child(viaPnpm);
    expect(calls()).toBe(2 * once);
    // Each environment finds its own answer again: nobody inspects the binary a third time.
    child(plain);
    child(viaPnpm);
    expect(calls()).toBe(2 * once);
    expect(readdirSync(tmp).filter((name) => name.startsWith('stickerkey-ffmpeg-'))).toHaveLength(2);
  });
});
