/**
 * Streaming encode: raw RGBA frames are written to an ffmpeg child's stdin in order. Every
 * write that the pipe does not take at once is followed by a wait for 'drain' (Remotion's
 * prespawned encoder ignores this; an encoder slower than the effects would then buffer the
 * whole clip in our heap). A frame's buffer goes back to the pool only when the write callback
 * says the bytes have left it, since stdin writes a view of the buffer, not a copy.
 */
import { once } from 'node:events';
import { BT709_YUV_SCALE, bt709OutputArgs } from './colour.js';
import { availableCores } from './cores.js';
import { disposeGifFramesToBackground } from './animation.js';
import { FfmpegFailedError, InvalidOptionError } from './errors.js';
import { ffmpegInfo, OPTIONAL_ENCODERS, type FfmpegInfo } from './ffmpeg.js';
import { spawnFfmpeg, type FfmpegProcess } from './ffmpeg-process.js';
import type { Frame, FrameSize } from './frame.js';
import { YuvaConverter } from './yuva.js';

export type OutputFormat = 'webm' | 'mov' | 'gif' | 'mp4' | 'webp' | 'apng';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['webm', 'mov', 'gif', 'mp4', 'webp', 'apng'];

/**
 * What each format is on disk: its container as check.ts identifies it from the file's own
 * header, and its video codec as ffprobe names it. A platform's list of formats means these.
 */
export const FORMAT_STREAMS: { readonly [F in OutputFormat]: { readonly container: string; readonly codec: string; readonly label: string } } = {
  webm: { container: 'webm', codec: 'vp9', label: 'WebM (VP9)' },
  mov: { container: 'mov', codec: 'prores', label: 'QuickTime (ProRes 4444)' },
  gif: { container: 'gif', codec: 'gif', label: 'GIF' },
  mp4: { container: 'mp4', codec: 'h264', label: 'MP4 (H.264)' },
  webp: { container: 'webp', codec: 'webp', label: 'animated WebP' },
  apng: { container: 'png', codec: 'apng', label: 'APNG' },
};

/** Formats whose output carries alpha; mp4 (H.264) is flattened on a background colour. */
export function formatHasAlpha(format: OutputFormat): boolean {
  return format !== 'mp4';
}

/** The ffmpeg muxer of each format, named explicitly: an APNG written to .png would otherwise go to the image2 muxer. */
export const MUXER: Readonly<Record<OutputFormat, string>> = { webm: 'webm', mov: 'mov', gif: 'gif', mp4: 'mp4', webp: 'webp', apng: 'apng' };

/**
 * File extensions by format, the first one the one we write. APNG's own is .png (what LINE,
 * Signal and Apple ask for, and what every viewer opens); .apng is accepted too.
 */
export const FORMAT_EXTENSIONS: { readonly [F in OutputFormat]: readonly string[] } = {
  webm: ['.webm'],
  mov: ['.mov'],
  gif: ['.gif'],
  mp4: ['.mp4'],
  webp: ['.webp'],
  apng: ['.png', '.apng'],
};

/** The format an output path's extension names, or undefined for one we do not write. */
export function formatForExtension(path: string): OutputFormat | undefined {
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/')) return undefined;
  const ext = path.slice(dot).toLowerCase();
  return OUTPUT_FORMATS.find((format) => FORMAT_EXTENSIONS[format].includes(ext));
}

export function formatFromPath(path: string): OutputFormat {
  const format = formatForExtension(path);
  if (format) return format;
  const all = OUTPUT_FORMATS.flatMap((f) => FORMAT_EXTENSIONS[f]);
  throw new InvalidOptionError(`Expected an output ending in ${all.join(', ')} (or an explicit format) but received ${JSON.stringify(path)}`, 'format');
}

/**
 * Refuses, before any work, a format the resolved ffmpeg cannot write (webp needs libwebp_anim,
 * which a build without libwebp lacks); the other formats are FFMPEG_REQUIREMENTS.
 */
