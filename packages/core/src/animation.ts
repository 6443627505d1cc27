/**
 * What the containers of animated images say about their animation, read from their own block
 * structure: frame count, each frame's duration, how often it plays, whether it is indexed
 * colour. ffprobe does not report these (no loop count for GIF, APNG or WebP; no frame count or
 * duration for APNG; nothing at all for animated WebP, which ffmpeg 5.1 cannot decode), and the
 * sticker platforms set limits on every one of them.
 *
 * Each reader walks the file's blocks and skips their payloads (GIF sub-blocks, PNG chunks, RIFF
 * chunks), reading a few bytes at a time through a small window: no image data is decoded and
 * memory does not grow with the file. The formats: GIF89a (w3.org/Graphics/GIF/spec-gif89a.txt),
 * APNG (wiki.mozilla.org/APNG_Specification), WebP container (developers.google.com/speed/webp/docs/riff_container).
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { UnsupportedInputError } from './errors.js';

export type AnimatedContainer = 'gif' | 'png' | 'webp';

export interface AnimationInfo {
  container: AnimatedContainer;
  /** The canvas (GIF logical screen, PNG IHDR, WebP VP8X canvas). */
  width: number;
  height: number;
  /** Frames as the file stores them (1 for a still image). */
  frames: number;
  /** Each frame's display time in milliseconds, as written (a GIF's 0 cs is 0 here, whatever browsers make of it). */
  frameMs: number[];
  /** Sum of frameMs, in seconds: one pass of the animation. */
  durationSeconds: number;
  /** How many times it plays: Infinity for forever, 1 for once (GIF without a loop block, APNG plays 1, WebP loop 1). */
  plays: number;
  /** Indexed colour: every GIF, a PNG of colour type 3. */
  palette: boolean;
  /** The format can carry transparency here (GIF transparent index, PNG alpha or tRNS, WebP alpha flag); not that any pixel is see-through. */
  alphaChannel: boolean;
}

// ---------------------------------------------------------------------------------------------
// A forward reader over a file through a small window.

const WINDOW = 64 * 1024;

class FileWindow {
  private readonly fd: number;
  private readonly buffer = Buffer.alloc(WINDOW);
  /** File offset of buffer[0] and how many bytes from there are valid. */
  private start = 0;
  private length = 0;
  /** The file offset the next read starts at. */
  position = 0;

  constructor(
    readonly path: string,
    writable = false,
  ) {
    this.fd = openSync(path, writable ? 'r+' : 'r');
  }

  close(): void {
    closeSync(this.fd);
  }

  /** `count` bytes at the current position (count <= WINDOW), or fewer at the end of the file. */
  private window(count: number): Buffer {
    if (this.position < this.start || this.position + count > this.start + this.length) {
      this.start = this.position;
      this.length = readSync(this.fd, this.buffer, 0, WINDOW, this.position);
    }
    const from = this.position - this.start;
    return this.buffer.subarray(from, Math.min(this.length, from + count));
  }

  /** Exactly `count` bytes, or a refusal naming what was being read when the file ended. */
  bytes(count: number, what: string): Buffer {
    const got = this.window(count);
    if (got.length < count) throw truncated(this.path, what);
    this.position += count;
    return got;
  }

  u8(what: string): number {
    return this.bytes(1, what)[0]!;
  }

  /** True when no byte is left. */
  atEnd(): boolean {
    return this.window(1).length === 0;
  }

  skip(count: number): void {
    this.position += count;
  }

  writeByte(offset: number, value: number): void {
    writeSync(this.fd, Buffer.of(value), 0, 1, offset);
    if (offset >= this.start && offset < this.start + this.length) this.buffer[offset - this.start] = value;
  }
}

function truncated(path: string, what: string): UnsupportedInputError {
  return new UnsupportedInputError(`Expected ${path} to be complete but it ends inside its ${what}`, path);
}

function notA(path: string, what: string): UnsupportedInputError {
  return new UnsupportedInputError(`Expected ${path} to be ${what} but its header says otherwise`, path);
}

