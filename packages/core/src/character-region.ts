/**
 * Where the character is over the whole clip, found cheaply: before a sticker is rendered at a
 * platform's size, a key-only pass over the clip decoded at a small size (the longest side
 * SEARCH_SIDE pixels: 256x144 for 1080p, 1/56 of the pixels) unions the bounds of what the keyer
 * keeps. The full-resolution work is then spent only on that region, scaled to the target
 * (canvas.ts croppedCanvas), instead of on a padded 1080p canvas.
 *
 * Only the keyer runs here: the other stages draw within their margins, which the canvas adds.
 */
import { FramePool, FrameDecoder } from './decode.js';
import type { PreloadContext, Stage } from './effect.js';
import type { Bounds, Frame, FrameSize } from './frame.js';
import type { ProbeLimits, ProbeResult } from './probe.js';
import { sampleFrames } from './sample-frames.js';
import { CancelledError } from './errors.js';

/** Longest side of the search pass, pixels. A character edge is then known within a few source pixels at 1080p (7.5 per search pixel), which the slack below covers. */
export const SEARCH_SIDE = 256;
/**
 * Alpha at or above this counts as character. Not 1: a keyer leaves faint specks of alpha on a
 * noisy screen that no effect draws visibly, and a single one in a corner would stretch the
 * region over the whole frame.
 */
const VISIBLE_ALPHA = 16;
/** Search pixels added on every side: the small picture's edge may be a pixel inside the real one. */
const SLACK = 2;

export interface CharacterSearchOptions {
  input: ProbeResult;
  /** The job's keyer (the stage that produces alpha), as configured for the source's scale. */
  keyer: Stage;
  /** Rate frames are taken at (the job's, posterized or capped): the frames the job will render. */
  fps?: number | null;
  /** Only the first this many seconds (the part the job will render). */
  duration?: number;
  limits?: ProbeLimits;
  signal?: AbortSignal;
}

export interface CharacterRegion {
  /** Where the character is in some frame of the clip, in source display pixels; empty when nothing was kept. */
  bounds: Bounds;
  /** The size the search ran at. */
  searchSize: FrameSize;
  frames: number;
  /** CPU of the search's ffmpeg children (sampling and decoding). */
  childCpuSeconds: number;
}

/** The union over the clip of where the keyer keeps something visible. */
export async function findCharacterRegion(options: CharacterSearchOptions): Promise<CharacterRegion> {
  const { input, signal } = options;
  const factor = Math.min(1, SEARCH_SIDE / Math.max(input.width, input.height));
  const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
  const size = { width: even(input.width * factor), height: even(input.height * factor) };
  // The keyer's own pixel options (choke, feather) follow the small picture too.
  const keyer = options.keyer.scaled ? options.keyer.scaled(size.width / input.width) : options.keyer;
  const pool = new FramePool(size, 2);
  // A rough decode (no loop filter, disposable frames skipped): at 256 px the bounds came out the
  // same on the 1080p fixture for 35% less decoding. A skipped frame sits between two decoded ones,
  // and the character's extremes are where its motion turns, slowest: SLACK covers what it moves.
  // Started before the keyer's set-up, as the pipeline's is: its first frame is the first sample
  // of the screen estimate, so a clip with one keyframe starts no sampling ffmpeg of its own
  // (1080p fixture: one process and ~0.1 s of CPU less).
  const decoder = new FrameDecoder({
    input,
    pool,
    size,
    rough: true,
    ...(options.fps ? { fps: options.fps } : {}),
    ...(options.duration !== undefined ? { duration: options.duration } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const onAbort = () => decoder.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  let childCpuSeconds = 0;
  const context: PreloadContext = {
    size,
    signal,
    sampleFrames: async (count) => {
      const sampled = await sampleFrames({ input, canvas: size, count, size, firstFrame: () => decoder.firstFrame() });
      childCpuSeconds += sampled.cpuSeconds;
      return sampled.frames;
    },
  };
  const union: Bounds = { left: size.width, top: size.height, right: 0, bottom: 0 };
  let frames = 0;
  try {
    await keyer.setup(context);
    if (signal?.aborted) throw CancelledError.from(signal);
    for await (const frame of decoder) {
      keyer.process(frame);
      growByVisible(frame, union);
      pool.release(frame);
      frames++;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    decoder.kill();
    childCpuSeconds += (await decoder.process.exited).cpuSeconds;
  }
  if (signal?.aborted) throw CancelledError.from(signal);
  if (union.right <= union.left) return { bounds: { left: 0, top: 0, right: 0, bottom: 0 }, searchSize: size, frames, childCpuSeconds };
  // Back to source pixels, outwards, within the picture.
  const sx = input.width / size.width;
  const sy = input.height / size.height;
  const bounds = {
    left: Math.max(0, Math.floor((union.left - SLACK) * sx)),
    top: Math.max(0, Math.floor((union.top - SLACK) * sy)),
    right: Math.min(input.width, Math.ceil((union.right + SLACK) * sx)),
    bottom: Math.min(input.height, Math.ceil((union.bottom + SLACK) * sy)),
  };
  return { bounds, searchSize: size, frames, childCpuSeconds };
}

/** Grows `union` to cover the pixels of `frame` whose alpha is at least VISIBLE_ALPHA. */
function growByVisible(frame: Frame, union: Bounds): void {
  const { data, width, height } = frame;
  for (let y = 0; y < height; y++) {
    const row = y * width * 4 + 3;
    let first = -1;
    let last = -1;
    for (let x = 0, p = row; x < width; x++, p += 4) {
      if (data[p]! >= VISIBLE_ALPHA) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (first < union.left) union.left = first;
    if (last + 1 > union.right) union.right = last + 1;
    if (y < union.top) union.top = y;
    if (y + 1 > union.bottom) union.bottom = y + 1;
  }
}
