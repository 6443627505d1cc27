/**
 * checkAgainstTarget(): every way a file breaks a sticker platform's limits (platforms.ts), for
 * `stickerkey check` and for render, which runs the same check on its own output and fails rather
 * than hand over a file the platform would refuse.
 *
 * The facts come from the file itself: its container from its own header (a WebM and a Matroska
 * file are both "matroska,webm" to ffprobe; the EBML DocType tells them apart), the codec, streams
 * and timing from ffprobe (packets for a video's frame count and frame durations), the animation
 * facts ffprobe does not report (loop count, each frame's duration) from the GIF/PNG/WebP block
 * structure (animation.ts), and alpha from decoded frames as verify.ts samples them. Nothing is
 * refused for being big or odd, as probe() refuses inputs: a file that breaks limits is what the
 * checker is for.
 */
import { open, stat } from 'node:fs/promises';
import { readAnimationInfo, sniffAnimatedContainer } from './animation.js';
import { FORMAT_STREAMS, OUTPUT_FORMATS, type OutputFormat } from './encode.js';
import { LimitExceededError, UnsupportedInputError } from './errors.js';
import { PLATFORM_TARGETS, pixelRuleBreach, type PlatformTarget, type TargetName } from './platforms.js';
import { ffprobeJson, type FfprobeJson } from './probe.js';
import { hasTransparentPixels, webpHasTransparentPixels } from './verify.js';

export type CheckedLimit =
  'container' | 'codec' | 'pixels' | 'duration' | 'fps' | 'min-frame-duration' | 'frames' | 'loop' | 'bytes' | 'audio' | 'alpha' | 'palette';

export interface Breach {
  limit: CheckedLimit;
  /** What was expected and what the file has, in one sentence. */
  message: string;
  /** The platform's figure and the file's, where the limit is a number. */
  limitValue?: number;
  actual?: number;
}

/** What the checker read from a file. */
export interface FileFacts {
  path: string;
  bytes: number;
  /** From the file's header: webm, matroska, gif, png, webp, mov, mp4; else ffprobe's format name. */
  container: string;
  /** The first video stream's codec as ffprobe names it (vp9, apng, webp, gif, ...). */
  codec: string;
  /** Our format this container and codec make, if any. */
  format: OutputFormat | undefined;
  width: number;
  height: number;
  /** One pass, seconds; undefined when neither the header nor the packets say. */
  durationSeconds: number | undefined;
  /** Average frames per second over one pass. */
  fps: number | undefined;
  frames: number | undefined;
  /** The shortest time any frame shows, milliseconds. */
  minFrameMs: number | undefined;
  /** How often it plays (Infinity: forever); undefined where the file has no such field (video containers: the player decides). */
  plays: number | undefined;
  audioStreams: number;
  /** Indexed colour (GIF, palette PNG). */
  palette: boolean;
  /** Some sampled pixel is see-through. */
  alpha: boolean;
}

export interface TargetCheck {
  target: PlatformTarget;
  facts: FileFacts;
  /** Every limit the file breaks, in the order of the platform's row; empty when it meets them all. */
  breaches: Breach[];
  ok: boolean;
}

/**
 * Timestamps in milliseconds (WebM, WebP) and centiseconds (GIF) round a frame's time: a 3 s clip
 * can say 3.001 s. A limit is broken only beyond this.
 */
const DURATION_SLACK_SECONDS = 0.002;
const FPS_SLACK = 1.001;

const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];
const EBML_DOCTYPE_ID = [0x42, 0x82];

/** The container a file's first bytes name; undefined when they name none we tell apart ourselves. */
function containerFromHeader(head: Buffer): string | undefined {
  const animated = sniffAnimatedContainer(head);
  if (animated) return animated;
  if (EBML_MAGIC.every((byte, i) => head[i] === byte)) {
    // The DocType element (0x4282) sits in the EBML header, within its first few dozen bytes.
    for (let i = 4; i + 3 < head.length; i++) {
      if (head[i] !== EBML_DOCTYPE_ID[0] || head[i + 1] !== EBML_DOCTYPE_ID[1]) continue;
      const size = head[i + 2]! & 0x7f; // a one-byte EBML size: 0x80 | length
      return head.toString('latin1', i + 3, i + 3 + size);
    }
    return 'matroska';
  }
  if (head.toString('latin1', 4, 8) === 'ftyp') return head.toString('latin1', 8, 12) === 'qt  ' ? 'mov' : 'mp4';
  return undefined;
}

