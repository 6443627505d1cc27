/**
 * posterize-time: the stop-motion look, by keeping fewer frames (12 or 8 fps, or any rate below
 * the source) and, in `hold` mode, holding each kept frame so the clip keeps its source rate.
 *
 * Not a per-frame effect: core applies the rate at decode with ffmpeg's `fps=` filter so dropped
 * frames are never converted to RGBA, keyed or styled. This module is the pure description of
 * what that filter does, so that counts, progress and the `hold` repetition can be planned without
 * running ffmpeg, and a test checks it against a real ffmpeg run.
 *
 * Model: libavfilter `vf_fps.c` (ffmpeg 4.x, default `round=near`, `eof_action=round`). Each input
 * frame's timestamp is rescaled to the output time base 1/target, rounded to the nearest (halves
 * away from zero): P(i) = round(i * target / source). Output frame k is the LAST input frame with
 * P(i) <= k (the filter drops a buffered frame as soon as the next one is also acceptable for k).
 * The output has round(N * target / source) frames: the end-of-stream timestamp N / source
 * rescaled the same way. Assumes timestamps start at 0 and are evenly spaced (constant rate).
 */
import { InvalidOptionError, resolveOptions, type OptionsInput, type OptionsOf } from '@stickerkey/core/effect';

export const posterizeTimeOptions = [
  {
    name: 'fps',
    type: 'number',
    default: 12,
    min: 1,
    max: 120,
    unit: 'fps',
    help: 'Frames per second kept (12 or 8 for the stop-motion look); at or above the source rate: no change',
  },
  {
    name: 'mode',
    type: 'enum',
    values: ['drop', 'hold'],
    default: 'drop',
    help: 'drop: output at the lower rate; hold: keep the source rate, each kept frame repeated',
  },
] as const;

export type PosterizeTimeOptions = OptionsOf<typeof posterizeTimeOptions>;

export interface PosterizeSchedule {
  sourceFps: number;
  /** Rate of the kept frames (the source rate when no posterizing happens). */
  targetFps: number;
  /** Source index of each output frame, in output order (ascending, no repeats). */
  kept: number[];
  /**
   * For each kept frame: how many source-rate frames it is shown for in `hold` mode, as ffmpeg's
   * `fps=<source>` re-timing does it. Sums to round(kept * source / target): the source count, give
   * or take the rounding of the clip's end.
   */
  holds: number[];
  /** False when the target is at or above the source rate: every frame is kept once. */
  posterized: boolean;
}

/** A rate as a fraction, so that 23.976 (24000/1001) and 29.97 rescale exactly. */
function rational(fps: number): [number, number] {
  for (const den of [1, 1001, 1000, 100]) {
    const num = Math.round(fps * den);
    if (Math.abs(num / den - fps) < 1e-9 * Math.max(1, fps)) return [num, den];
  }
  return [Math.round(fps * 1e6), 1e6];
}

function checkRate(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(`Expected a positive number for posterize-time.${name} but received ${String(value)}`, `posterize-time.${name}`);
  }
}

/**
 * Which source frames ffmpeg's `fps=targetFps` keeps from `sourceFrameCount` frames at
 * `sourceFps`, and how many source slots each is held for. Pure; allocates two arrays of the
 * output length (planning data, not per-frame work).
 */
export function posterizeSchedule(sourceFps: number, targetFps: number, sourceFrameCount: number): PosterizeSchedule {
  checkRate('sourceFps', sourceFps);
  checkRate('fps', targetFps);
  if (!Number.isInteger(sourceFrameCount) || sourceFrameCount < 0) {
    throw new InvalidOptionError(
      `Expected a whole number of frames >= 0 for posterize-time.sourceFrameCount but received ${String(sourceFrameCount)}`,
      'posterize-time.sourceFrameCount',
    );
  }
  const n = sourceFrameCount;
  if (targetFps >= sourceFps) {
    const kept = Array.from({ length: n }, (_, i) => i);
    return { sourceFps, targetFps: sourceFps, kept, holds: kept.map(() => 1), posterized: false };
  }
  const [tn, td] = rational(targetFps);
  const [sn, sd] = rational(sourceFps);
  // x = i * target / source = i * tn * sd / (td * sn); round half up: floor((2 i tn sd + td sn) / (2 td sn)).
  const num = tn * sd;
  const den = td * sn;
  const toOutput = (i: number): number => Math.floor((2 * i * num + den) / (2 * den));
  const outputs = toOutput(n);
  const kept: number[] = new Array<number>(outputs);
  // Walk the source once: P(i) is non-decreasing, so the last i with P(i) <= k is found in order.
  let i = 0;
  for (let k = 0; k < outputs; k++) {
    while (i + 1 < n && toOutput(i + 1) <= k) i++;
    kept[k] = i;
  }
  // Hold: core re-times the kept frames to the source rate with a second `fps=` (at encode), which
  // rescales kept frame k to Q(k) = round(k * source / target) and shows it until Q(k + 1); the
  // stream ends at round(outputs * source / target).
  const toSource = (k: number): number => Math.floor((2 * k * den + num) / (2 * num));
  const holds: number[] = new Array<number>(outputs);
  for (let k = 0; k < outputs; k++) holds[k] = toSource(k + 1) - toSource(k);
  return { sourceFps, targetFps, kept, holds, posterized: true };
}

/** The decode filter core adds for these options, or null when no posterizing applies. */
export function posterizeFilter(sourceFps: number, options: PosterizeTimeOptions): string | null {
  return options.fps < sourceFps ? `fps=${options.fps}` : null;
}

export const posterizeTime = {
  name: 'posterize-time',
  description: 'Keeps fewer frames (12 or 8 fps) for a stop-motion feel; applied by core at decode',
  options: posterizeTimeOptions,
  resolve(input?: OptionsInput): PosterizeTimeOptions {
    return resolveOptions('posterize-time', posterizeTimeOptions, input);
  },
  schedule: posterizeSchedule,
  filter: posterizeFilter,
} as const;
