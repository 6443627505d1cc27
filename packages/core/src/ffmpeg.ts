/**
 * Which ffmpeg and ffprobe every child of ours runs, and the one module that may import fluent-ffmpeg.
 *
 * Resolution, in this order:
 *   1. FFMPEG_PATH / FFPROBE_PATH: the operator's choice, used as given once it runs (what it
 *      lacks is reported, not refused). One that does not exist or does not run is refused with
 *      INVALID_OPTION naming the variable, before any job starts, not as a crash inside one.
 *   2. the first `ffmpeg` on PATH that qualifies (FFMPEG_REQUIREMENTS: FFmpeg 4.4 or newer,
 *      libvpx-vp9 that encodes yuva420p, prores_ks, libx264, palettegen/paletteuse).
 *   3. the static build bundled by @ffmpeg-installer, so that a bare machine still works. It is
 *      a 2018 build ("N-47683"): its VP9 encoder costs several times the CPU of a current one
 *      (BUNDLED_VP9_COST) and it parses untrusted uploads with 2018's decoders; `slow` says so.
 * ffprobe comes from the same place as ffmpeg where there is one (beside it); when it cannot,
 * `warnings` says where it came from instead, so a mixed pair is never silent.
 *
 * Qualifying a binary means running it (-encoders, -filters, -h encoder=libvpx-vp9, ffprobe
 * -version: about 0.1 s each for a dynamically linked build), so the answer is cached per process
 * and handed to worker threads and child processes through STICKERKEY_FFMPEG_RESOLVED, keyed by
 * the variables it came from and the binaries' size and mtime: a job thread or a bench child
 * does not pay for it again, and a changed PATH or an upgraded ffmpeg is noticed.
 * fluent-ffmpeg (archived upstream) is imported here or nowhere, so replacing it is a one-file
 * change; no caller needs its command builder today (children go through spawnFfmpeg).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { gifDisposals, GIF_DISPOSE_TO_BACKGROUND } from './animation.js';
import { InvalidOptionError } from './errors.js';

const require = createRequire(import.meta.url);

export type FfmpegSource = 'env' | 'path' | 'bundled';

/** What an ffmpeg must have for every output format we write (see encode.ts's encoderArgs). */
export const FFMPEG_REQUIREMENTS = {
  /** FFmpeg 4.4 (April 2021), by its libavcodec: the oldest release a maintained LTS distribution ships (Ubuntu 22.04). */
  minRelease: '4.4',
  minLibavcodec: [58, 134] as readonly [number, number],
  encoders: ['libvpx-vp9', 'prores_ks', 'libx264'] as readonly string[],
  /** gif: one palette per frame. */
  filters: ['palettegen', 'paletteuse'] as readonly string[],
  /** webm keeps its alpha plane only if libvpx-vp9 takes this pixel format. */
  vp9AlphaPixelFormat: 'yuva420p',
} as const;

/**
 * The bundled build's VP9 cost, measured on this project's 2-core machine: the same 60 keyed 1080p
 * RGBA frames (the fixture character, screen made transparent) encoded from a raw file by each
 * binary with encoderArgs('webm'), user+sys CPU from /usr/bin/time, two rounds interleaved:
 * 30.6 and 30.0 s on the bundled build against 14.5 and 14.8 s on Debian 12's ffmpeg 5.1, files of
 * 800 KB against 531 KB. With `-deadline realtime -cpu-used 6` (one round): 26.5 s against 5.5 s.
 */
export const BUNDLED_VP9_COST = {
  /** CPU seconds on the bundled build ÷ on the reference, with encoderArgs('webm') (good, cpu-used 4). */
  ratio: 2.1,
  /** Output bytes, same ratio. */
  bytesRatio: 1.5,
  /** CPU ratio at realtime cpu-used 6: the bundled build barely speeds up (its alpha encoder ignores cpu-used). */
  realtimeRatio: 4.8,
  reference: "Debian 12's ffmpeg 5.1",
} as const;

export interface FfprobeInfo {
  path: string;
  version: string;
  source: FfmpegSource;
}