export function checkFormatAvailable(format: OutputFormat, info: FfmpegInfo = ffmpegInfo()): void {
  if (format !== 'webp' && format !== 'apng') return;
  const encoder = OPTIONAL_ENCODERS[format];
  if (info.optionalEncoders.includes(encoder)) return;
  throw new InvalidOptionError(
    `Expected an ffmpeg with the ${encoder} encoder for format ${format} but ffmpeg ${info.version} at ${info.path} has none: ` +
      `install an ffmpeg built with it (Debian's and Homebrew's are) and point FFMPEG_PATH at it, or choose another format`,
    'format',
  );
}

/**
 * Whether GIF frames go out whole with their disposal set by us (disposeGifFramesToBackground)
 * rather than as the encoder crops and disposes them: for an encoder that leaves translucent
 * frames in place (ffmpeg.ts's gifDisposesTranslucentFrames), which would show a trail.
 */
function gifNeedsOwnDisposal(): boolean {
  return !ffmpegInfo().gifDisposesTranslucentFrames;
}

/**
 * What an output needs after the encoder exits and before it is verified or renamed: on an
 * encoder that leaves GIF frames in place, every frame is set to dispose to background (the
 * frames were written whole, so each one is the complete picture). Shared by FrameEncoder and
 * the bench's plain-ffmpeg encodes.
 */
export function completeOutput(format: OutputFormat, path: string): void {
  if (format === 'gif' && gifNeedsOwnDisposal()) disposeGifFramesToBackground(path);
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
  /** CPU against bytes, per format: SPEED_PRESETS. Default: DEFAULT_SPEED. */
  speed?: EncoderSpeed;
  /** Cores the encoder may use; default availableCores() (a container's CPU quota counts). Its threads also follow the frame size (encoderResources). */
  cores?: number;
  /** The codec's quality in its own scale, one of QUALITY_STEPS[format]; default the first (the best). */
  quality?: number;
  /** Scale the frames to this size before encoding (a byte budget's last resort); default: as written. */
  outputSize?: FrameSize;
  /** With outputSize: pad the scaled frames back to this size, centred and transparent (a platform of one exact size). */
  outputCanvas?: FrameSize;
  /** APNG and WebP: how many times the animation plays; default 0, forever (LINE wants 1 to 4). */
  plays?: number;
  /** The raw frames' pixel format: our RGBA (default), or, for webm, yuva420p converted by us (yuva.ts). */
  inputPixelFormat?: RawPixelFormat;
}

/** What raw frames reach an encoder as. */
export type RawPixelFormat = 'rgba' | 'yuva420p';

/**
 * Quality steps per format, best first, in the codec's own scale: what a byte budget may trade
 * (fit-budget.ts), and the first is what every job encodes with. VP9 and x264: CRF; GIF: the
 * colours of each frame's palette. The last step is the floor: below it a sticker looks broken
 * (VP9 above CRF 56 smears the outline into blocks at 512 px), so a budget then trades rate or size.
 */
export const QUALITY_STEPS: { readonly [F in OutputFormat]: readonly number[] } = {
  webm: [32, 35, 38, 41, 44, 47, 50, 53, 56],
  mp4: [20, 24, 28, 32, 36],
  gif: [256, 128, 64, 32],
  // libwebp's quality (0-100, lossy colour; alpha stays lossless).
  webp: [75, 60, 45, 30, 20, 10],
  // ProRes is an intermediate: its bytes are not what a budget is for.
  mov: [4],
  // Colours per frame, 0 for all (lossless). Still written as full RGBA, never a palette PNG (Signal
  // refuses those): a frame of few colours deflates to a fraction (the 1080p fixture's sticker at
  // 512 px: 117 kB a frame with all colours, 61 with 256, 37 with 64).
  apng: [0, 256, 64, 16],
};

export type EncoderSpeed = 'fast' | 'balanced' | 'small';
export const ENCODER_SPEEDS: readonly EncoderSpeed[] = ['fast', 'balanced', 'small'];

/**
 * What a 1-CPU container should run, where CPU seconds are wall seconds. WebM at 1080p (2004x1164
 * canvas, 24 styled frames, ffmpeg 5.1 / libvpx 1.12): realtime cpu-used 6 took 2.7 s of CPU
 * against 5.5 s for good cpu-used 4 (the former default) and 7.1 s for good cpu-used 2, for 17%
 * more bytes than good cpu-used 4; see the README's preset table (`pnpm bench:speed`) for quality.
 */
