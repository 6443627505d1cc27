/**
 * Colour at decode: every source is converted to RGB with its OWN matrix and range (a BT.601 SD
 * clip read as BT.709, or limited range read as full, shifts the screen colour the keyer looks
 * for), and HDR / wide-gamut sources are brought to SDR BT.709 first, since that is what every
 * output (VP9, ProRes, GIF, H.264) is tagged as and what their players assume.
 *
 * Untagged sources are read as ffmpeg writes them: BT.601 at every size (swscale's default when
 * an ffmpeg-based tool converts RGB without tagging, as our own fixture generator does; phones,
 * cameras and editors tag their files), limited range except the JPEG (yuvj*) formats, which are
 * full. (Browsers guess BT.709 for untagged HD instead; an untagged HD file made that way shifts
 * by a few levels, which the keyer's screen estimate follows.)
 *
 * HDR (PQ, HLG) and wide gamut (BT.2020, P3) need zscale (zimg): linearise, convert primaries,
 * tone-map (hable) and re-encode as BT.709. Both ffmpeg builds we ship with or find (the bundled
 * 2018 static build and Debian 12's 5.1) have it. Without zscale, wide gamut with an SDR transfer
 * falls back to the colorspace filter (gamut clipped, no tone mapping needed); PQ and HLG are
 * refused with UNSUPPORTED_INPUT, because no other filter in a plain ffmpeg can linearise them
 * and rendering them untouched gives washed-out colours with exit 0.
 */
import { execFileSync } from 'node:child_process';
import { UnsupportedInputError } from './errors.js';
import { ffmpegBinary, ffmpegInfo } from './ffmpeg.js';
import type { ProbeResult } from './probe.js';

/** What the resolved ffmpeg can do for colour; from `ffmpeg -filters`, once per binary. */
export interface ColourCapabilities {
  zscale: boolean;
  tonemap: boolean;
  colorspace: boolean;
}

const capabilities = new Map<string, ColourCapabilities>();