function finish(container: AnimatedContainer, fields: Omit<AnimationInfo, 'container' | 'durationSeconds'>): AnimationInfo {
  const total = fields.frameMs.reduce((sum, ms) => sum + ms, 0);
  return { container, ...fields, durationSeconds: total / 1000 };
}

// ---------------------------------------------------------------------------------------------
// GIF

const GIF_EXTENSION = 0x21;
const GIF_IMAGE = 0x2c;
const GIF_TRAILER = 0x3b;
const GIF_GRAPHIC_CONTROL = 0xf9;
const GIF_APPLICATION = 0xff;
/** Disposal method 2 in a Graphic Control Extension: the frame's area is cleared before the next frame. */
export const GIF_DISPOSE_TO_BACKGROUND = 2;

interface GifWalk {
  info: AnimationInfo;
  /** File offset of each Graphic Control Extension's packed byte, and the disposal it holds. */
  controls: { offset: number; disposal: number }[];
}

function skipSubBlocks(file: FileWindow, what: string): void {
  for (let size = file.u8(what); size !== 0; size = file.u8(what)) file.skip(size);
}

function walkGif(file: FileWindow): GifWalk {
  const signature = file.bytes(6, 'header').toString('latin1');
  if (signature !== 'GIF89a' && signature !== 'GIF87a') throw notA(file.path, 'a GIF');
  const screen = file.bytes(7, 'logical screen descriptor');
  const width = screen.readUInt16LE(0);
  const height = screen.readUInt16LE(2);
  const packed = screen[4]!;
  if (packed & 0x80) file.skip(3 * (1 << ((packed & 7) + 1)));

  const frameMs: number[] = [];
  const controls: GifWalk['controls'] = [];
  let plays = 1;
  let pendingDelayMs = 0;
  let transparency = false;
  for (;;) {
    const introducer = file.u8('blocks');
    if (introducer === GIF_TRAILER) break;
    if (introducer === GIF_IMAGE) {
      const descriptor = file.bytes(9, 'image descriptor');
      const local = descriptor[8]!;
      if (local & 0x80) file.skip(3 * (1 << ((local & 7) + 1)));
      file.skip(1); // LZW minimum code size
      skipSubBlocks(file, 'image data');
      frameMs.push(pendingDelayMs);
      pendingDelayMs = 0;
      continue;
    }
    if (introducer !== GIF_EXTENSION) throw notA(file.path, 'a GIF (unknown block 0x' + introducer.toString(16) + ')');
    const label = file.u8('extension');
    if (label === GIF_GRAPHIC_CONTROL) {
      const size = file.u8('graphic control');
      const offset = file.position;
      const control = file.bytes(Math.min(size, 4), 'graphic control');
      controls.push({ offset, disposal: (control[0]! >> 2) & 7 });
      if (control[0]! & 1) transparency = true;
      pendingDelayMs = control.readUInt16LE(1) * 10;
      file.skip(size - Math.min(size, 4));
      skipSubBlocks(file, 'graphic control');
    } else if (label === GIF_APPLICATION) {
      const size = file.u8('application extension');
      const id = file.bytes(size, 'application extension').toString('latin1');
      if (id === 'NETSCAPE2.0' || id === 'ANIMEXTS1.0') {
        const sub = file.u8('loop block');
        const data = file.bytes(sub, 'loop block');
        // Loop count n repeats the animation n times after the first pass; 0 is forever.
        if (sub >= 3 && data[0] === 1) {
          const loops = data.readUInt16LE(1);
          plays = loops === 0 ? Infinity : loops + 1;
        }
      }
      skipSubBlocks(file, 'application extension');
    } else {
      skipSubBlocks(file, 'extension');
    }
  }
  return {
    info: finish('gif', { width, height, frames: frameMs.length, frameMs, plays, palette: true, alphaChannel: transparency }),
    controls,
  };
}