export const DEFAULT_SPEED: EncoderSpeed = 'balanced';

/**
 * The speed presets as data: preset x format -> the codec arguments that trade CPU for bytes.
 * Everything that does not change with the preset (codec, pixel format, quality target) stays in
 * encoderArgs; everything that follows the frame size (threads, tiles, look-ahead) comes from
 * encoderResources. Figures: ffmpeg 5.1 (Debian 12), one run each, CPU = user+sys of ffmpeg.
 */
export const SPEED_PRESETS: { readonly [F in OutputFormat]: { readonly [S in EncoderSpeed]: readonly string[] } } = {
  webm: {
    // libvpx realtime mode at its fastest setting that ffmpeg accepts (-8..8); at 1080p it saves
    // little CPU over cpu-used 6 (2.55 against 2.68 s: the RGBA->YUVA conversion and the alpha
    // encoder's fixed work remain) for 14% more bytes. Since ffmpeg 4.4 codec controls reach the
    // alpha encoder too; before (the bundled 2018 build) the alpha plane is coded at cpu-used 0.
    fast: ['-deadline', 'realtime', '-cpu-used', '8'],
    // realtime cpu-used 6: half the CPU of good cpu-used 4 at 1080p for 17% more bytes.
    balanced: ['-deadline', 'realtime', '-cpu-used', '6'],
    // good cpu-used 2: 2.6x the CPU of balanced for 20% fewer bytes than balanced (6% fewer
    // than good cpu-used 4, which costs 2x balanced). No alt-ref (see encoderArgs), so no look-ahead.
    small: ['-deadline', 'good', '-cpu-used', '2'],
  },
  mov: {
    // prores_ks with a fixed quantiser: its default rate control tries several quantisers per
    // slice (3.65 s at 720p, 1.7x the bytes of q 4); a fixed -qscale codes each slice once. A
    // higher q is both cheaper and smaller, so fast and small share it: q 8, 53 dB colour.
    fast: ['-qscale:v', '8'],
    // q 4: 1.0 s at 720p (27% of the rate control's CPU), 57.6 dB colour, 0.59x its bytes.
    balanced: ['-qscale:v', '4'],
    small: ['-qscale:v', '8'],
  },
  gif: {
    // No dither: the least work per pixel and the fewest bytes (flat areas LZW-compress best).
    fast: ['dither=none'],
    // Bayer ordered dither, scale 5: at 720p less CPU than paletteuse's default error diffusion
    // (sierra2_4a, the output before presets: 2.0 against 2.6 s), 4% fewer bytes, same PSNR.
    balanced: ['dither=bayer:bayer_scale=5'],
    small: ['dither=none'],
  },
  mp4: {
    // x264 superfast: 28% less CPU than veryfast at 1080p (none at 720p) but 2.3x the bytes (no mb-tree, no look-ahead).
    fast: ['-preset', 'superfast'],
    // veryfast: the former default; medium is 50-60% more CPU for 1-2% fewer bytes on short clips.
    balanced: ['-preset', 'veryfast'],
    small: ['-preset', 'medium'],
  },
  // webp and apng measured on a 3 s 512x512 sticker (the 720p fixture through the sticker stack,
  // cropped to the character, posterize 12: 36 frames), ffmpeg 5.1, one run each on a loaded machine.
  webp: {
    // libwebp's method (ffmpeg's compression_level, 0-6): how hard each frame's coding is searched.
    // Method 0: 0.58 s CPU, 1,048 KB: a third of balanced's CPU for 27% more bytes.
    fast: ['-compression_level', '0'],
    // Method 4, libwebp's own default: 1.64 s, 825 KB (method 2: 1.20 s, +4%; method 3: 1.41 s, +2%).
    balanced: ['-compression_level', '4'],
    // Method 5: 2.22 s, 806 KB (-2%). Never 6: 60 s of CPU for -6% (WebPAnimEncoder codes several
    // candidates per frame, each with the slowest search).
    small: ['-compression_level', '5'],
  },
  apng: {
    // PNG row prediction and zlib level. ffmpeg's APNG encoder codes every frame several times
    // (each dispose/blend choice for the frame before), so its CPU is several PNG encodes per frame.
    // 'up' at level 1: 1.88 s, 6.30 MB (no prediction at level 1: 1.80 s, 7.16 MB).
    fast: ['-pred', 'up', '-compression_level', '1'],
    // 'up' at level 3: 2.63 s, 5.99 MB (paeth at 3: 2.87 s, 5.96 MB; paeth at 6: 6.9 s, 5.58 MB).
    balanced: ['-pred', 'up', '-compression_level', '3'],
    // Best prediction per row at level 6: 7.51 s, 5.45 MB (-9%). Level 9: 30.6 s for 5.34 MB.
    small: ['-pred', 'mixed', '-compression_level', '6'],
  },
};

