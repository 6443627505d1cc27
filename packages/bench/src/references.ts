/**
 * The same-run references our pipeline is measured against, all with core's own encoder
 * arguments (`encoderArgs`) and decode filter (`decodeFilter`: the same `fps=` posterize and the
 * same canvas padding), so that only the work between decode and encode differs:
 * - pipe: ffmpeg decode to raw RGBA | ffmpeg encode, two processes like our pipeline;
 * - single: one ffmpeg decoding and encoding (no raw frames crossing a pipe);
 * - filtergraph: the whole sticker job as ONE ffmpeg filtergraph: posterize, chromakey, despill,
 *   displace by a noise map, multiply by a paper texture, emboss-style bevel (3x3 convolution),
 *   blurred offset shadow and overlay. Not pixel-identical to our stack; the same kinds and amount
 *   of work, which is what a cost reference needs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeFilter, encoderArgs, ffmpegBinary, rawInputArgs, type FrameSize, type ProbeResult } from '@stickerkey/core';
import type { BenchFormat, Screen } from './cases.js';

const run = promisify(execFile);

export interface Padding {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface ReferenceJob {
  input: string;
  output: string;
  format: BenchFormat;
  posterize: number;
  /** The probed fixture: decodeFilter converts it exactly as the pipeline does (upright, its own matrix and range). */
  source: ProbeResult;
  /** Padding our pipeline gave the canvas (the stack's margins), so the sizes match. */
  pad: Padding;
  screen: Screen;
  /** Measured screen colour, 0xRRGGBB. */
  screenColor: string;
  /** Noise map (RGBA PNG, 128 = no displacement, alpha 128) and paper texture, canvas-sized. */
  displacementMap: string;
  texture: string;
}

export function canvasOf(job: Pick<ReferenceJob, 'source' | 'pad'>): FrameSize {
  return { width: job.source.width + job.pad.left + job.pad.right, height: job.source.height + job.pad.top + job.pad.bottom };
}

/** Recovers the padding from the canvas our pipeline reported (core pads by the margins, then to even). */
export function paddingFor(source: FrameSize, canvas: FrameSize): Padding {
  const left = Math.floor((canvas.width - source.width) / 2);
  const top = Math.floor((canvas.height - source.height) / 2);
  return { left, top, right: canvas.width - source.width - left, bottom: canvas.height - source.height - top };
}

/** Splits encoderArgs' own `-vf` out, so a single-process command can chain it after ours. */
export function splitEncoderFilter(args: readonly string[]): { filter: string | null; rest: string[] } {
  const at = args.indexOf('-vf');
  if (args.includes('-filter_complex')) {
    throw new Error(`Expected encoder arguments with a simple -vf chain but received ${args.join(' ')}`);
  }
  if (at < 0) return { filter: null, rest: [...args] };
  return { filter: args[at + 1] ?? null, rest: [...args.slice(0, at), ...args.slice(at + 2)] };
}

function encoder(job: ReferenceJob) {
  return encoderArgs(job.format, { size: canvasOf(job), fps: job.posterize });
}

const common = ['-v', 'error', '-nostdin', '-y'];

export function decodeArgs(job: ReferenceJob): string[] {
  return [
    ...common,
    '-noautorotate',
    '-i',
    job.input,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-vf',
    decodeFilter(job.source, { fps: job.posterize, pad: job.pad }),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    'pipe:1',
  ];
}

export function encodeArgs(job: ReferenceJob): string[] {
  return [...common, ...rawInputArgs(canvasOf(job), job.posterize), ...encoder(job), job.output];
}

export function singleArgs(job: ReferenceJob): string[] {
  const { filter, rest } = splitEncoderFilter(encoder(job));
  const vf = [decodeFilter(job.source, { fps: job.posterize, pad: job.pad }), filter].filter(Boolean).join(',');
  return [...common, '-noautorotate', '-i', job.input, '-map', '0:v:0', '-an', '-sn', '-vf', vf, ...rest, job.output];
}