export interface FfmpegInfo {
  /** The ffmpeg binary every child runs. */
  path: string;
  /** As the binary prints it: `5.1.9-0+deb12u1`, `N-47683-g0e8eb07980-static`. */
  version: string;
  source: FfmpegSource;
  /** libavcodec's version, `59.37.100`: comparable across release and git builds. */
  libavcodec: string;
  ffprobe: FfprobeInfo;
  /** Of FFMPEG_REQUIREMENTS.encoders (libvpx-vp9 counts as found only if it encodes yuva420p). */
  encoders: { found: string[]; missing: string[] };
  filters: { found: string[]; missing: string[] };
  /** Of zscale, tonemap and colorspace: what colour.ts may use for HDR and wide-gamut sources. */
  optionalFilters: string[];
  /** Of OPTIONAL_ENCODERS' encoders (libwebp_anim, apng): which output formats beyond the required ones this build writes. */
  optionalEncoders: string[];
  /**
   * Whether its GIF encoder clears a translucent frame before the next (disposal "restore to
   * background"), found by encoding two tiny frames: FFmpeg 5.1 does; the bundled 2018 build leaves
   * every frame in place, so each frame would show all earlier ones through its transparent pixels.
   * encode.ts then writes whole frames and sets their disposal itself.
   */
  gifDisposesTranslucentFrames: boolean;
  /** Meets every requirement (version, encoders, filters). */
  qualifies: boolean;
  /** The bundled 2018 build, or one as old: VP9 several times slower, 2018's decoders. */
  slow: boolean;
  /** For an operator: slow build, what is missing, an ffprobe not from beside ffmpeg. */
  warnings: string[];
  /** Binaries tried and passed over (on PATH, beside ffmpeg), and why. */
  passedOver: { path: string; reason: string }[];
}

/** The part of FfmpegInfo a job result or a report carries: which binary ran. */
export interface FfmpegIdentity {
  path: string;
  version: string;
  source: FfmpegSource;
}

const EXE = process.platform === 'win32' ? '.exe' : '';
const CACHE_VAR = 'STICKERKEY_FFMPEG_RESOLVED';
/** A binary that does not answer `-encoders` in this long is not one we can use. */
const QUERY_TIMEOUT_MS = 20_000;

/** The static builds installed by @ffmpeg-installer and @ffprobe-installer: the fallback. */
export function bundledBinaries(): { ffmpeg: string; ffprobe: string } {
  return {
    ffmpeg: (require('@ffmpeg-installer/ffmpeg') as { path: string }).path,
    ffprobe: (require('@ffprobe-installer/ffprobe') as { path: string }).path,
  };
}

// ---------------------------------------------------------------------------------------------
// Asking a binary what it is.

interface Inspection {
  version: string;
  libavcodec: [number, number, number] | undefined;
  encoders: { found: string[]; missing: string[] };
  filters: { found: string[]; missing: string[] };
  optionalFilters: string[];
  optionalEncoders: string[];
}

/** Filters some inputs need and a build may lack (colour.ts: HDR tone-mapping, wide gamut). */
const OPTIONAL_FILTERS = ['zscale', 'tonemap', 'colorspace'] as const;

/**
 * Encoders some output formats need and a build may lack (a build without libwebp has no
 * libwebp_anim). Their muxers (webp since FFmpeg 2.2, apng since 2.7) predate every build we run.
 * Both Debian 12's 5.1 and the bundled 2018 build have both.
 */
export const OPTIONAL_ENCODERS = { webp: 'libwebp_anim', apng: 'apng' } as const;

type Query = { ok: true; stdout: string; stderr: string } | { ok: false; why: string };

function query(path: string, args: string[]): Query {
  const run = spawnSync(path, args, { encoding: 'utf8', timeout: QUERY_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 8 << 20 });
  if (run.error) {
    const code = (run.error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      why:
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EACCES'
            ? 'not executable'
            : code === 'ETIMEDOUT'
              ? `no answer in ${QUERY_TIMEOUT_MS / 1000} s`
              : run.error.message,
    };
  }
  if (run.status !== 0) {
    const last = run.stderr.trim().split('\n').pop() ?? '';
    return { ok: false, why: `\`${args.join(' ')}\` exited with ${run.status ?? run.signal}${last ? `: ${last}` : ''}` };
  }
  return { ok: true, stdout: run.stdout, stderr: run.stderr };
}

