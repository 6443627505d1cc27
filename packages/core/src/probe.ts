/**
 * probe(): what a clip is, and whether we accept it, before a single frame is decoded.
 * Everything refused here is refused with a typed error, so a job never starts on a file that
 * would fail (or exhaust the container) half-way through.
 *
 * The size it reports is the UPRIGHT DISPLAY size with square pixels: the coded picture turned by
 * the display matrix (phones store portrait video landscape and say "turn 90 degrees") and
 * stretched by the sample aspect ratio. Everything downstream sizes itself from that and never
 * sees the coded size, which is kept here only so that the decoder can get from one to the other.
 *
 * A streamed file (a browser's MediaRecorder WebM, any live Matroska) has no duration and no
 * frame count in its header: both are then undefined, and the pipeline counts frames as they
 * come and enforces the limits while decoding.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { LimitExceededError, UnsupportedInputError } from './errors.js';
import { ffprobeBinary } from './ffmpeg.js';

export interface ProbeLimits {
  /** The limits are a box the upright picture must fit in either orientation (portrait 4K fits 3840x2160). */
  maxWidth: number;
  maxHeight: number;
  maxDurationSeconds: number;
  maxFrames: number;
}

export const DEFAULT_LIMITS: Readonly<ProbeLimits> = Object.freeze({
  maxWidth: 3840,
  maxHeight: 2160,
  maxDurationSeconds: 600,
  // Ten minutes at 60 fps: a frame-count ceiling that only bites on absurd frame rates.
  maxFrames: 36_000,
});

/** Colour description as the stream tags it, in ffmpeg's names; undefined where it is untagged. */
export interface ProbeColour {
  /** YCbCr matrix (`color_space`): bt709, smpte170m, bt470bg, bt2020nc, ... */
  matrix?: string;
  /** `tv` (limited, 16-235) or `pc` (full). */
  range?: 'tv' | 'pc';
  /** Transfer: bt709, smpte2084 (PQ), arib-std-b67 (HLG), ... */
  transfer?: string;
  /** Primaries: bt709, bt2020, smpte432 (Display P3), ... */
  primaries?: string;
}

export interface ProbeResult {
  path: string;
  /** Upright display width, square pixels: what every frame downstream is. */
  width: number;
  /** Upright display height, square pixels. */
  height: number;
  /** The coded picture, before rotation and pixel aspect: for the decoder only. */
  codedWidth: number;
  codedHeight: number;
  /** Clockwise degrees that turn the coded picture upright (from the display matrix or the rotate tag). */
  rotation: 0 | 90 | 180 | 270;
  /** After the rotation, the display matrix also mirrors the picture left to right (rare: front cameras). */
  mirrored: boolean;
  /** Sample (pixel) aspect ratio of the coded picture, width over height; 1 for square pixels. */
  sampleAspectRatio: number;
  colour: ProbeColour;
  /** Average frame rate of the video stream (frames over duration; VFR sources are decoded at this rate). */
  fps: number;
  /** The container's frame count, else duration x fps (an estimate); undefined when neither is known (a streamed WebM). */
  frameCount: number | undefined;
  /** Seconds; undefined when the container does not say (a streamed WebM). */
  duration: number | undefined;
  codec: string;
  pixelFormat: string;
  /** The stream carries an alpha plane (rgba/yuva formats, or VP8/VP9 with alpha_mode=1). */
  hasAlpha: boolean;
  /** The video stream's keyframes, when asked for (ProbeOptions.keyframes). */
  keyframes?: KeyframeList;
}

export interface KeyframeList {
  /** Keyframe times in seconds, ascending, relative to the start of the file (what `-ss` takes). */
  times: number[];
  /** Time of the last video packet, relative likewise: where the clip's frames end. */
  end: number;
}

export interface ProbeOptions {
  /**
   * Also list the video stream's keyframes (sampleFrames picks its samples among them), from
   * the packets, in the same ffprobe as the header: it reads the container and decodes nothing,
   * and one ffprobe start (~0.1 s of CPU with a shared-library build) is most of what a second
   * ffprobe would cost.
   */
  keyframes?: boolean;
}

