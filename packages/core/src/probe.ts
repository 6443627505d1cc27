/**
 * probe(): what a clip is, and whether we accept it, before a single frame is decoded.
 * Everything refused here is refused with a typed error, so a job never starts on a file that
 * would fail (or exhaust the container) half-way through.
 */
import { stat } from 'node:fs/promises';
import ffmpeg from 'fluent-ffmpeg';
import { LimitExceededError, UnsupportedInputError } from './errors.js';
import { ffprobeBinary } from './ffmpeg.js';

export interface ProbeLimits {
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

export interface ProbeResult {
  path: string;
  width: number;
  height: number;
  /** Average frame rate of the video stream. */
  fps: number;
  frameCount: number;
  duration: number;
  codec: string;
  pixelFormat: string;
  /** The stream carries an alpha plane (rgba/yuva formats, or VP8/VP9 with alpha_mode=1). */
  hasAlpha: boolean;
}

function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [num, den] = rate.split('/').map(Number);
  if (!num || !den) return Number(rate) || 0;
  return num / den;
}

function ffprobeJson(input: string): Promise<ffmpeg.FfprobeData> {
  return new Promise((resolve, reject) => {
    ffmpeg.setFfprobePath(ffprobeBinary());
    ffmpeg.ffprobe(input, (error, data) => (error ? reject(error) : resolve(data)));
  });
}

function lastLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  return lines.at(-1) ?? text;
}

export async function probe(input: string, limits: Partial<ProbeLimits> = {}): Promise<ProbeResult> {
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

  let data: ffmpeg.FfprobeData;
  try {
    data = await ffprobeJson(input);
  } catch (error) {
    throw new UnsupportedInputError(`Expected a video file for input but ffprobe cannot read ${input}: ${lastLine(error)}`, input, {
      cause: error,
    });
  }
  const stream = data.streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!stream || !stream.width || !stream.height) {
    throw new UnsupportedInputError(`Expected a video stream in ${input} but found none`, input);
  }
  const width = stream.width;
  const height = stream.height;
  const fps = parseRate(stream.avg_frame_rate) || parseRate(stream.r_frame_rate);
  const duration = Number(stream.duration) || Number(data.format.duration) || 0;
  if (!(fps > 0) || !(duration > 0)) {
    throw new UnsupportedInputError(`Expected a video with a frame rate and a duration in ${input} (a still image or a broken file?)`, input);
  }
  const counted = Number(stream.nb_frames);
  const frameCount = Number.isFinite(counted) && counted > 0 ? counted : Math.round(duration * fps);

  if (width > max.maxWidth || height > max.maxHeight) {
    throw new LimitExceededError(
      `Expected a resolution of at most ${max.maxWidth}x${max.maxHeight} for ${input} but received ${width}x${height}`,
      width > max.maxWidth ? 'maxWidth' : 'maxHeight',
      width > max.maxWidth ? max.maxWidth : max.maxHeight,
      width > max.maxWidth ? width : height,
    );
  }
  if (duration > max.maxDurationSeconds) {
    throw new LimitExceededError(
      `Expected a duration of at most ${max.maxDurationSeconds} s for ${input} but received ${duration.toFixed(2)} s`,
      'maxDurationSeconds',
      max.maxDurationSeconds,
      duration,
    );
  }
  if (frameCount > max.maxFrames) {
    throw new LimitExceededError(
      `Expected at most ${max.maxFrames} frames for ${input} but received ${frameCount}`,
      'maxFrames',
      max.maxFrames,
      frameCount,
    );
  }
  const pixelFormat = stream.pix_fmt ?? 'unknown';
  const tags = (stream.tags ?? {}) as Record<string, string>;
  const hasAlpha =
    /^(yuva|rgba|bgra|argb|abgr|gbrap|ya|pal8)/.test(pixelFormat) || tags.alpha_mode === '1' || tags.ALPHA_MODE === '1';
  return {
    path: input,
    width,
    height,
    fps,
    frameCount,
    duration,
    codec: stream.codec_name ?? 'unknown',
    pixelFormat,
    hasAlpha,
  };
}