/** The banner every ffmpeg tool prints on stderr (or stdout for -version). */
function parseBanner(text: string, tool: 'ffmpeg' | 'ffprobe'): { version?: string; libavcodec?: [number, number, number] } {
  const version = new RegExp(`^${tool} version (\\S+)`, 'm').exec(text)?.[1];
  const lib = /^\s*libavcodec\s+(\d+)\.\s*(\d+)\.\s*(\d+)/m.exec(text);
  return { version, libavcodec: lib ? [Number(lib[1]), Number(lib[2]), Number(lib[3])] : undefined };
}

/** Names from `-encoders` (` V....D libx264  ...`) or `-filters` (` ... palettegen  V->V ...`). */
function listedNames(text: string, kind: 'encoders' | 'filters'): Set<string> {
  const line = kind === 'encoders' ? /^\s*[VASFXBD.]{6}\s+(\S+)/gm : /^\s*[TSC.]{3}\s+(\S+)\s+\S*->\S*/gm;
  return new Set(Array.from(text.matchAll(line), (m) => m[1]!)); // group 1 always takes part
}

function split(wanted: readonly string[], has: (name: string) => boolean): { found: string[]; missing: string[] } {
  return { found: wanted.filter(has), missing: wanted.filter((name) => !has(name)) };
}

/** Runs `path` to learn its version, encoders and filters; a reason string when it is no usable ffmpeg. */
function inspectFfmpeg(path: string): Inspection | string {
  const encoders = query(path, ['-encoders']);
  if (!encoders.ok) return encoders.why;
  const banner = parseBanner(encoders.stderr, 'ffmpeg');
  if (!banner.version) return 'it printed no "ffmpeg version" line: not an ffmpeg';
  const encoderNames = listedNames(encoders.stdout, 'encoders');
  let vp9Alpha = false;
  if (encoderNames.has('libvpx-vp9')) {
    const help = query(path, ['-hide_banner', '-h', 'encoder=libvpx-vp9']);
    const formats = help.ok ? /Supported pixel formats:([^\n]*)/.exec(help.stdout)?.[1] : undefined;
    vp9Alpha = formats !== undefined && formats.split(/\s+/).includes(FFMPEG_REQUIREMENTS.vp9AlphaPixelFormat);
  }
  const filters = query(path, ['-hide_banner', '-filters']);
  const filterNames = filters.ok ? listedNames(filters.stdout, 'filters') : new Set<string>();
  return {
    version: banner.version,
    libavcodec: banner.libavcodec,
    encoders: split(FFMPEG_REQUIREMENTS.encoders, (name) => encoderNames.has(name) && (name !== 'libvpx-vp9' || vp9Alpha)),
    filters: split(FFMPEG_REQUIREMENTS.filters, (name) => filterNames.has(name)),
    optionalFilters: OPTIONAL_FILTERS.filter((name) => filterNames.has(name)),
    optionalEncoders: Object.values(OPTIONAL_ENCODERS).filter((name) => encoderNames.has(name)),
  };
}

/**
 * Encodes two 4x4 frames, each with one opaque pixel in a different place and the rest
 * transparent, with the GIF settings encode.ts uses, and reads the disposal each frame got.
 * False also when the trial fails (no palettegen, say): whole frames with our own disposal are
 * right for every encoder, only larger.
 */
function gifDisposesTranslucentFrames(path: string): boolean {
  const trial = join(tmpdir(), `stickerkey-gif-trial-${process.pid}-${Date.now()}.gif`);
  try {
    const run = query(path, [
      '-hide_banner',
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      "color=c=black:s=4x4:r=2:d=1,format=rgba,geq=r=255:g=255:b=255:a='255*eq(X\\,N)'",
      '-filter_complex',
      'split[a][b];[a]palettegen=reserve_transparent=1:stats_mode=single[p];[b][p]paletteuse=new=1',
      '-f',
      'gif',
      trial,
    ]);
    if (!run.ok) return false;
    const disposals = gifDisposals(trial);
    return disposals.length === 2 && disposals.every((disposal) => disposal === GIF_DISPOSE_TO_BACKGROUND);
  } catch {
    return false;
  } finally {
    rmSync(trial, { force: true });
  }
}

