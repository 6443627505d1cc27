/**
 * Alpha verification of a finished output. An encoder can silently drop alpha (a pixel format
 * without it, a muxer that does not flag it, a decoder that ignores it); a keyed job must then
 * fail loudly instead of shipping an opaque video. We decode a few frames through the same
 * alpha-aware decoder a player would need and look for any pixel that is clearly see-through.
 */
import { readAnimationInfo } from './animation.js';
import { alphaDecoderArgs } from './decode.js';
import type { OutputFormat } from './encode.js';
import { AlphaMissingError } from './errors.js';
import { spawnFfmpeg } from './ffmpeg-process.js';
import { probe, type ProbeLimits, type ProbeResult } from './probe.js';

/**
 * A pixel counts as see-through below this alpha. Not 255: lossy alpha (VP9 at realtime speed)
 * codes a fully opaque plane as 254 here and there, which would pass an opaque video as keyed;
 * a keyed frame has its screen at or near 0, far below this.
 */
const SEE_THROUGH_BELOW = 128;

/**
 * Resolves true when some sampled pixel is see-through (alpha below SEE_THROUGH_BELOW). Streams;
 * holds no frame. The first frame is decoded alone first: a keyed output of ours is see-through
 * there (at least in the canvas margins the effects add), and ffmpeg 5.1 hands over nothing of a
 * spread sample before it has decoded as far as its last frame (a 1080p job's output: first byte
 * after 410-460 ms, against 110 ms for the first frame alone). Only a first frame that decodes
 * fully opaque (a character covering it) costs the spread sample as well.
 */
export async function hasTransparentPixels(output: Pick<ProbeResult, 'path' | 'frameCount' | 'hasAlpha' | 'codec'>, sampleFrames = 3): Promise<boolean> {
  if (await decodesSeeThrough(output, [], 1)) return true;
  if (output.frameCount === 1) return false;
  // Spread the samples over the clip: a first frame could be fully covered by the character.
  // (Our outputs always have a count; a streamed file without one is sampled from its start.)
  const every = Math.max(1, Math.floor((output.frameCount ?? sampleFrames) / sampleFrames));
  return decodesSeeThrough(output, ['-vf', `select=not(mod(n\\,${every})),format=rgba`, '-vsync', '0'], sampleFrames);
}

/** Whether the first `frames` frames ffmpeg outputs with `filter` (arguments) hold a see-through pixel; stops at the first. */
async function decodesSeeThrough(output: Pick<ProbeResult, 'path' | 'hasAlpha' | 'codec'>, filter: readonly string[], frames: number): Promise<boolean> {
  const ffmpeg = spawnFfmpeg([
    ...alphaDecoderArgs(output),
    '-i',
    output.path,
    ...filter,
    '-frames:v',
    String(frames),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    'pipe:1',
  ]);
  let offset = 0;
  let found = false;
  ffmpeg.child.stdout!.on('data', (chunk: Buffer) => {
    if (found) return;
    // Alpha is every 4th byte of the stream; `offset` keeps the phase across chunk boundaries.
    for (let i = (3 - (offset % 4) + 4) % 4; i < chunk.length; i += 4) {
      if (chunk[i]! < SEE_THROUGH_BELOW) {
        found = true;
        ffmpeg.kill();
        break;
      }
    }
    offset += chunk.length;
  });
  const exit = await ffmpeg.exited;
  if (!found && exit.code !== 0) {
    throw new AlphaMissingError(`Could not decode ${output.path} to verify its alpha: ${ffmpeg.stderrTail() || `exit code ${exit.code}`}`, output.path);
  }
  return found;
}

export async function verifyAlpha(output: ProbeResult, finalName = output.path): Promise<void> {
  if (!(await hasTransparentPixels(output))) throw opaque(finalName);
}

function opaque(finalName: string): AlphaMissingError {
  return new AlphaMissingError(`Expected ${finalName} to carry alpha (the input was keyed) but every sampled frame decodes fully opaque`, finalName);
}

export interface DecodedFrame {
  index: number;
  width: number;
  height: number;
  /** RGBA8, straight alpha, width x height x 4. */
  data: Uint8Array;
}

/**
 * Frames `indices` of an animated (or still) WebP, each composited as libwebp's own animation
 * decoder shows it (through sharp/libvips), one at a time. ffmpeg up to 7.0 cannot decode
 * animated WebP at all, so this is the only decoder we have for our WebP outputs. Each frame
 * costs a decode of the frames before it (WebP frames are blended onto the previous ones).
 */
export async function* webpFrames(path: string, indices: Iterable<number>): AsyncGenerator<DecodedFrame> {
  const { default: sharp } = await import('sharp');
  for (const index of indices) {
    const { data, info } = await sharp(path, { page: index, pages: 1, limitInputPixels: false }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    yield { index, width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
}

/** `count` frame indices spread over `frames` frames: a first frame could be fully covered by the character. */
function spread(frames: number, count: number): number[] {
  const every = Math.max(1, Math.floor(frames / count));
  return Array.from({ length: Math.min(count, frames) }, (_, i) => i * every);
}

/** Resolves true when some sampled pixel of a WebP is see-through (alpha below SEE_THROUGH_BELOW). */
export async function webpHasTransparentPixels(path: string, sampleFrames = 3): Promise<boolean> {
  let info;
  try {
    info = readAnimationInfo(path);
  } catch (error) {
    throw new AlphaMissingError(`Could not read ${path} to verify its alpha: ${(error as Error).message}`, path);
  }
  if (!info.alphaChannel) return false;
  for await (const frame of webpFrames(path, spread(info.frames, sampleFrames))) {
    const data = frame.data;
    for (let i = 3; i < data.length; i += 4) if (data[i]! < SEE_THROUGH_BELOW) return true;
  }
  return false;
}

/**
 * Verifies a finished output of ours carries alpha, whatever its format: WebP through libwebp
 * (webpHasTransparentPixels), the others through ffmpeg (probe and hasTransparentPixels, at once
 * when `frames`, the count written, is given). `finalName` is what the error names (the output is
 * checked under its temp name).
 */
export async function verifyOutputAlpha(
  path: string,
  format: OutputFormat,
  options: { finalName?: string; limits?: Partial<ProbeLimits>; frames?: number } = {},
): Promise<void> {
  const finalName = options.finalName ?? path;
  if (format === 'webp') {
    if (!(await webpHasTransparentPixels(path))) throw opaque(finalName);
    return;
  }
  const probing = probe(path, { ...options.limits, maxWidth: Infinity, maxHeight: Infinity });
  if (options.frames !== undefined) {
    // The decode starts beside ffprobe instead of after it (each is a process start, ~0.2 s of a
    // job's wall), decoding as our encoder wrote the file; ffprobe must then agree that a player
    // would decode it so (a muxer that dropped WebM's alpha flag would not), or it is redone as probed.
    const assumed = { path, frameCount: options.frames, hasAlpha: format === 'webm', codec: format === 'webm' ? 'vp9' : format };
    const [probed, found] = await Promise.allSettled([probing, hasTransparentPixels(assumed)]);
    if (probed.status === 'rejected') throw probed.reason;
    const sameDecoder = alphaDecoderArgs(probed.value).join(' ') === alphaDecoderArgs(assumed).join(' ');
    // A see-through pixel found so is found; none found is checked again on ffprobe's count of frames.
    if (sameDecoder && found.status === 'fulfilled' && found.value) return;
  }
  if (!(await hasTransparentPixels(await probing))) throw opaque(finalName);
}
