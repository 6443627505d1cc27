/**
 * Alpha verification of a finished output. An encoder can silently drop alpha (a pixel format
 * without it, a muxer that does not flag it, a decoder that ignores it); a keyed job must then
 * fail loudly instead of shipping an opaque video. We decode a few frames through the same
 * alpha-aware decoder a player would need and look for any pixel that is clearly see-through.
 */
import { AlphaMissingError } from './errors.js';
import { spawnFfmpeg } from './ffmpeg-process.js';
import { alphaDecoderArgs } from './decode.js';
import type { ProbeResult } from './probe.js';

/**
 * A pixel counts as see-through below this alpha. Not 255: lossy alpha (VP9 at realtime speed)
 * codes a fully opaque plane as 254 here and there, which would pass an opaque video as keyed;
 * a keyed frame has its screen at or near 0, far below this.
 */
const SEE_THROUGH_BELOW = 128;

/** Resolves true when some sampled pixel is see-through (alpha below SEE_THROUGH_BELOW). Streams; holds no frame. */
export async function hasTransparentPixels(output: ProbeResult, sampleFrames = 3): Promise<boolean> {
  // Spread the samples over the clip: a first frame could be fully covered by the character.
  // (Our outputs always have a count; a streamed file without one is sampled from its start.)
  const every = Math.max(1, Math.floor((output.frameCount ?? sampleFrames) / sampleFrames));
  const ffmpeg = spawnFfmpeg([
    ...alphaDecoderArgs(output),
    '-i', output.path,
    '-vf', `select=not(mod(n\\,${every})),format=rgba`,
    '-vsync', '0',
    '-frames:v', String(sampleFrames),
    '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1',
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
    throw new AlphaMissingError(
      `Could not decode ${output.path} to verify its alpha: ${ffmpeg.stderrTail() || `exit code ${exit.code}`}`,
      output.path,
    );
  }
  return found;
}

export async function verifyAlpha(output: ProbeResult, finalName = output.path): Promise<void> {
  if (!(await hasTransparentPixels(output))) {
    throw new AlphaMissingError(
      `Expected ${finalName} to carry alpha (the input was keyed) but every sampled frame decodes fully opaque`,
      finalName,
    );
  }
}