function inspectFfprobe(path: string): { version: string } | string {
  const run = query(path, ['-version']);
  if (!run.ok) return run.why;
  const { version } = parseBanner(run.stdout, 'ffprobe');
  return version ? { version } : 'it printed no "ffprobe version" line: not an ffprobe';
}

function tooOld(libavcodec: Inspection['libavcodec']): boolean {
  const [major, minor] = FFMPEG_REQUIREMENTS.minLibavcodec;
  return !libavcodec || libavcodec[0] < major || (libavcodec[0] === major && libavcodec[1] < minor);
}

/** Why an inspected ffmpeg does not qualify, or undefined when it does. */
function shortfall(found: Inspection): string | undefined {
  const reasons: string[] = [];
  if (tooOld(found.libavcodec)) {
    const lib = found.libavcodec ? `libavcodec ${found.libavcodec.join('.')}` : 'no libavcodec version';
    reasons.push(`FFmpeg ${found.version} (${lib}) is older than ${FFMPEG_REQUIREMENTS.minRelease}`);
  }
  for (const name of found.encoders.missing) {
    reasons.push(name === 'libvpx-vp9' ? `no libvpx-vp9 encoder that takes ${FFMPEG_REQUIREMENTS.vp9AlphaPixelFormat}` : `no ${name} encoder`);
  }
  for (const name of found.filters.missing) reasons.push(`no ${name} filter`);
  return reasons.length > 0 ? reasons.join(', ') : undefined;
}

// ---------------------------------------------------------------------------------------------
// Resolution.

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** `name` in each absolute PATH entry, in order, each real file once. Relative entries (`.`) are skipped: a job's working directory must not choose our decoder. */
function onPath(name: string, env: NodeJS.ProcessEnv): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name + EXE);
    if (!executable(candidate)) continue;
    const key = real(candidate);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(candidate);
  }
  return out;
}

/** An environment variable naming a binary: an absolute path, or a bare name looked up on PATH. */
function fromVariable(variable: 'FFMPEG_PATH' | 'FFPROBE_PATH', value: string, env: NodeJS.ProcessEnv): string {
  if (value.includes('/') || value.includes('\\')) return value;
  const found = onPath(value, env)[0];
  if (!found) throw refusal(variable, value, 'not found on PATH');
  return found;
}

function refusal(variable: 'FFMPEG_PATH' | 'FFPROBE_PATH', value: string, why: string): InvalidOptionError {
  const tool = variable === 'FFMPEG_PATH' ? 'ffmpeg' : 'ffprobe';
  return new InvalidOptionError(
    `Expected environment.${variable} to be an ${tool} executable but received ${JSON.stringify(value)}: ${why}`,
    `environment.${variable}`,
  );
}

function slowWarning(version: string, bundled: boolean): string {
  const what = bundled ? `the bundled 2018 static build (${version})` : `FFmpeg ${version}, as old as the bundled 2018 build`;
  const c = BUNDLED_VP9_COST;
  return (
    `ffmpeg is ${what}: its VP9 encoder took ${c.ratio}x the CPU of ${c.reference} for the same frames with our WebM settings ` +
    `(and wrote ${c.bytesRatio}x the bytes; ${c.realtimeRatio}x the CPU at realtime speed), and it decodes uploads with decoders that lack years of security fixes. ` +
    'Install a current ffmpeg (apt-get install ffmpeg, brew install ffmpeg) or set FFMPEG_PATH/FFPROBE_PATH.'
  );
}

export interface ResolveOptions {
  /** The fallback binaries; default bundledBinaries(). */
  bundled?: { ffmpeg: string; ffprobe: string };
}