function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [num, den] = rate.split(/[/:]/).map(Number);
  if (den === undefined) return Number(rate) || 0;
  if (!num || !den) return 0;
  return num / den;
}

interface FfprobeSideData {
  side_data_type?: string;
  displaymatrix?: string;
  rotation?: number | string;
}

export interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  color_range?: string;
  color_space?: string;
  color_transfer?: string;
  color_primaries?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: FfprobeSideData[];
}

export interface FfprobeJson {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string; start_time?: string };
  packets?: Array<{ stream_index?: number; pts_time?: string; duration_time?: string; flags?: string }>;
}

/** ffprobe's JSON (fluent-ffmpeg's parser reads the flat format, which drops the display matrix). */
export function ffprobeJson(args: readonly string[]): Promise<FfprobeJson> {
  return new Promise((resolve, reject) => {
    execFile(ffprobeBinary(), ['-v', 'error', '-of', 'json', ...args], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(stderr || error.message, { cause: error }));
      try {
        resolve(JSON.parse(stdout) as FfprobeJson);
      } catch (parseError) {
        reject(parseError instanceof Error ? parseError : new Error(String(parseError)));
      }
    });
  });
}

function lastLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.at(-1) ?? text;
}

/**
 * The upright transform from a display matrix, exactly as ffmpeg 7's own autorotation reads it
 * (fftools/ffmpeg_filter.c with libavutil/display.c's av_display_rotation_get): the matrix's
 * rotation, and the mirror that its signs imply. Returns undefined when the text is not a matrix.
 */