/**
 * APNG's speed presets for frames reduced to a few colours (its QUALITY_STEPS below lossless),
 * which replace SPEED_PRESETS.apng there. Such frames deflate best unpredicted, as the PNG spec
 * advises for indexed images: a row of flat colour repeats the same 4 bytes, which deflate
 * matches, where 'up' or 'mixed' turn each colour edge and grain speck into new residuals. And
 * the zlib level pays here: its longer match search finds those repeats. The 720p 5 s fixture's
 * Signal sticker (512x512, 6 fps, 18 frames, 16 colours), ffmpeg 5.1, CPU of the encode: 'up' at
 * level 3 (the lossless balanced) 352 kB, 0.52 s; 'mixed' at 6: 284 kB, 0.79 s; 'mixed' at 9:
 * 268 kB, 2.2 s; none at 3: 309 kB, 0.53 s; none at 6: 212 kB, 0.65 s; none at 9: 185 kB, 1.5 s.
 * Coding frames against the one before is already the encoder's own (libavcodec pngenc.c
 * apng_encode_frame: each frame cut to what changed, unchanged pixels cleared under 'over', the
 * smallest of the dispose and blend choices kept; no option), and wins little on a sticker: 94%
 * of the character's pixels change between frames, as it moves over a texture fixed to the canvas.
 * Fewer bits per channel instead of fewer colours deflate worse: 4 bits, 'up' at 6, 938 kB.
 */
export const APNG_FEW_COLOUR_PRESETS: { readonly [S in EncoderSpeed]: readonly string[] } = {
  fast: ['-pred', 'none', '-compression_level', '3'],
  balanced: ['-pred', 'none', '-compression_level', '6'],
  small: ['-pred', 'none', '-compression_level', '9'],
};

/** x264's own rc-lookahead per preset (x264 common/base.c), the most we ever ask for. */
const X264_LOOKAHEAD: Record<EncoderSpeed, number> = { fast: 0, balanced: 10, small: 40 };

/**
 * Memory an encoder may spend on frames it holds beyond the minimum (look-ahead, frame threads).
 * VP9 alone costs about 150 MB per megapixel of canvas with alpha (two libvpx encoders, each with
 * its own reference frames and a whole-frame token buffer), whatever these settings: 1.4 GB at a
 * 3924x2244 canvas with no look-ahead and one thread. What can be bounded is bounded here.
 */
const HELD_FRAMES_BUDGET = 256 * 1024 * 1024;

export interface EncoderResources {
  /** Encoder threads (`-threads`). */
  threads: number;
  /** Frames of look-ahead (libvpx lag-in-frames, x264 rc-lookahead); 0 where the format has none. */
  lookahead: number;
  /** VP9 tile columns, log2: threads work on tile columns, so there are as many as threads. */
  tileColumns: number;
}

/**
 * Cores the encoder of a job may use when its effect stack runs in `stageThreads` worker threads
 * (0: in-line): those the stage threads leave, at least one. The stage threads keep their cores
 * busy for the whole job, so an encoder thread beyond that has no core of its own; it only splits
 * the frame into tiles and waits on row locks. Measured on a 2-core box (ffmpeg 5.1, the 1080p
 * job's 120 styled frames, VP9 alpha): one thread took 4.3-4.6 s of CPU against 4.8-6.2 s for
 * two (3 pairs), for 0.2% more bytes. With no stage threads (no effects, or one core) the
 * encoder has the cores to itself, as before.
 */