// ---------------------------------------------------------------------------------------------
// PNG / APNG

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_PALETTE = 3;

function readPng(file: FileWindow): AnimationInfo {
  if (!file.bytes(8, 'signature').equals(PNG_SIGNATURE)) throw notA(file.path, 'a PNG');
  let width = 0;
  let height = 0;
  let colourType = -1;
  let transparencyChunk = false;
  let animated = false;
  let plays = 1;
  let declaredFrames = 1;
  const frameMs: number[] = [];
  for (;;) {
    const head = file.bytes(8, 'chunks');
    const length = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    const dataStart = file.position;
    if (type === 'IHDR') {
      const ihdr = file.bytes(13, 'IHDR');
      width = ihdr.readUInt32BE(0);
      height = ihdr.readUInt32BE(4);
      colourType = ihdr[9]!;
    } else if (type === 'acTL') {
      const actl = file.bytes(8, 'acTL');
      animated = true;
      declaredFrames = actl.readUInt32BE(0);
      const numPlays = actl.readUInt32BE(4);
      plays = numPlays === 0 ? Infinity : numPlays;
    } else if (type === 'fcTL') {
      const fctl = file.bytes(26, 'fcTL');
      const numerator = fctl.readUInt16BE(20);
      const denominator = fctl.readUInt16BE(22) || 100; // the spec: a zero denominator means 1/100 s
      frameMs.push((numerator / denominator) * 1000);
    } else if (type === 'tRNS') {
      transparencyChunk = true;
    }
    file.position = dataStart + length + 4; // data and CRC
    if (type === 'IEND') break;
  }
  if (colourType < 0) throw notA(file.path, 'a PNG (no IHDR)');
  const alphaChannel = colourType === 4 || colourType === 6 || transparencyChunk;
  // A still PNG (or an APNG reader that skips acTL) is one frame shown for no set time.
  const frames = animated ? frameMs.length : 1;
  if (animated && frames !== declaredFrames) {
    throw new UnsupportedInputError(`Expected ${file.path} to hold the ${declaredFrames} frames its acTL declares but it holds ${frames}`, file.path);
  }
  return finish('png', { width, height, frames, frameMs: animated ? frameMs : [0], plays, palette: colourType === PNG_PALETTE, alphaChannel });
}

// ---------------------------------------------------------------------------------------------
// WebP

const WEBP_ALPHA_FLAG = 0x10;

function readWebp(file: FileWindow): AnimationInfo {
  const riff = file.bytes(12, 'RIFF header');
  if (riff.toString('latin1', 0, 4) !== 'RIFF' || riff.toString('latin1', 8, 12) !== 'WEBP') throw notA(file.path, 'a WebP');
  const end = 8 + riff.readUInt32LE(4);
  let width = 0;
  let height = 0;
  let alphaChannel = false;
  let plays = 1;
  const frameMs: number[] = [];
  let still = false;
  while (file.position + 8 <= end && !file.atEnd()) {
    const head = file.bytes(8, 'chunks');
    const fourcc = head.toString('latin1', 0, 4);
    const size = head.readUInt32LE(4);
    const dataStart = file.position;
    if (fourcc === 'VP8X') {
      const vp8x = file.bytes(10, 'VP8X');
      alphaChannel = (vp8x[0]! & WEBP_ALPHA_FLAG) !== 0;
      width = vp8x.readUIntLE(4, 3) + 1;
      height = vp8x.readUIntLE(7, 3) + 1;
    } else if (fourcc === 'ANIM') {
      const loops = file.bytes(6, 'ANIM').readUInt16LE(4);
      plays = loops === 0 ? Infinity : loops;
    } else if (fourcc === 'ANMF') {
      frameMs.push(file.bytes(16, 'ANMF').readUIntLE(12, 3));
    } else if (fourcc === 'VP8 ' && width === 0) {
      // A simple (still, lossy) WebP: the size is in the VP8 key frame header.
      const vp8 = file.bytes(10, 'VP8');
      width = vp8.readUInt16LE(6) & 0x3fff;
      height = vp8.readUInt16LE(8) & 0x3fff;
      still = true;
    } else if (fourcc === 'VP8L' && width === 0) {
      // A simple lossless WebP: 14-bit width-1 and height-1 after the signature byte, then the alpha hint.
      const bits = file.bytes(5, 'VP8L').readUInt32LE(1);
      width = (bits & 0x3fff) + 1;
      height = ((bits >> 14) & 0x3fff) + 1;
      alphaChannel = ((bits >> 28) & 1) === 1;
      still = true;
    } else if (fourcc === 'VP8 ' || fourcc === 'VP8L') {
      still = true;
    }
    file.position = dataStart + size + (size & 1); // chunks are padded to an even size
  }
  if (width === 0) throw notA(file.path, 'a WebP (no image chunk)');
  const animated = frameMs.length > 0;
  return finish('webp', {
    width,
    height,
    frames: animated ? frameMs.length : still ? 1 : 0,
    frameMs: animated ? frameMs : [0],
    plays,
    palette: false,
    // An animation's canvas starts transparent and a frame may cover only part of it (libwebp
    // crops frames to what changed), so it can show transparency with the alpha flag unset.
    alphaChannel: alphaChannel || animated,
  });
}