export function orientationFromMatrix(text: string): { rotation: number; mirrored: boolean } | undefined {
  const values = [...text.matchAll(/:\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)/g)].flatMap((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
  if (values.length !== 9) return undefined;
  const [m0, m1, , m3, m4] = values as [number, number, number, number, number];
  const scale0 = Math.hypot(m0, m3);
  const scale1 = Math.hypot(m1, m4);
  if (scale0 === 0 || scale1 === 0) return undefined;
  // av_display_rotation_get is counter-clockwise; ffmpeg turns it into clockwise degrees.
  const ccw = -(Math.atan2(m1 / scale1, m0 / scale0) * 180) / Math.PI;
  let theta = -Math.round(ccw);
  theta -= 360 * Math.floor(theta / 360 + 0.9 / 360);
  // ffmpeg's choice of filter per angle, with the matrix's signs picking the flipped variants.
  if (Math.abs(theta - 90) < 1) return { rotation: 90, mirrored: m3 > 0 };
  if (Math.abs(theta - 270) < 1) return { rotation: 270, mirrored: m3 < 0 };
  if (Math.abs(theta - 180) < 1) {
    // hflip when m0 < 0 and vflip when m4 < 0: both is a half turn, one alone a mirror.
    if (m0 < 0 && m4 < 0) return { rotation: 180, mirrored: false };
    if (m4 < 0) return { rotation: 180, mirrored: true }; // vflip = half turn + mirror
    return { rotation: 0, mirrored: m0 < 0 };
  }
  if (Math.abs(theta) < 1 || Math.abs(theta - 360) < 1) return { rotation: m4 < 0 ? 180 : 0, mirrored: m4 < 0 };
  return { rotation: theta, mirrored: false };
}

/** Clockwise degrees and mirror to turn the coded picture upright; refuses angles that are not quarter turns. */
function readOrientation(stream: FfprobeStream, input: string): { rotation: 0 | 90 | 180 | 270; mirrored: boolean } {
  const matrix = stream.side_data_list?.find((s) => s.side_data_type === 'Display Matrix');
  let found: { rotation: number; mirrored: boolean } | undefined;
  if (matrix?.displaymatrix) found = orientationFromMatrix(matrix.displaymatrix);
  // ffprobe's `rotation` is counter-clockwise; the old `rotate` tag (ffprobe < 5) is clockwise.
  if (!found && matrix?.rotation !== undefined) found = { rotation: -Number(matrix.rotation), mirrored: false };
  if (!found && stream.tags?.rotate !== undefined) found = { rotation: Number(stream.tags.rotate), mirrored: false };
  if (!found) return { rotation: 0, mirrored: false };
  const degrees = ((Math.round(found.rotation) % 360) + 360) % 360;
  if (!Number.isFinite(degrees) || degrees % 90 !== 0) {
    throw new UnsupportedInputError(`Expected a display rotation of 0, 90, 180 or 270 degrees for ${input} but received ${found.rotation} degrees`, input);
  }
  return { rotation: degrees as 0 | 90 | 180 | 270, mirrored: found.mirrored };
}

function readColour(stream: FfprobeStream): ProbeColour {
  const tag = (value: string | undefined) => (value && value !== 'unknown' && value !== 'unspecified' && value !== 'reserved' ? value : undefined);
  const range = tag(stream.color_range);
  return {
    matrix: tag(stream.color_space),
    range: range === 'tv' || range === 'pc' ? range : undefined,
    transfer: tag(stream.color_transfer),
    primaries: tag(stream.color_primaries),
  };
}

/**
 * The average rate when the header has none (or an absurd one, as some live WebMs' 1000/1
 * time-base guess): from the timestamps of the first packets, snapped to a common rate when
 * within half a percent of one.
 */
async function rateFromPackets(input: string): Promise<number> {
  const data = await ffprobeJson(['-select_streams', 'v:0', '-read_intervals', '%+#120', '-show_entries', 'packet=pts_time', input]);
  const times = (data.packets ?? [])
    .map((p) => Number(p.pts_time))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (times.length < 2) return 0;
  const rate = (times.length - 1) / (times.at(-1)! - times[0]!);
  for (const common of [24000 / 1001, 24, 25, 30000 / 1001, 30, 50, 60000 / 1001, 60, 15, 12, 10]) {
    if (Math.abs(rate - common) / common < 0.005) return common;
  }
  return Math.round(rate * 1000) / 1000;
}

const PACKET_ENTRIES = 'packet=stream_index,pts_time,flags';

/** Keyframes of stream `index` from ffprobe's packets, relative to the file's start (`-ss` is). */
function keyframesFromPackets(data: FfprobeJson, index: number | undefined): KeyframeList {
  const start = Number(data.format?.start_time) || 0;
  let end = 0;
  const times: number[] = [];
  for (const packet of data.packets ?? []) {
    if (index !== undefined && packet.stream_index !== index) continue;
    const pts = Number(packet.pts_time);
    if (!Number.isFinite(pts)) continue;
    end = Math.max(end, pts - start);
    if (packet.flags?.startsWith('K')) times.push(pts - start);
  }
  return { times: times.sort((a, b) => a - b), end };
}

/** Keyframe times of the first video stream, from its packets (no decoding): for a clip probed without them. */
export async function listKeyframes(input: string): Promise<KeyframeList> {
  return keyframesFromPackets(await ffprobeJson(['-select_streams', 'v:0', '-show_entries', `format=start_time:${PACKET_ENTRIES}`, input]), undefined);
}

/** Image demuxers: a still picture is not a clip, whatever rate ffprobe assumes for it. */
const STILL_FORMATS = /^(image2|[a-z0-9]+_pipe)$/;

export async function probe(input: string, limits: Partial<ProbeLimits> = {}, options: ProbeOptions = {}): Promise<ProbeResult> {
  const max = { ...DEFAULT_LIMITS, ...limits };
  let size: number;
  try {
    const info = await stat(input);
    if (!info.isFile()) throw new UnsupportedInputError(`Expected a video file for input but ${input} is not a file`, input);
    size = info.size;
  } catch (error) {
    if (error instanceof UnsupportedInputError) throw error;
    throw new UnsupportedInputError(`Input file not found: ${input}`, input, { cause: error });
  }
  if (size === 0) throw new UnsupportedInputError(`Input file is empty: ${input}`, input);

  let data: FfprobeJson;
  try {
    data = await ffprobeJson(['-show_streams', '-show_format', ...(options.keyframes ? ['-show_entries', PACKET_ENTRIES] : []), input]);
  } catch (error) {
    throw new UnsupportedInputError(`Expected a video file for input but ffprobe cannot read ${input}: ${lastLine(error)}`, input, {
      cause: error,
    });
  }
  const stream = (data.streams ?? []).find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!stream || !stream.width || !stream.height) {
    throw new UnsupportedInputError(`Expected a video stream in ${input} but found none`, input);
  }
  const codedWidth = stream.width;
  const codedHeight = stream.height;
  const { rotation, mirrored } = readOrientation(stream, input);
  const sar = parseRate(stream.sample_aspect_ratio);
  const sampleAspectRatio = sar > 0 ? sar : 1;
  // Pixel aspect keeps the coded height and stretches the width (as players show it), then the
  // quarter turn swaps the two.
  const uprightWidth = Math.max(1, Math.round(codedWidth * sampleAspectRatio));
  const turned = rotation === 90 || rotation === 270;
  const width = turned ? codedHeight : uprightWidth;
  const height = turned ? uprightWidth : codedHeight;

  const formatName = data.format?.format_name ?? '';
  const headerDuration = Number(stream.duration) || Number(data.format?.duration) || 0;
  let fps = parseRate(stream.avg_frame_rate);
  if (!(fps > 0 && fps <= 240)) {
    const guess = parseRate(stream.r_frame_rate);
    fps = guess > 0 && guess <= 240 && !STILL_FORMATS.test(formatName) ? (await rateFromPackets(input).catch(() => 0)) || guess : 0;
  }
  if (STILL_FORMATS.test(formatName) || !(fps > 0)) {
    throw new UnsupportedInputError(`Expected a video with a frame rate and a duration in ${input} (a still image or a broken file?)`, input);
  }
  const duration = headerDuration > 0 ? headerDuration : undefined;
  const counted = Number(stream.nb_frames);
  const frameCount = Number.isFinite(counted) && counted > 0 ? counted : duration !== undefined ? Math.round(duration * fps) : undefined;

  checkResolution({ width, height }, max, input);
  if (duration !== undefined) checkDuration(duration, max, input);
  if (frameCount !== undefined) checkFrames(frameCount, max, input);

  const pixelFormat = stream.pix_fmt ?? 'unknown';
  const tags = stream.tags ?? {};
  const hasAlpha = /^(yuva|rgba|bgra|argb|abgr|gbrap|ya|pal8)/.test(pixelFormat) || tags.alpha_mode === '1' || tags.ALPHA_MODE === '1';
  return {
    path: input,
    width,
    height,
    codedWidth,
    codedHeight,
    rotation,
    mirrored,
    sampleAspectRatio,
    colour: readColour(stream),
    fps,
    frameCount,
    duration,
    codec: stream.codec_name ?? 'unknown',
    pixelFormat,
    hasAlpha,
    ...(options.keyframes ? { keyframes: keyframesFromPackets(data, stream.index) } : {}),
  };
}