/**
 * Resolves the binaries from `env` without any cache: what ffmpegInfo() does once per process.
 * Throws InvalidOptionError (code INVALID_OPTION) for an FFMPEG_PATH or FFPROBE_PATH that does
 * not exist or does not run.
 */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env, options: ResolveOptions = {}): FfmpegInfo {
  // Looked up only when needed: @ffmpeg-installer throws on a platform it has no build for, and
  // such a machine must still be able to use FFMPEG_PATH or PATH.
  let fallback: { ffmpeg: string; ffprobe: string } | Error | undefined = options.bundled;
  const bundled = (): { ffmpeg: string; ffprobe: string } | Error => {
    try {
      fallback ??= bundledBinaries();
    } catch (error) {
      fallback = error instanceof Error ? error : new Error(String(error));
    }
    return fallback;
  };
  const passedOver: FfmpegInfo['passedOver'] = [];
  const warnings: string[] = [];

  let path: string;
  let source: FfmpegSource;
  let found: Inspection | undefined;
  const fromEnv = env.FFMPEG_PATH?.trim();
  if (fromEnv) {
    path = fromVariable('FFMPEG_PATH', fromEnv, env);
    const inspected = inspectFfmpeg(path);
    if (typeof inspected === 'string') throw refusal('FFMPEG_PATH', fromEnv, inspected);
    found = inspected;
    source = 'env';
  } else {
    for (const candidate of onPath('ffmpeg', env)) {
      const inspected = inspectFfmpeg(candidate);
      const why = typeof inspected === 'string' ? inspected : shortfall(inspected);
      if (why === undefined && typeof inspected !== 'string') {
        found = inspected;
        path = candidate;
        break;
      }
      passedOver.push({ path: candidate, reason: why ?? 'unusable' });
    }
    source = found ? 'path' : 'bundled';
    if (!found) {
      const own = bundled();
      const inspected = own instanceof Error ? `there is none for this platform (${own.message})` : inspectFfmpeg(own.ffmpeg);
      if (typeof inspected === 'string') {
        throw new InvalidOptionError(
          `Expected a qualifying ffmpeg on PATH or the bundled build but ${passedOver.length > 0 ? 'none on PATH qualified' : 'PATH has none'} and the bundled build does not run: ${inspected}. Install ffmpeg or set FFMPEG_PATH`,
          'environment.FFMPEG_PATH',
        );
      }
      path = (own as { ffmpeg: string }).ffmpeg;
      found = inspected;
    }
  }
  path = path!;

  const own = source === 'path' ? undefined : bundled();
  const isBundled = own !== undefined && !(own instanceof Error) && real(path) === real(own.ffmpeg);
  const slow = isBundled || tooOld(found.libavcodec);
  if (slow) warnings.push(slowWarning(found.version, isBundled));
  // Too old implies slow, already said; what it lacks is said here (an FFMPEG_PATH is used as given).
  const lacks = [...found.encoders.missing.map((n) => `encoder ${n}`), ...found.filters.missing.map((n) => `filter ${n}`)];
  if (lacks.length > 0) warnings.push(`ffmpeg at ${path} lacks ${lacks.join(', ')}: jobs that need ${lacks.length > 1 ? 'them' : 'it'} will fail`);
  for (const [format, encoder] of Object.entries(OPTIONAL_ENCODERS)) {
    if (!found.optionalEncoders.includes(encoder)) warnings.push(`ffmpeg at ${path} has no ${encoder} encoder: ${format} output is refused`);
  }
  const gifDisposes = gifDisposesTranslucentFrames(path);

  const ffprobe = resolveFfprobe(env, path, source, isBundled, bundled, passedOver, warnings);
  return {
    path,
    version: found.version,
    source,
    libavcodec: found.libavcodec?.join('.') ?? 'unknown',
    ffprobe,
    encoders: found.encoders,
    filters: found.filters,
    optionalFilters: found.optionalFilters,
    optionalEncoders: found.optionalEncoders,
    gifDisposesTranslucentFrames: gifDisposes,
    qualifies: shortfall(found) === undefined,
    slow,
    warnings,
    passedOver,
  };
}

