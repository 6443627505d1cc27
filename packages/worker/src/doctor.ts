/**
 * `stickerkey doctor`: which ffmpeg and ffprobe stickerkey runs here, where they came from, what
 * they can do, and a warning with the measured cost when it is the slow bundled 2018 build.
 * It resolves afresh from the environment (not from an answer cached by a parent process), so
 * it shows what the next job will see.
 *
 * Exit codes, for scripts (`stickerkey doctor || apt-get install -y ffmpeg`):
 *   0  a qualifying ffmpeg is in use: the fast path;
 *   1  jobs run, but on the bundled 2018 fallback (or an ffmpeg as old), or on an FFMPEG_PATH
 *      that lacks an encoder or filter some jobs need;
 *   2  FFMPEG_PATH or FFPROBE_PATH is broken (the code the CLI uses for any bad setting).
 */
import { FFMPEG_REQUIREMENTS, OPTIONAL_ENCODERS, isStickerkeyError, resolveFfmpeg, type FfmpegInfo, type FfmpegSource } from '@stickerkey/core';
import { errorCode, formatErrorLine } from './report.js';

export interface DoctorReport {
  exitCode: 0 | 1 | 2;
  stdout: string;
  stderr: string;
}

export interface DoctorOptions {
  json?: boolean;
  env?: NodeJS.ProcessEnv;
}

const FROM: Record<'ffmpeg' | 'ffprobe', Record<FfmpegSource, string>> = {
  ffmpeg: { env: 'from FFMPEG_PATH', path: 'from PATH', bundled: 'the bundled build (@ffmpeg-installer/ffmpeg)' },
  ffprobe: { env: 'from FFPROBE_PATH or beside FFMPEG_PATH', path: 'from PATH', bundled: 'the bundled build (@ffprobe-installer/ffprobe)' },
};

function list(names: readonly string[]): string {
  return names.length > 0 ? names.join(', ') : 'none';
}

function verdict(info: FfmpegInfo): string {
  if (info.qualifies) return `ok: the fast path. FFmpeg ${info.version} ${FROM.ffmpeg[info.source]} has every encoder and filter stickerkey uses.`;
  if (info.slow) return 'slow: jobs run, but on the slow fallback (see the warning above).';
  return 'incomplete: jobs run, but the ones that need what is missing will fail. Use an ffmpeg built with libvpx, libx264 and the palette filters.';
}

export function formatDoctor(info: FfmpegInfo): string {
  const vp9 = info.encoders.found.includes('libvpx-vp9') ? ` (libvpx-vp9 encodes ${FFMPEG_REQUIREMENTS.vp9AlphaPixelFormat})` : '';
  const lines = [
    `ffmpeg    ${info.version} (libavcodec ${info.libavcodec}), ${FROM.ffmpeg[info.source]}`,
    `          ${info.path}`,
    `ffprobe   ${info.ffprobe.version}, ${FROM.ffprobe[info.ffprobe.source]}`,
    `          ${info.ffprobe.path}`,
    `encoders  found: ${list(info.encoders.found)}${vp9}; missing: ${list(info.encoders.missing)}`,
    `filters   found: ${list(info.filters.found)}; missing: ${list(info.filters.missing)}`,
    `formats   ${Object.entries(OPTIONAL_ENCODERS)
      .map(([format, encoder]) => `${format} ${info.optionalEncoders.includes(encoder) ? 'yes' : 'no'} (${encoder})`)
      .join(
        ', ',
      )}; gif frames ${info.gifDisposesTranslucentFrames ? 'disposed by the encoder' : 'written whole and disposed by stickerkey (the encoder leaves them in place)'}`,
    `needs     FFmpeg ${FFMPEG_REQUIREMENTS.minRelease} or newer with ${FFMPEG_REQUIREMENTS.encoders.join(', ')} and ${FFMPEG_REQUIREMENTS.filters.join(', ')}`,
  ];
  for (const { path, reason } of info.passedOver) lines.push(`passed over ${path}: ${reason}`);
  lines.push('');
  for (const warning of info.warnings) lines.push(`warning: ${warning}`);
  lines.push(verdict(info));
  return `${lines.join('\n')}\n`;
}

export function doctor(options: DoctorOptions = {}): DoctorReport {
  let info: FfmpegInfo;
  try {
    info = resolveFfmpeg(options.env ?? process.env);
  } catch (error) {
    if (!isStickerkeyError(error)) throw error;
    const stdout = options.json ? `${JSON.stringify({ ok: false, exitCode: 2, error: { code: errorCode(error), message: error.message } }, null, 2)}\n` : '';
    return { exitCode: 2, stdout, stderr: `${formatErrorLine(error)}\n` };
  }
  const exitCode = info.qualifies ? 0 : 1;
  const stdout = options.json ? `${JSON.stringify({ ok: exitCode === 0, exitCode, ffmpeg: info }, null, 2)}\n` : formatDoctor(info);
  return { exitCode, stdout, stderr: '' };
}