export function encoderCores(stageThreads: number, cores = availableCores()): number {
  return Math.max(1, Math.floor(cores) - stageThreads);
}

/**
 * Threads, tiles and look-ahead for a canvas: chosen so that the frames the encoder holds beyond
 * its fixed set stay within HELD_FRAMES_BUDGET whatever the size, and no thread is started that
 * has no core to run on (each costs memory and, on one core, only adds switching).
 */
export function encoderResources(format: OutputFormat, speed: EncoderSpeed, size: FrameSize, cores = availableCores()): EncoderResources {
  const pixels = size.width * size.height;
  const maxCores = Math.max(1, Math.floor(cores));
  switch (format) {
    case 'webm': {
      // A VP9 tile column is at least 256 pixels wide; each thread encodes one column (row-mt
      // adds rows within it). One thread: no tiles, which also saves about 1% of bytes.
      const maxLog2 = Math.max(0, Math.floor(Math.log2(size.width / 256)));
      const tileColumns = Math.min(maxLog2, Math.ceil(Math.log2(Math.min(maxCores, 8))));
      // No look-ahead: with auto-alt-ref off it only delays frames (byte-identical output with 8
      // and 0 frames) while each lagged frame costs two yuva frames with borders: +68 MB at 1080p,
      // +219 MB at 4K for lag 8.
      return { threads: Math.min(maxCores, 2 ** tileColumns), lookahead: 0, tileColumns };
    }
    case 'mp4': {
      // Measured at a 3924x2244 canvas (veryfast): each look-ahead frame held 3 bytes per pixel
      // (lag 10 against 4: +157 MB), each frame thread beyond the first 15 (x264 keeps its own
      // reference and half-pel planes per thread: +133 MB). Threads take at most a third of the budget.
      const perLookahead = 3 * pixels;
      const perThread = 15 * pixels;
      const threads = Math.min(maxCores, 1 + Math.floor(HELD_FRAMES_BUDGET / 3 / perThread));
      const left = HELD_FRAMES_BUDGET - (threads - 1) * perThread;
      return { threads, lookahead: Math.min(X264_LOOKAHEAD[speed], Math.floor(left / perLookahead)), tileColumns: 0 };
    }
    case 'mov': {
      // prores_ks frame threads: each holds a yuva444p10le frame (8 bytes per pixel) and its packet.
      const frames = Math.max(1, Math.floor(HELD_FRAMES_BUDGET / (10 * pixels)));
      return { threads: Math.min(maxCores, frames), lookahead: 0, tileColumns: 0 };
    }
    case 'gif':
    case 'webp':
    case 'apng':
      // One frame at a time (palettegen/paletteuse, WebPAnimEncoder, the APNG encoder): none has threads.
      return { threads: 1, lookahead: 0, tileColumns: 0 };
  }
}

/** Refuses anything but a known preset, naming the option as the caller calls it. */
export function checkSpeed(speed: unknown, option = 'speed'): EncoderSpeed {
  if (typeof speed === 'string' && (ENCODER_SPEEDS as readonly string[]).includes(speed)) return speed as EncoderSpeed;
  throw new InvalidOptionError(`Expected ${option} to be one of ${ENCODER_SPEEDS.join(', ')} but received ${JSON.stringify(speed) ?? String(speed)}`, option);
}

/**
 * The codec arguments for `format`, shared by the pipeline and by the bench's plain-ffmpeg
 * references and speed bench, so that all encode with exactly the same settings.
 */
