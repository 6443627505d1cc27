/**
 * A before/after contact sheet: a few moments of the clip, source frames on the top row and the
 * rendered frames below, composited over a checkerboard so that alpha shows. Frames are decoded by
 * ffmpeg straight to small RGBA (one short child per frame, seeking first, so only a handful of
 * frames is ever decoded) and composed by sharp.
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { CancelledError, FfmpegFailedError, ffmpegBinary, probe, type ProbeResult } from '@stickerkey/core';
import sharp from 'sharp';

export interface ContactSheetOptions {
  /** The source clip (before). */
  source: string;
  /** The rendered clip (after). */
  result: string;
  /** Where the PNG goes. */
  output: string;
  /** How many moments, spread evenly over the clip. Default 4. */
  frames?: number;
  /** Width of one cell in pixels. Default 320. */
  cellWidth?: number;
  signal?: AbortSignal;
}

export interface ContactSheet {
  output: string;
  width: number;
  height: number;
  /** The moments shown, in seconds. */
  times: number[];
}

/** Layout constants, exported so tests can compute the expected size independently of the code. */
export const SHEET_LAYOUT = { padding: 12, caption: 22, title: 30 } as const;

export interface SheetSize {
  width: number;
  height: number;
  sourceHeight: number;
  resultHeight: number;
}

/** Even height for `cellWidth` at the aspect of `width` x `height`. */
function cellHeight(cellWidth: number, width: number, height: number): number {
  return Math.max(2, Math.round((cellWidth * height) / width / 2) * 2);
}

export function contactSheetSize(
  frames: number,
  cellWidth: number,
  source: { width: number; height: number },
  result: { width: number; height: number },
): SheetSize {
  const { padding, caption, title } = SHEET_LAYOUT;
  const sourceHeight = cellHeight(cellWidth, source.width, source.height);
  const resultHeight = cellHeight(cellWidth, result.width, result.height);
  return {
    width: padding + frames * (cellWidth + padding),
    height: title + (caption + sourceHeight + padding) + (caption + resultHeight + padding),
    sourceHeight,
    resultHeight,
  };
}

/** Decode the frame shown at `time` to straight RGBA at `width` x `height`. */
export function decodeFrameAt(clip: ProbeResult, time: number, width: number, height: number, signal?: AbortSignal): Promise<Buffer> {
  // FFmpeg's native VP9 decoder drops WebM's alpha side data; libvpx reads it.
  const decoder = clip.codec === 'vp9' ? ['-c:v', 'libvpx-vp9'] : clip.codec === 'vp8' ? ['-c:v', 'libvpx'] : [];
  const args = [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-ss',
    time.toFixed(3),
    ...decoder,
    '-i',
    clip.path,
    '-frames:v',
    '1',
    '-vf',
    `scale=${width}:${height}:flags=area,format=rgba`,
    '-f',
    'rawvideo',
    'pipe:1',
  ];
  const expected = width * height * 4;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const child = spawn(ffmpegBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (code, killed) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(new CancelledError());
      const data = Buffer.concat(chunks);
      if (code !== 0 || data.length < expected) {
        const tail = stderr.trim().split('\n').slice(-5).join('\n') || `got ${data.length} of ${expected} bytes at ${time.toFixed(3)} s`;
        return reject(new FfmpegFailedError('decode', code, killed, 0, tail));
      }
      resolve(data.subarray(0, expected));
    });
  });
}

/** A light/dark checkerboard as raw RGBA, so transparent areas read as transparent. */
function checkerboard(width: number, height: number, square = 10): Buffer {
  const out = Buffer.alloc(width * height * 4);
  for (let y = 0, p = 0; y < height; y++) {
    const rowOdd = Math.floor(y / square) & 1;
    for (let x = 0; x < width; x++, p += 4) {
      const v = ((Math.floor(x / square) & 1) ^ rowOdd) === 1 ? 204 : 245;
      out[p] = v;
      out[p + 1] = v;
      out[p + 2] = v;
      out[p + 3] = 255;
    }
  }
  return out;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export async function makeContactSheet(options: ContactSheetOptions): Promise<ContactSheet> {
  const count = options.frames ?? 4;
  const cellWidth = options.cellWidth ?? 320;
  const [source, result] = await Promise.all([probe(options.source), probe(options.result)]);
  const size = contactSheetSize(count, cellWidth, source, result);
  const { padding, caption, title } = SHEET_LAYOUT;
  // Middle of each of `count` equal slices of the shorter clip: never past either end. (A streamed
  // source has no duration in its header; the result, which we wrote, always has one.)
  const duration = Math.min(source.duration ?? Number.POSITIVE_INFINITY, result.duration ?? source.duration ?? 0);
  const times = Array.from({ length: count }, (_, i) => (duration * (i + 0.5)) / count);

  const layers: sharp.OverlayOptions[] = [];
  const texts: string[] = [
    `<text x="${padding}" y="${title - 9}" font-size="16" font-weight="bold" fill="#ffffff">${escapeXml(
      `before / after: ${basename(options.source)} -> ${basename(options.result)}`,
    )}</text>`,
  ];
  const sourceTop = title + caption;
  const resultTop = sourceTop + size.sourceHeight + padding + caption;
  const board = checkerboard(cellWidth, size.resultHeight);
  // One frame at a time: a sheet costs a few small buffers, whatever the clip.
  for (let i = 0; i < count; i++) {
    const left = padding + i * (cellWidth + padding);
    const before = await decodeFrameAt(source, times[i]!, cellWidth, size.sourceHeight, options.signal);
    const after = await decodeFrameAt(result, times[i]!, cellWidth, size.resultHeight, options.signal);
    layers.push(
      { input: before, raw: { width: cellWidth, height: size.sourceHeight, channels: 4 }, left, top: sourceTop },
      { input: board, raw: { width: cellWidth, height: size.resultHeight, channels: 4 }, left, top: resultTop },
      { input: after, raw: { width: cellWidth, height: size.resultHeight, channels: 4 }, left, top: resultTop },
    );
    const t = `${times[i]!.toFixed(2)} s`;
    texts.push(
      `<text x="${left}" y="${sourceTop - 6}" font-size="13" fill="#dddddd">before · ${t}</text>`,
      `<text x="${left}" y="${resultTop - 6}" font-size="13" fill="#dddddd">after · ${t}</text>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">${texts.join('')}</svg>`;
  layers.push({ input: Buffer.from(svg), left: 0, top: 0 });

  await sharp({ create: { width: size.width, height: size.height, channels: 4, background: '#202124' } })
    .composite(layers)
    .png()
    .toFile(options.output);
  return { output: options.output, width: size.width, height: size.height, times };
}