// ---------------------------------------------------------------------------------------------

/** The container an animated image's first bytes name, or undefined for anything else. */
export function sniffAnimatedContainer(head: Uint8Array): AnimatedContainer | undefined {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1', 0, Math.min(12, head.byteLength));
  if (text.startsWith('GIF8')) return 'gif';
  if (head.byteLength >= 8 && PNG_SIGNATURE.equals(Buffer.from(head.subarray(0, 8)))) return 'png';
  if (text.startsWith('RIFF') && text.slice(8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/**
 * Reads `path`'s animation facts from its container. Refuses (UNSUPPORTED_INPUT) a file that is
 * none of GIF, PNG/APNG or WebP, or that ends inside a block.
 */
export function readAnimationInfo(path: string): AnimationInfo {
  const file = new FileWindow(path);
  try {
    const head = Buffer.from(file.bytes(12, 'header'));
    file.position = 0;
    switch (sniffAnimatedContainer(head)) {
      case 'gif':
        return walkGif(file).info;
      case 'png':
        return readPng(file);
      case 'webp':
        return readWebp(file);
      default:
        throw notA(path, 'a GIF, PNG or WebP');
    }
  } finally {
    file.close();
  }
}

/**
 * Sets every frame of the GIF at `path` to dispose to background, in place (one byte per frame),
 * and returns how many it changed. For GIF encoders that leave every frame in place (ffmpeg before
 * its translucent-frame handling: the bundled 2018 build): over a transparent background each frame
 * would then show all earlier ones through its transparent pixels. Only right for GIFs whose frames
 * are each a whole picture (no inter-frame deltas): encode.ts writes them so for such encoders.
 */
export function disposeGifFramesToBackground(path: string): number {
  return setGifDisposal(path, GIF_DISPOSE_TO_BACKGROUND);
}

/** Sets every frame's disposal method (0-7) in place; returns how many frames changed. */
export function setGifDisposal(path: string, disposal: number): number {
  const file = new FileWindow(path, true);
  try {
    const { controls } = walkGif(file);
    let changed = 0;
    for (const control of controls) {
      if (control.disposal === disposal) continue;
      file.position = control.offset;
      const packed = file.u8('graphic control');
      file.writeByte(control.offset, (packed & ~(7 << 2)) | ((disposal & 7) << 2));
      changed++;
    }
    return changed;
  } finally {
    file.close();
  }
}

/** The disposal method of each frame of a GIF (for tests and the ffmpeg capability check). */
export function gifDisposals(path: string): number[] {
  const file = new FileWindow(path);
  try {
    return walkGif(file).controls.map((control) => control.disposal);
  } finally {
    file.close();
  }
}