/**
 * The limits, one home for each, used by probe() on what the header says and by the decoder on
 * what actually comes (a streamed file says nothing, a damaged header may lie).
 */
export function checkResolution(size: { width: number; height: number }, max: ProbeLimits, input: string): void {
  const { width, height } = size;
  // Either orientation: a portrait phone clip has the pixels of its landscape twin.
  const fits = (width <= max.maxWidth && height <= max.maxHeight) || (width <= max.maxHeight && height <= max.maxWidth);
  if (fits) return;
  const overWidth = width > max.maxWidth;
  throw new LimitExceededError(
    `Expected a resolution of at most ${max.maxWidth}x${max.maxHeight} (either way up) for ${input} but received ${width}x${height}`,
    overWidth ? 'maxWidth' : 'maxHeight',
    overWidth ? max.maxWidth : max.maxHeight,
    overWidth ? width : height,
  );
}

export function checkDuration(seconds: number, max: ProbeLimits, input: string): void {
  if (seconds <= max.maxDurationSeconds) return;
  throw new LimitExceededError(
    `Expected a duration of at most ${max.maxDurationSeconds} s for ${input} but received ${seconds.toFixed(2)} s`,
    'maxDurationSeconds',
    max.maxDurationSeconds,
    seconds,
  );
}

export function checkFrames(frames: number, max: ProbeLimits, input: string): void {
  if (frames <= max.maxFrames) return;
  throw new LimitExceededError(`Expected at most ${max.maxFrames} frames for ${input} but received ${frames}`, 'maxFrames', max.maxFrames, frames);
}
