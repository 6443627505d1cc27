/**
 * Where the ffmpeg and ffprobe binaries come from, and the one place fluent-ffmpeg is used.
 * By default the static builds shipped by @ffmpeg-installer/@ffprobe-installer, so that
 * `pnpm install` is all the set-up; FFMPEG_PATH / FFPROBE_PATH select a system build instead.
 * Keeping fluent-ffmpeg behind this module means it could be replaced without touching callers.
 */
import { createRequire } from 'node:module';
import ffmpeg from 'fluent-ffmpeg';

const require = createRequire(import.meta.url);

let ffmpegPath: string | undefined;
let ffprobePath: string | undefined;

export function ffmpegBinary(): string {
  ffmpegPath ??= process.env.FFMPEG_PATH || (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  return ffmpegPath;
}

export function ffprobeBinary(): string {
  ffprobePath ??= process.env.FFPROBE_PATH || (require('@ffprobe-installer/ffprobe') as { path: string }).path;
  return ffprobePath;
}

/** A fluent-ffmpeg command bound to our binaries. */
export function ffmpegCommand(input?: string): ffmpeg.FfmpegCommand {
  const command = input === undefined ? ffmpeg() : ffmpeg(input);
  return command.setFfmpegPath(ffmpegBinary()).setFfprobePath(ffprobeBinary());
}

export type { FfprobeData, FfprobeStream } from 'fluent-ffmpeg';