async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

function rate(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const [num, den] = text.split('/').map(Number);
  const value = den ? num! / den : Number(text);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** The packet fields videoTiming reads, asked for in the same ffprobe as the streams (one ffprobe start, ~0.15 s of CPU, not two). */
const PACKET_ENTRIES = ['-show_entries', 'packet=stream_index,pts_time,duration_time'];

/** A video's frames from the packets of its stream `index`: count, one pass's duration, the shortest frame. */
function videoTiming(data: FfprobeJson, index: number | undefined): { frames: number; durationSeconds: number | undefined; minFrameMs: number | undefined } {
  const packets = (data.packets ?? [])
    .filter((p) => index === undefined || p.stream_index === index)
    .map((p) => ({ pts: Number(p.pts_time), duration: Number(p.duration_time) }))
    .filter((p) => Number.isFinite(p.pts));
  packets.sort((a, b) => a.pts - b.pts);
  if (packets.length === 0) return { frames: 0, durationSeconds: undefined, minFrameMs: undefined };
  const frameSeconds = packets.map((p, i) => (i + 1 < packets.length ? packets[i + 1]!.pts - p.pts : p.duration));
  const known = frameSeconds.filter((s) => Number.isFinite(s) && s > 0);
  const last = packets.at(-1)!;
  const end = last.pts + (Number.isFinite(last.duration) ? last.duration : 0);
  return {
    frames: packets.length,
    durationSeconds: end > packets[0]!.pts ? end - packets[0]!.pts : undefined,
    minFrameMs: known.length > 0 ? Math.min(...known) * 1000 : undefined,
  };
}

/** Reads everything the checker compares with a platform's limits. Refuses (UNSUPPORTED_INPUT) a file that is missing, empty or not media at all. */
export async function readFileFacts(path: string): Promise<FileFacts> {
  let bytes: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UnsupportedInputError(`Expected a file to check but ${path} is not a file`, path);
    bytes = info.size;
  } catch (error) {
    if (error instanceof UnsupportedInputError) throw error;
    throw new UnsupportedInputError(`File to check not found: ${path}`, path, { cause: error });
  }
  if (bytes === 0) throw new UnsupportedInputError(`File to check is empty: ${path}`, path);

  // Animated images are timed from their own blocks (animation.ts); a video from its packets.
  const head = await readHead(path);
  const fromHeader = containerFromHeader(head);
  const image = fromHeader === 'gif' || fromHeader === 'png' || fromHeader === 'webp';
  let probed: FfprobeJson;
  try {
    probed = await ffprobeJson(['-show_streams', '-show_format', ...(image ? [] : PACKET_ENTRIES), path]);
  } catch (error) {
    const last = (error instanceof Error ? error.message : String(error)).trim().split('\n').at(-1);
    throw new UnsupportedInputError(`Expected an image or video file to check but ffprobe cannot read ${path}: ${last}`, path, { cause: error });
  }
  const streams = probed.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!video) throw new UnsupportedInputError(`Expected a video or animated image in ${path} but it has no picture stream`, path);
  const container = fromHeader ?? probed.format?.format_name?.split(',')[0] ?? 'unknown';
  const codec = video.codec_name ?? 'unknown';
  const format = OUTPUT_FORMATS.find((f) => FORMAT_STREAMS[f].container === container && FORMAT_STREAMS[f].codec === codec);
  const audioStreams = streams.filter((s) => s.codec_type === 'audio').length;

  if (container === 'gif' || container === 'png' || container === 'webp') {
    const info = readAnimationInfo(path);
    const durationSeconds = info.durationSeconds;
    let alpha = false;
    if (info.alphaChannel) {
      alpha =
        container === 'webp' ? await webpHasTransparentPixels(path) : await hasTransparentPixels({ path, frameCount: info.frames, hasAlpha: true, codec });
    }
    return {
      path,
      bytes,
      container,
      codec,
      format,
      width: info.width,
      height: info.height,
      durationSeconds,
      fps: durationSeconds > 0 ? info.frames / durationSeconds : undefined,
      frames: info.frames,
      minFrameMs: Math.min(...info.frameMs),
      plays: info.plays,
      audioStreams,
      palette: info.palette,
      alpha,
    };
  }

  // The same record as the animated images' above, filled from other sources (ffprobe's stream
  // and the packets' timing instead of our own reader): the fields stay side by side to compare.
  const timing = videoTiming(probed, video.index);
  const headerDuration = Number(video.duration) || Number(probed.format?.duration) || undefined;
  const durationSeconds = headerDuration ?? timing.durationSeconds;
  const pixelFormat = video.pix_fmt ?? '';
  const tags = video.tags ?? {};
  const hasAlpha = /^(yuva|rgba|bgra|argb|abgr|gbrap|ya)/.test(pixelFormat) || tags.alpha_mode === '1' || tags.ALPHA_MODE === '1';
  return {
    path,
    bytes,
    container,
    codec,
    format,
    width: video.width ?? 0,
    height: video.height ?? 0,
    durationSeconds,
    fps: rate(video.avg_frame_rate) ?? (durationSeconds ? timing.frames / durationSeconds : undefined),
    frames: timing.frames,
    minFrameMs: timing.minFrameMs,
    plays: undefined,
    audioStreams,
    palette: pixelFormat === 'pal8',
    alpha: hasAlpha ? await hasTransparentPixels({ path, frameCount: timing.frames, hasAlpha, codec }) : false,
  };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function playsText(plays: number): string {
  return plays === Infinity ? 'loops forever' : `plays ${plays === 1 ? 'once' : `${plays} times`}`;
}