/**
 * ffprobe from the same place as ffmpeg: FFPROBE_PATH; else beside ffmpeg (or beside the file a
 * symlinked ffmpeg points to); else, for the bundled ffmpeg, the bundled ffprobe; else the first
 * ffprobe on PATH, else the bundled one, each of these last two with a warning.
 */
function resolveFfprobe(
  env: NodeJS.ProcessEnv,
  ffmpegPath: string,
  ffmpegSource: FfmpegSource,
  ffmpegIsBundled: boolean,
  bundled: () => { ffmpeg: string; ffprobe: string } | Error,
  passedOver: FfmpegInfo['passedOver'],
  warnings: string[],
): FfprobeInfo {
  const fromEnv = env.FFPROBE_PATH?.trim();
  if (fromEnv) {
    const path = fromVariable('FFPROBE_PATH', fromEnv, env);
    const inspected = inspectFfprobe(path);
    if (typeof inspected === 'string') throw refusal('FFPROBE_PATH', fromEnv, inspected);
    return { path, version: inspected.version, source: 'env' };
  }
  const tryOne = (path: string): { version: string } | undefined => {
    const inspected = inspectFfprobe(path);
    if (typeof inspected !== 'string') return inspected;
    passedOver.push({ path, reason: inspected });
    return undefined;
  };
  if (ffmpegIsBundled) {
    const { ffprobe } = bundled() as { ffprobe: string }; // the bundled ffmpeg was found, so the lookup worked
    const own = tryOne(ffprobe);
    if (own) return { path: ffprobe, version: own.version, source: 'bundled' };
  }
  const beside = [...new Set([join(dirname(ffmpegPath), `ffprobe${EXE}`), join(dirname(real(ffmpegPath)), `ffprobe${EXE}`)])];
  for (const path of beside) {
    if (!executable(path)) continue;
    const own = tryOne(path);
    if (own) return { path, version: own.version, source: ffmpegSource };
  }
  for (const path of onPath('ffprobe', env)) {
    const other = tryOne(path);
    if (other) {
      warnings.push(`ffprobe comes from PATH (${path}, ${other.version}), not from beside ffmpeg at ${ffmpegPath}; set FFPROBE_PATH to choose`);
      return { path, version: other.version, source: 'path' };
    }
  }
  const last = bundled();
  const fallback = last instanceof Error ? undefined : tryOne(last.ffprobe);
  if (last instanceof Error || !fallback) {
    throw new InvalidOptionError(
      `Expected an ffprobe beside ${ffmpegPath}, on PATH or bundled, but none runs. Install ffmpeg (it ships ffprobe) or set FFPROBE_PATH`,
      'environment.FFPROBE_PATH',
    );
  }
  warnings.push(`ffprobe is the bundled build (${fallback.version}): none beside ffmpeg at ${ffmpegPath} and none on PATH; set FFPROBE_PATH to choose`);
  return { path: last.ffprobe, version: fallback.version, source: 'bundled' };
}

// ---------------------------------------------------------------------------------------------
// The cached answer every caller uses.

interface CacheEntry {
  key: string;
  info: FfmpegInfo;
}

function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Bumped whenever FfmpegInfo gains a field: an answer cached by an older stickerkey is then asked again. */
const CACHE_SCHEMA = 2;

function cacheKey(env: NodeJS.ProcessEnv, info: Pick<FfmpegInfo, 'path' | 'ffprobe'>): string {
  // Every ffmpeg on PATH is part of the key, not only the one chosen: one installed later in an
  // earlier directory (CI installs Debian's after a first look) must be found, not hidden by a cache.
  const candidates = (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => isAbsolute(dir))
    .map((dir) => fileStamp(join(dir, `ffmpeg${EXE}`)));
  return JSON.stringify([
    CACHE_SCHEMA,
    env.FFMPEG_PATH ?? '',
    env.FFPROBE_PATH ?? '',
    env.PATH ?? '',
    fileStamp(info.path),
    fileStamp(info.ffprobe.path),
    candidates,
  ]);
}