export function encoderArgs(format: OutputFormat, settings: EncoderSettings): string[] {
  // Our RGBA is BT.709 (decode converts every source to it); swscale's RGB -> YUV default is
  // BT.601, which would shift every colour a player decodes as BT.709. So the YUV formats convert
  // with BT.709 and say so in the stream (colour.ts); GIF stays RGB.
  const speed = settings.speed ?? DEFAULT_SPEED;
  const preset = SPEED_PRESETS[format][speed];
  const resources = encoderResources(format, speed, settings.size, settings.cores);
  const threads = ['-threads', String(resources.threads)];
  const quality = settings.quality ?? QUALITY_STEPS[format][0]!;
  // Rate and size changes come first in every chain: held frames, or a byte budget's lower rate and size.
  const reshape = [
    ...(settings.outputFps ? [`fps=${settings.outputFps}`] : []),
    ...(settings.outputSize ? [`scale=${settings.outputSize.width}:${settings.outputSize.height}:flags=lanczos`] : []),
    ...(settings.outputSize && settings.outputCanvas
      ? [`pad=${settings.outputCanvas.width}:${settings.outputCanvas.height}:(ow-iw)/2:(oh-ih)/2:color=black@0`]
      : []),
  ];
  const vf = (filters: string[]): string[] => (filters.length > 0 ? ['-vf', filters.join(',')] : []);
  switch (format) {
    case 'webm':
      // VP9 with an alpha plane, which libavcodec codes with a second libvpx encoder; every
      // setting here reaches both on ffmpeg >= 4.4. No alt-ref frames: VP9 alpha with alt-ref
      // has produced mismatched colour/alpha packet queues in libavcodec's wrapper, and without
      // them look-ahead buys nothing (encoderResources). row-mt lets the threads split rows.
      // prettier-ignore
      return [
        // Frames we converted ourselves (yuva.ts) are the codec's own format already.
        ...vf(settings.inputPixelFormat === 'yuva420p' ? reshape : [...reshape, BT709_YUV_SCALE, 'format=yuva420p']),
        '-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p',
        ...bt709OutputArgs(),
        '-b:v', '0', '-crf', String(quality),
        ...preset,
        '-row-mt', '1',
        ...threads,
        '-tile-columns', String(resources.tileColumns),
        '-lag-in-frames', String(resources.lookahead),
        '-auto-alt-ref', '0',
        '-metadata:s:v:0', 'alpha_mode=1',
      ];
    case 'mov':
      // ProRes 4444 keeps a full alpha plane; profile 4 = 4444.
      // prettier-ignore
      return [
        ...vf([...reshape, BT709_YUV_SCALE, 'format=yuva444p10le']),
        '-c:v', 'prores_ks', '-profile:v', '4', '-pix_fmt', 'yuva444p10le', '-alpha_bits', '8',
        '-vendor', 'apl0',
        ...bt709OutputArgs(),
        // prores_ks leaves the colour fields of its frame headers (which the mov muxer copies)
        // unset whatever the options say; this bitstream filter writes them.
        '-bsf:v', 'prores_metadata=color_primaries=bt709:color_trc=bt709:colorspace=bt709',
        ...preset,
        ...threads,
      ];
    case 'gif':
      // One palette per frame (stats_mode=single, new=1): a clip-wide palette would need the
      // whole clip before the first frame could be written, i.e. memory growing with length.
      // Where the encoder would leave translucent frames in place (a trail), frames go out
      // whole (no cropping, no see-through deltas) and completeOutput sets their disposal.
      // prettier-ignore
      return [
        '-filter_complex',
        `[0:v]${[...reshape, 'split'].join(',')}[a][b];[a]palettegen=stats_mode=single:reserve_transparent=1:max_colors=${quality}[p];` +
          `[b][p]paletteuse=new=1:alpha_threshold=128${preset.map((o) => `:${o}`).join('')}`,
        ...(gifNeedsOwnDisposal() ? ['-gifflags', '-offsetting-transdiff'] : []),
        '-loop', '0',
      ];
    case 'webp':
      // Animated WebP through libwebp's WebPAnimEncoder, which picks each frame's blend and
      // dispose itself. It takes the RGBA as it is (bgra): libwebp converts to its own YUV (BT.601
      // by the WebP spec, which every decoder assumes), and codes alpha losslessly by default.
      // The WebP muxer plays once unless told: -loop 0 loops forever, as a sticker does.
      // prettier-ignore
      return [
        ...vf(reshape),
        '-c:v', 'libwebp_anim', '-pix_fmt', 'bgra', '-lossless', '0', '-quality', String(quality),
        ...preset,
        '-loop', String(settings.plays ?? 0),
      ];
    case 'apng':
      // Full RGBA, never a palette (a palette APNG breaks on iOS: issue 10), playing forever.
      // Below full quality, each frame's own palette without dither (dither noise defeats deflate), back to RGBA.
      // prettier-ignore
      return [
        ...(quality > 0
          ? [
              '-filter_complex', `[0:v]${[...reshape, 'split'].join(',')}[a][b];[a]palettegen=stats_mode=single:reserve_transparent=1:max_colors=${quality}[p];[b][p]paletteuse=new=1:dither=none:alpha_threshold=128,format=rgba`,
            ]
          : vf(reshape)),
        '-c:v', 'apng', '-pix_fmt', 'rgba',
        ...(quality > 0 ? APNG_FEW_COLOUR_PRESETS[speed] : preset),
        '-plays', String(settings.plays ?? 0),
      ];
    case 'mp4': {
      const background = (settings.background ?? '#ffffff').replace('#', '0x');
      // Flatten onto a colour (H.264 has no alpha): the RGBA frames over a colour source of the
      // same size and rate, so that overlay's output keeps our timestamps.
      const { width, height } = settings.size;
      // prettier-ignore
      return [
        '-filter_complex',
        `color=c=${background}:s=${width}x${height}:r=${settings.fps}[bg];[bg][0:v]overlay=shortest=1:format=auto,` +
          `${[...reshape, BT709_YUV_SCALE, 'format=yuv420p'].join(',')}`,
        '-c:v', 'libx264',
        ...bt709OutputArgs(),
        ...preset,
        '-crf', String(quality),
        ...threads,
        '-rc-lookahead', String(resources.lookahead),
        '-movflags', '+faststart',
      ];
    }
  }
}