/** Every way `facts` break `target`'s limits, in the order of the platform's row. */
export function targetBreaches(facts: FileFacts, target: PlatformTarget): Breach[] {
  const breaches: Breach[] = [];
  const streams = target.formats.map((f) => FORMAT_STREAMS[f]);
  const labels = streams.map((s) => s.label).join(' or ');
  if (!streams.some((s) => s.container === facts.container)) {
    breaches.push({ limit: 'container', message: `expected ${labels} but the file is ${facts.container} (${facts.codec})` });
  } else if (!streams.some((s) => s.container === facts.container && s.codec === facts.codec)) {
    const wanted = streams.filter((s) => s.container === facts.container).map((s) => s.codec);
    breaches.push({ limit: 'codec', message: `expected ${wanted.join(' or ')} in ${facts.container} but the file's video is ${facts.codec}` });
  }

  const pixels = pixelRuleBreach(target.pixels, facts.width, facts.height);
  if (pixels) breaches.push({ limit: 'pixels', message: pixels });

  if (target.maxDurationSeconds !== undefined) {
    if (facts.durationSeconds === undefined) {
      breaches.push({
        limit: 'duration',
        message: `expected at most ${target.maxDurationSeconds} s but the file does not say how long it plays`,
        limitValue: target.maxDurationSeconds,
      });
    } else if (facts.durationSeconds > target.maxDurationSeconds + DURATION_SLACK_SECONDS) {
      breaches.push({
        limit: 'duration',
        message: `expected at most ${target.maxDurationSeconds} s but the file plays ${facts.durationSeconds.toFixed(3)} s`,
        limitValue: target.maxDurationSeconds,
        actual: facts.durationSeconds,
      });
    }
  }
  if (target.maxFps !== undefined && facts.fps !== undefined && facts.fps > target.maxFps * FPS_SLACK) {
    breaches.push({
      limit: 'fps',
      message: `expected at most ${target.maxFps} fps but the file runs at ${facts.fps.toFixed(2)} fps`,
      limitValue: target.maxFps,
      actual: facts.fps,
    });
  }
  if (target.minFrameMs !== undefined && facts.minFrameMs !== undefined && facts.minFrameMs < target.minFrameMs) {
    breaches.push({
      limit: 'min-frame-duration',
      message: `expected every frame to show at least ${target.minFrameMs} ms but one shows ${Math.round(facts.minFrameMs * 10) / 10} ms`,
      limitValue: target.minFrameMs,
      actual: facts.minFrameMs,
    });
  }
  if (target.frames && facts.frames !== undefined && (facts.frames < target.frames.min || facts.frames > target.frames.max)) {
    breaches.push({
      limit: 'frames',
      message: `expected ${target.frames.min} to ${target.frames.max} frames but the file has ${facts.frames}`,
      limitValue: facts.frames < target.frames.min ? target.frames.min : target.frames.max,
      actual: facts.frames,
    });
  }

  // A video container has no loop count (the player loops it); only an image's own count is checked.
  const loop = target.loop;
  if (facts.plays !== undefined && loop.rule === 'forever' && facts.plays !== Infinity) {
    breaches.push({ limit: 'loop', message: `expected the animation to loop forever but it ${playsText(facts.plays)}`, actual: facts.plays });
  }
  if (facts.plays !== undefined && loop.rule === 'count') {
    const total = facts.plays * (facts.durationSeconds ?? 0);
    if (facts.plays < loop.min || facts.plays > loop.max) {
      breaches.push({
        limit: 'loop',
        message: `expected ${loop.min} to ${loop.max} plays but the file ${playsText(facts.plays)}`,
        limitValue: loop.max,
        actual: facts.plays,
      });
    } else if (total > loop.maxTotalSeconds + DURATION_SLACK_SECONDS) {
      breaches.push({
        limit: 'loop',
        message: `expected all plays together to last at most ${loop.maxTotalSeconds} s but ${plural(facts.plays, 'play')} of ${facts.durationSeconds!.toFixed(3)} s last ${total.toFixed(3)} s`,
        limitValue: loop.maxTotalSeconds,
        actual: total,
      });
    }
  }

  if (target.maxBytes !== undefined && facts.bytes > target.maxBytes) {
    breaches.push({
      limit: 'bytes',
      message: `expected at most ${target.maxBytes.toLocaleString('en-US')} bytes but the file has ${facts.bytes.toLocaleString('en-US')}`,
      limitValue: target.maxBytes,
      actual: facts.bytes,
    });
  }
  if (!target.audio && facts.audioStreams > 0) {
    breaches.push({
      limit: 'audio',
      message: `expected no audio but the file has ${plural(facts.audioStreams, 'audio stream')}`,
      limitValue: 0,
      actual: facts.audioStreams,
    });
  }
  if (target.alpha === 'required' && !facts.alpha) {
    breaches.push({ limit: 'alpha', message: 'expected a see-through background but every sampled frame decodes fully opaque' });
  }
  if (target.palette === 'refused' && facts.palette) {
    breaches.push({ limit: 'palette', message: 'expected full colour (RGBA) but the file is indexed colour (a palette)' });
  }
  return breaches;
}