/**
 * The answer is also kept in a file, keyed like the inherited one: inspecting a binary costs about
 * half a second of CPU (four ffmpeg runs that each load a couple of hundred shared libraries), which
 * every CLI run and every bench child would otherwise pay before its first frame. One file per
 * environment (the variables that choose the binary): with one file for all, runs with another
 * PATH (pnpm puts node_modules/.bin first; a test sets FFMPEG_PATH) overwrote each other's answer,
 * and a CLI job measured 1.9 s of set-up inspecting ffmpeg again.
 */
function diskCachePath(env: NodeJS.ProcessEnv): string {
  const user = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  const chooser = createHash('sha1')
    .update(JSON.stringify([env.FFMPEG_PATH ?? '', env.FFPROBE_PATH ?? '', env.PATH ?? '']))
    .digest('hex');
  return join(tmpdir(), `stickerkey-ffmpeg-${user}-${chooser.slice(0, 16)}.json`);
}

function fromDiskCache(env: NodeJS.ProcessEnv): FfmpegInfo | undefined {
  try {
    const entry = JSON.parse(readFileSync(diskCachePath(env), 'utf8')) as CacheEntry;
    return entry.info && entry.key === cacheKey(env, entry.info) ? entry.info : undefined;
  } catch {
    return undefined;
  }
}

function toDiskCache(env: NodeJS.ProcessEnv, entry: CacheEntry): void {
  const path = diskCachePath(env);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    // Written whole under a temp name, then renamed: a reader never sees half a file.
    writeFileSync(temp, JSON.stringify(entry));
    renameSync(temp, path);
  } catch {
    // A read-only or full temp dir only costs the next process the inspection.
    rmSync(temp, { force: true });
  }
}

function fromInheritedCache(env: NodeJS.ProcessEnv): FfmpegInfo | undefined {
  const text = env[CACHE_VAR];
  if (!text) return undefined;
  try {
    const entry = JSON.parse(text) as CacheEntry;
    return entry.info && entry.key === cacheKey(env, entry.info) ? entry.info : undefined;
  } catch {
    return undefined;
  }
}

let resolved: FfmpegInfo | undefined;

/**
 * The ffmpeg and ffprobe this process runs, with where they came from and what they can do.
 * Resolved once (synchronously: a few short `ffmpeg -encoders`-style runs) and cached.
 */
export function ffmpegInfo(): FfmpegInfo {
  if (resolved) return resolved;
  let info = fromInheritedCache(process.env) ?? fromDiskCache(process.env);
  if (!info) {
    info = resolveFfmpeg(process.env);
    toDiskCache(process.env, { key: cacheKey(process.env, info), info });
  }
  process.env[CACHE_VAR] = JSON.stringify({ key: cacheKey(process.env, info), info } satisfies CacheEntry);
  resolved = info;
  return info;
}

/** Which binary ran, for a job result, a report or a start-up line. */
export function ffmpegIdentity(): FfmpegIdentity {
  const { path, version, source } = ffmpegInfo();
  return { path, version, source };
}

/** One line for a start-up log: `ffmpeg 5.1.9-0+deb12u1 (path: /usr/bin/ffmpeg)`, plus a warning when slow. */
export function ffmpegStartupLine(info: FfmpegInfo = ffmpegInfo()): string {
  // ffprobe is named only when it does not come from the same place as ffmpeg.
  const paired = info.ffprobe.source === info.source && (info.source !== 'path' || dirname(info.ffprobe.path) === dirname(info.path));
  const probe = paired ? '' : `, ffprobe ${info.ffprobe.version} (${info.ffprobe.source}: ${info.ffprobe.path})`;
  const slow = info.slow ? ` [SLOW: VP9 takes ${BUNDLED_VP9_COST.ratio}x the CPU of a current ffmpeg; see \`stickerkey doctor\`]` : '';
  return `ffmpeg ${info.version} (${info.source}: ${info.path})${probe}${slow}`;
}

/** Forget the cached answer (tests; an operator who just installed ffmpeg in a long-lived process). */
export function resetFfmpegResolution(): void {
  resolved = undefined;
  delete process.env[CACHE_VAR];
}

export function ffmpegBinary(): string {
  return ffmpegInfo().path;
}

export function ffprobeBinary(): string {
  return ffmpegInfo().ffprobe.path;
}