export function filtergraph(job: ReferenceJob, encoderFilter: string | null): string {
  const { width, height } = canvasOf(job);
  const p = job.pad;
  const despill = job.screen === 'green' ? 'green' : 'blue';
  const emboss = `'-2 -1 0 -1 1 1 0 1 2'`;
  const shift = 12;
  return [
    `[0:v]fps=${job.posterize},format=yuva444p,chromakey=color=${job.screenColor}:similarity=0.14:blend=0.08,` +
      `format=rgba,despill=type=${despill},pad=${width}:${height}:${p.left}:${p.top}:color=black@0,format=gbrap[k]`,
    `[1:v]format=gbrap,split[dx][dy]`,
    `[k][dx][dy]displace=edge=smear[d]`,
    `[2:v]format=gbrap[t]`,
    `[d][t]blend=c0_mode=multiply:c1_mode=multiply:c2_mode=multiply:c3_mode=normal:shortest=1[m]`,
    `[m]convolution=0m=${emboss}:1m=${emboss}:2m=${emboss}:3m='0 0 0 0 1 0 0 0 0'[b]`,
    `[b]split[s][fg]`,
    `[s]colorchannelmixer=rr=0:gg=0:bb=0:aa=0.6,gblur=sigma=8,` +
      `pad=iw+${shift}:ih+${shift}:${shift}:${shift}:color=black@0,crop=iw-${shift}:ih-${shift}:0:0[sh]`,
    `[sh][fg]overlay=x=0:y=0:format=rgb${encoderFilter ? `,${encoderFilter}` : ''}[out]`,
  ].join(';');
}

export function filtergraphArgs(job: ReferenceJob): string[] {
  const { filter, rest } = splitEncoderFilter(encoder(job));
  const loop = ['-loop', '1', '-framerate', String(job.posterize)];
  return [
    ...common,
    '-i',
    job.input,
    ...loop,
    '-i',
    job.displacementMap,
    ...loop,
    '-i',
    job.texture,
    '-filter_complex',
    filtergraph(job, filter),
    '-map',
    '[out]',
    ...rest,
    job.output,
  ];
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `sh -c "decode | encode"`: the kernel pipe joins them as in a shell, and sh is one root to measure. */
export function pipeCommand(job: ReferenceJob): { command: string; args: string[] } {
  const ff = shellQuote(ffmpegBinary());
  const line = `${ff} ${decodeArgs(job).map(shellQuote).join(' ')} | ${ff} ${encodeArgs(job).map(shellQuote).join(' ')}`;
  return { command: 'sh', args: ['-c', line] };
}

/** Screen colour of a clip from the top-left corner of its first frame, as 0xRRGGBB. */
export async function sampleScreenColor(input: string): Promise<string> {
  const { stdout } = await run(
    ffmpegBinary(),
    ['-v', 'error', '-i', input, '-frames:v', '1', '-vf', 'crop=16:16:4:4,scale=1:1:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { encoding: 'buffer' },
  );
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  const [r = 0, g = 0, b = 0] = stdout; // one rgb24 pixel
  return `0x${hex(r)}${hex(g)}${hex(b)}`;
}

/** The filtergraph's inputs, generated once per canvas size (setup, not measured). */
export async function makeReferenceInputs(size: FrameSize, map: string, texture: string): Promise<void> {
  const s = `${size.width}x${size.height}`;
  const wave = `128+6*sin(X/9)*cos(Y/11)`;
  // prettier-ignore
  await run(ffmpegBinary(), [
    '-v', 'error', '-y', '-f', 'lavfi',
    '-i', `nullsrc=s=${s},format=rgba,geq=r='${wave}':g='${wave}':b='${wave}':a=128`, '-frames:v', '1',
    map,
  ]);
  await run(ffmpegBinary(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=0xe8dcc8:s=${s},noise=alls=30:allf=u,format=rgba`, '-frames:v', '1', texture]);
}

/** Frames in a finished output, counted from its packets (no decoding). */
export async function countFrames(output: string, ffprobe: string): Promise<number> {
  const { stdout } = await run(ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=nb_read_packets',
    '-of',
    'csv=p=0',
    output,
  ]);
  return Number.parseInt(stdout.trim(), 10);
}