function resolveTarget(target: TargetName | PlatformTarget): PlatformTarget {
  return typeof target === 'string' ? PLATFORM_TARGETS[target] : target;
}

/** Reads `path` and reports every way it breaks `target`'s limits. */
export async function checkAgainstTarget(path: string, target: TargetName | PlatformTarget): Promise<TargetCheck> {
  const row = resolveTarget(target);
  const facts = await readFileFacts(path);
  const breaches = targetBreaches(facts, row);
  return { target: row, facts, breaches, ok: breaches.length === 0 };
}

/**
 * checkAgainstTarget for a producer (render): throws LIMIT_EXCEEDED naming every broken limit, so
 * a file the platform would refuse is never handed over. `name` is what the message calls the file.
 */
export async function assertMeetsTarget(path: string, target: TargetName | PlatformTarget, name = path): Promise<TargetCheck> {
  const result = await checkAgainstTarget(path, target);
  const first = result.breaches[0];
  if (!first) return result;
  const list = result.breaches.map((b) => `${b.limit}: ${b.message}`).join('; ');
  throw new LimitExceededError(
    `Expected ${name} to meet ${result.target.label} limits (--target ${result.target.name}) but it breaks ${plural(result.breaches.length, 'limit')}: ${list}`,
    first.limit,
    first.limitValue ?? Number.NaN,
    first.actual ?? Number.NaN,
  );
}