/** Input options describing our raw frames to ffmpeg: on its stdin, or in a file of them (a spool). */
export function rawInputArgs(size: FrameSize, fps: number, source = 'pipe:0', pixelFormat: RawPixelFormat = 'rgba'): string[] {
  return ['-f', 'rawvideo', '-pix_fmt', pixelFormat, '-s', `${size.width}x${size.height}`, '-r', String(fps), '-i', source];
}

export interface EncodeOptions extends EncoderSettings {
  output: string;
  format: OutputFormat;
  /** A file of raw RGBA frames to encode instead of frames written to stdin (a byte budget's re-encodes, fit-budget.ts). */
  input?: string;
}

export class FrameEncoder {
  readonly process: FfmpegProcess;
  private readonly format: OutputFormat;
  private readonly output: string;
  private written = 0;
  private failure: Error | undefined;
  private readonly converter: YuvaConverter | undefined;

  constructor(options: EncodeOptions) {
    this.format = options.format;
    this.output = options.output;
    // VP9's frames from the pipeline are converted here, box only (yuva.ts); a spool file holds RGBA.
    this.converter = options.format === 'webm' && options.input === undefined ? new YuvaConverter(options.size) : undefined;
    const inputPixelFormat: RawPixelFormat = this.converter ? 'yuva420p' : 'rgba';
    const args = [
      '-y',
      ...rawInputArgs(options.size, options.fps, options.input, inputPixelFormat),
      ...encoderArgs(options.format, { ...options, inputPixelFormat }),
      '-f',
      MUXER[options.format],
      options.output,
    ];
    this.process = spawnFfmpeg(args);
    const stdin = this.process.child.stdin!;
    // EPIPE when ffmpeg dies early: recorded, reported with ffmpeg's own stderr by write()/finish().
    stdin.on('error', (error) => (this.failure ??= error));
  }

  /**
   * Queue `frame` for encoding; `release` is called once its bytes have left the buffer.
   * Resolves when the caller may write the next frame (immediately, or after 'drain').
   * The frame is the encoder's from here on: for webm its buffer is overwritten with the planes.
   */
  async write(frame: Frame, release: (frame: Frame) => void): Promise<void> {
    if (this.failure) throw await this.failed();
    const stdin = this.process.child.stdin!;
    const bytes = this.converter ? this.converter.convert(frame) : frame.data;
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
    completeOutput(this.format, this.output);
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