/** The colour filters `binary` has (cached; one `ffmpeg -filters` per binary and process). */
export function colourCapabilities(binary = ffmpegBinary()): ColourCapabilities {
  let found = capabilities.get(binary);
  // The resolved ffmpeg was inspected already (and that answer is cached across processes).
  if (!found && binary === ffmpegInfo().path) {
    const has = (name: string) => ffmpegInfo().optionalFilters.includes(name);
    found = { zscale: has('zscale'), tonemap: has('tonemap'), colorspace: has('colorspace') };
    capabilities.set(binary, found);
  }
  if (!found) {
    let list = '';
    try {
      list = execFileSync(binary, ['-hide_banner', '-filters'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      // An ffmpeg that cannot list its filters is taken to have none of the optional ones.
    }
    const has = (name: string) => new RegExp(`^\\s*\\S+\\s+${name}\\s`, 'm').test(list);
    found = { zscale: has('zscale'), tonemap: has('tonemap'), colorspace: has('colorspace') };
    capabilities.set(binary, found);
  }
  return found;
}

const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);
const WIDE_PRIMARIES = new Set(['bt2020', 'smpte431', 'smpte432']);
/** Pixel formats whose samples are already RGB (or grey): no matrix to apply. */
const RGB_FORMATS = /^(rgb|bgr|argb|abgr|rgba|bgra|0rgb|rgb0|0bgr|bgr0|gbr|pal8|gray|ya|x2rgb|x2bgr|monow|monob)/;

/** The swscale name (scale's in_color_matrix) for a stream's matrix tag. */
function swsMatrix(matrix: string): string | undefined {
  if (matrix === 'bt709') return 'bt709';
  if (matrix === 'smpte170m' || matrix === 'bt470bg') return 'bt601';
  if (matrix === 'bt2020nc' || matrix === 'bt2020c') return 'bt2020';
  if (matrix === 'fcc') return 'fcc';
  if (matrix === 'smpte240m') return 'smpte240m';
  return undefined;
}

export interface ColourPlan {
  /** Filters before the final scale (tone mapping / gamut conversion); may be empty. */
  filters: string[];
  /** Options for the final `scale` that converts to RGBA (`in_color_matrix`, `in_range`); empty for RGB input. */
  scaleOptions: string[];
  /** The source matrix and range the conversion assumes (after defaults), for logs and tests. */
  matrix: string;
  range: 'tv' | 'pc';
  /** 'hdr' when tone-mapped, 'gamut' when only the primaries were converted. */
  mapping: 'none' | 'hdr' | 'gamut';
}

/**
 * How `input` is turned into SDR BT.709 full-range RGBA. Throws UNSUPPORTED_INPUT for HDR when
 * the ffmpeg has no zscale (see the header). Pure given `caps`, so every branch is testable.
 */
export function colourPlan(input: ProbeResult, caps: ColourCapabilities = colourCapabilities()): ColourPlan {
  const colour = input.colour;
  const rgb = RGB_FORMATS.test(input.pixelFormat);
  const matrixTag = colour.matrix && swsMatrix(colour.matrix) ? colour.matrix : 'smpte170m';
  const range = colour.range ?? (/^yuvj/.test(input.pixelFormat) ? 'pc' : 'tv');
  const hdr = colour.transfer !== undefined && HDR_TRANSFERS.has(colour.transfer);
  const wide = colour.primaries !== undefined && WIDE_PRIMARIES.has(colour.primaries);
  const matrix = rgb ? 'gbr' : matrixTag;
  const yuvScale = rgb ? [] : [`in_color_matrix=${swsMatrix(matrixTag)!}`, `in_range=${range}`];
  if (!hdr && !wide) return { filters: [], scaleOptions: yuvScale, matrix, range, mapping: 'none' };

  const primaries = colour.primaries ?? 'bt2020';
  const transfer = colour.transfer ?? 'bt709';
  if (caps.zscale && (!hdr || caps.tonemap)) {
    // Everything explicit, so untagged frames (or a build that drops frame tags) convert alike.
    const from = `tin=${transfer}:pin=${primaries}:rin=${range}` + (rgb ? '' : `:min=${matrixTag}`);
    const filters = hdr
      ? [`zscale=${from}:t=linear:npl=100`, 'format=gbrpf32le', 'zscale=p=bt709', 'tonemap=tonemap=hable:desat=0', 'zscale=t=bt709:m=bt709:r=pc', 'format=gbrp']
      : [`zscale=${from}:t=linear`, 'format=gbrpf32le', 'zscale=p=bt709:t=bt709:m=bt709:r=pc', 'format=gbrp'];
    return { filters, scaleOptions: [], matrix, range, mapping: hdr ? 'hdr' : 'gamut' };
  }
  if (!hdr && caps.colorspace && !rgb) {
    return {
      filters: [`colorspace=all=bt709:iall=bt2020:irange=${range}:range=tv:format=yuv444p`],
      scaleOptions: ['in_color_matrix=bt709', 'in_range=tv'],
      matrix,
      range,
      mapping: 'gamut',
    };
  }
  throw new UnsupportedInputError(
    `Expected an ffmpeg with the zscale and tonemap filters to convert ${input.path} (${hdr ? `HDR, transfer ${transfer}` : `primaries ${primaries}`}) to SDR BT.709 but ${ffmpegBinary()} has ${caps.zscale ? 'no tonemap' : 'no zscale'}; set FFMPEG_PATH to a build with zimg`,
    input.path,
  );
}

/**
 * The encoder's side of the same contract (core/src/encode.ts owns its argument list): our RGBA
 * frames are SDR BT.709, so the RGB -> YUV conversion must use the BT.709 matrix (swscale's
 * default for RGB input is BT.601) into limited range, and the stream is tagged so. encoderArgs
 * puts BT709_YUV_SCALE before the `format=` step of the webm, mp4 and mov chains and adds
 * bt709OutputArgs() to their codec options; GIF is RGB and needs neither.
 */
export const BT709_YUV_SCALE = 'scale=out_color_matrix=bt709:out_range=tv';

export function bt709OutputArgs(): string[] {
  return ['-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', '-color_range', 'tv'];
}
