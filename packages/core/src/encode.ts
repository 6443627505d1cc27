/**
 * Streaming encode: raw RGBA frames are written to an ffmpeg child's stdin in order. Every
 * write that the pipe does not take at once is followed by a wait for 'drain' (Remotion's
 * prespawned encoder ignores this; an encoder slower than the effects would then buffer the
 * whole clip in our heap). A frame's buffer goes back to the pool only when the write callback
 * says the bytes have left it, since stdin writes a view of the buffer, not a copy.
 */
import { once } from 'node:events';
import { FfmpegFailedError, InvalidOptionError } from './errors.js';
import { spawnFfmpeg, type FfmpegProcess } from './ffmpeg-process.js';
import type { Frame, FrameSize } from './frame.js';

export type OutputFormat = 'webm' | 'mov' | 'gif' | 'mp4';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['webm', 'mov', 'gif', 'mp4'];

/** Formats whose output carries alpha; mp4 (H.264) is flattened on a background colour. */
export function formatHasAlpha(format: OutputFormat): boolean {
  return format !== 'mp4';
}

const MUXER: Record<OutputFormat, string> = { webm: 'webm', mov: 'mov', gif: 'gif', mp4: 'mp4' };

export function formatFromPath(path: string): OutputFormat {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  if ((OUTPUT_FORMATS as readonly string[]).includes(ext)) return ext as OutputFormat;
  throw new InvalidOptionError(
    `Expected an output ending in ${OUTPUT_FORMATS.map((f) => `.${f}`).join(', ')} (or an explicit format) but received ${JSON.stringify(path)}`,
    'format',
  );
}

export interface EncoderSettings {
  /** Size of the frames written; the mp4 background is generated at this size. */
  size: FrameSize;
  /** Rate of the frames written. */
  fps: number;
  /** #rrggbb to flatten onto for formats without alpha. */
  background?: string;
  /** Output rate when it differs from the input rate: held frames (posterize with hold). */
  outputFps?: number;
}

/**
 * The codec arguments for `format`, shared by the pipeline and by the bench's plain-ffmpeg
 * reference so that both encode with exactly the same settings.
 */
export function encoderArgs(format: OutputFormat, settings: EncoderSettings): string[] {
  const hold = settings.outputFps ? [`fps=${settings.outputFps}`] : [];
  const vf = (filters: string[]): string[] => (filters.length > 0 ? ['-vf', filters.join(',')] : []);
  switch (format) {
    case 'webm':
      // VP9 with an alpha plane. lag-in-frames is the encoder's look-ahead queue: each frame
      // of it costs a full-size frame of memory, so it is kept short (about 200 MB at 1080p
      // separates 25 from 0); row-mt lets a 2-core box use both cores.
      return [
        ...vf([...hold, 'format=yuva420p']),
        '-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p',
        '-b:v', '0', '-crf', '32', '-deadline', 'good', '-cpu-used', '4',
        '-row-mt', '1', '-lag-in-frames', '8', '-auto-alt-ref', '0',
        '-metadata:s:v:0', 'alpha_mode=1',
      ];
    case 'mov':
      // ProRes 4444 keeps a full alpha plane; profile 4 = 4444.
      return [
        ...vf([...hold, 'format=yuva444p10le']),
        '-c:v', 'prores_ks', '-profile:v', '4', '-pix_fmt', 'yuva444p10le', '-alpha_bits', '8', '-vendor', 'apl0',
      ];
    case 'gif':
      // One palette per frame (stats_mode=single, new=1): a clip-wide palette would need the
      // whole clip before the first frame could be written, i.e. memory growing with length.
      return [
        '-filter_complex',
        `[0:v]${[...hold, 'split'].join(',')}[a][b];[a]palettegen=stats_mode=single:reserve_transparent=1[p];` +
          `[b][p]paletteuse=new=1:alpha_threshold=128`,
        '-loop', '0',
      ];
    case 'mp4': {
      const background = (settings.background ?? '#ffffff').replace('#', '0x');
      // Flatten onto a colour (H.264 has no alpha): the RGBA frames over a colour source of the
      // same size and rate, so that overlay's output keeps our timestamps.
      const { width, height } = settings.size;
      return [
        '-filter_complex',
        `color=c=${background}:s=${width}x${height}:r=${settings.fps}[bg];[bg][0:v]overlay=shortest=1:format=auto,` +
          `${[...hold, 'format=yuv420p'].join(',')}`,
        '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-movflags', '+faststart',
      ];
    }
  }
}

/** Input options describing our raw frames to ffmpeg. */
export function rawInputArgs(size: FrameSize, fps: number): string[] {
  return ['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${size.width}x${size.height}`, '-r', String(fps), '-i', 'pipe:0'];
}

export interface EncodeOptions extends EncoderSettings {
  output: string;
  format: OutputFormat;
}

export class FrameEncoder {
  readonly process: FfmpegProcess;
  private written = 0;
  private failure: Error | undefined;

  constructor(options: EncodeOptions) {
    const args = [
      '-y',
      ...rawInputArgs(options.size, options.fps),
      ...encoderArgs(options.format, options),
      '-f', MUXER[options.format],
      options.output,
    ];
    this.process = spawnFfmpeg(args);
    const stdin = this.process.child.stdin!;
    // EPIPE when ffmpeg dies early: recorded, reported with ffmpeg's own stderr by write()/finish().
    stdin.on('error', (error) => (this.failure ??= error));
  }

  get framesWritten(): number {
    return this.written;
  }

  /**
   * Queue `frame` for encoding; `release` is called once its bytes have left the buffer.
   * Resolves when the caller may write the next frame (immediately, or after 'drain').
   */
  async write(frame: Frame, release: (frame: Frame) => void): Promise<void> {
    if (this.failure) throw await this.failed();
    const stdin = this.process.child.stdin!;
    const view = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    const accepted = stdin.write(view, () => release(frame));
    this.written++;
    if (!accepted) {
      // Wait for the pipe, or for the encoder dying (then 'drain' never comes).
      await Promise.race([once(stdin, 'drain'), this.process.exited]);
      if (this.failure || this.process.child.exitCode !== null) throw await this.failed();
    }
  }

  /** Close stdin and wait for ffmpeg to finish the file. */
  async finish(): Promise<{ cpuSeconds: number; maxRss: number }> {
    const stdin = this.process.child.stdin!;
    if (!stdin.destroyed) stdin.end();
    const exit = await this.process.exited;
    if (exit.code !== 0) throw await this.failed();
    return { cpuSeconds: exit.cpuSeconds, maxRss: exit.maxRss };
  }

  kill(): void {
    this.process.kill();
  }

  private async failed(): Promise<Error> {
    const exit = await this.process.exited;
    return new FfmpegFailedError('encode', exit.code, exit.signal, this.written, this.process.stderrTail());
  }
}
