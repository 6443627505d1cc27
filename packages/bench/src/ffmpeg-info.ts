/**
 * Which ffmpeg a bench run used: the binary core's `ffmpegBinary()` resolves in the bench process,
 * which is also what the references run and what our child resolves (same environment). Every
 * ratio in a report holds for that one binary only: the bundled 2018 build encodes VP9 3-7x
 * slower than a current one, so a report without it cannot be read.
 */
import { execFileSync } from 'node:child_process';
import { ffmpegBinary } from '@stickerkey/core';

export interface FfmpegInfo {
  path: string;
  /** `5.1.9-0+deb12u1`, `N-47683-g0e8eb07980-static`, or the first line when it has no version. */
  version: string;
}

export function ffmpegInfo(path: string = ffmpegBinary()): FfmpegInfo {
  let first: string;
  try {
    first = execFileSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 }).split('\n')[0] ?? '';
  } catch (error) {
    return { path, version: `unknown (${(error as Error).message.split('\n')[0]})` };
  }
  const m = /^ffmpeg version (\S+)/.exec(first);
  return { path, version: m ? m[1] : first.trim() };
}
