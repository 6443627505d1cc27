/**
 * Streaming decode: an ffmpeg child writes raw RGBA frames to its stdout; we copy them into
 * buffers from a fixed pool. When every buffer is in use (effects or the encoder are slower
 * than the decoder), stdout is paused, the pipe fills, and ffmpeg blocks on write: that is the
 * backpressure that keeps memory flat however long the clip is.
 *
 * Posterize time happens here, with ffmpeg's `fps=` filter placed FIRST in the chain, so the
 * frames it drops are never converted to RGBA, never piped, keyed or styled.
 */
import type { Readable } from 'node:stream';
import { FfmpegFailedError } from './errors.js';
import { spawnFfmpeg, type FfmpegExit, type FfmpegProcess } from './ffmpeg-process.js';
import { frameBytes, type Frame, type FrameSize } from './frame.js';
import type { ProbeResult } from './probe.js';

/**
 * A fixed set of frame buffers, allocated once per job. `shared` backs them with
 * SharedArrayBuffers, so that worker threads running the effect stack (stage-threads.ts) work on
 * the very same bytes: a frame crosses to a thread as its slot number, never as a copy.
 */
export class FramePool {
  private readonly free: Frame[] = [];
  private waiters: Array<() => void> = [];
  readonly size: FrameSize;
  readonly capacity: number;
  /** Every frame of the pool, by slot: `frames[i]` is slot i, whether free or in use. */
  readonly frames: readonly Frame[];

  constructor(size: FrameSize, capacity: number, { shared = false }: { shared?: boolean } = {}) {
    this.size = size;
    this.capacity = capacity;
    const bytes = frameBytes(size);
    const frames: Frame[] = [];
    for (let i = 0; i < capacity; i++) {
      const data = new Uint8Array(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
      frames.push({ data, width: size.width, height: size.height, index: 0, pts: 0 });
    }
    this.frames = frames;
    this.free.push(...frames);
  }

  /** A free frame, or undefined when all are in flight. */
  tryAcquire(): Frame | undefined {
    return this.free.pop();
  }

  release(frame: Frame): void {
    frame.alphaBounds = undefined;
    this.free.push(frame);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves the next time a frame is released. */
  whenReleased(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get available(): number {
    return this.free.length;
  }
}

export interface DecodeOptions {
  input: ProbeResult;
  /** Target rate for posterize time; null or undefined keeps the source rate. */
  fps?: number | null;
  /** Transparent pixels added on every side, so effects that draw outside (shadow, outline) are not clipped. */
  pad?: { left: number; top: number; right: number; bottom: number };
  pool: FramePool;
  /** First source frame to decode is at this time (seconds); for sampling. */
  seek?: number;
  /** Stop after this many frames (sampling); the child is then stopped. */
  maxFrames?: number;
  /** Extra filter after fps (e.g. `select`), before conversion to RGBA. */
  selectFilter?: string;
  /** Size the frames are scaled to before padding (the memory budget's fit); default the source's. */
  size?: FrameSize;
}

/** The `-vf` chain: drop frames first (cheap), convert to RGBA, then pad with transparency. */
export function decodeFilter(fps: number | null | undefined, pad?: DecodeOptions['pad'], selectFilter?: string, size?: FrameSize): string {
  const filters: string[] = [];
  if (fps) filters.push(`fps=${fps}`);
  if (size) filters.push(`scale=${size.width}:${size.height}`);
  if (selectFilter) filters.push(selectFilter);
  filters.push('format=rgba');
  if (pad && pad.left + pad.top + pad.right + pad.bottom > 0) {
    filters.push(`pad=iw+${pad.left + pad.right}:ih+${pad.top + pad.bottom}:${pad.left}:${pad.top}:color=black@0`);
  }
  return filters.join(',');
}

/** Input options that make ffmpeg decode an alpha plane where the default decoder would drop it. */
export function alphaDecoderArgs(input: ProbeResult): string[] {
  // FFmpeg's native VP8/VP9 decoders ignore the alpha side data of WebM; libvpx reads it.
  if (input.hasAlpha && input.codec === 'vp9') return ['-c:v', 'libvpx-vp9'];
  if (input.hasAlpha && input.codec === 'vp8') return ['-c:v', 'libvpx'];
  return [];
}

/**
 * Decodes `input` into frames from `pool`. Iterate with `for await`; each yielded frame belongs
 * to the caller until it calls `pool.release(frame)`.
 */
export class FrameDecoder implements AsyncIterable<Frame> {
  readonly process: FfmpegProcess;
  private readonly pool: FramePool;
  private readonly bytes: number;
  private readonly ready: Frame[] = [];
  private current: Frame | undefined;
  private offset = 0;
  /** Chunks (views, not copies) that arrived while no frame was free, in order. */
  private readonly waiting: Buffer[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private produced = 0;
  private readonly fps: number;
  private readonly maxFrames: number;
  private exit: FfmpegExit | undefined;
  private readonly stdout: Readable;

  constructor(options: DecodeOptions) {
    const { input, pool } = options;
    this.pool = pool;
    this.bytes = frameBytes(pool.size);
    this.fps = options.fps || input.fps;
    this.maxFrames = options.maxFrames ?? Number.POSITIVE_INFINITY;
    const args = [
      ...(options.seek ? ['-ss', String(options.seek)] : []),
      ...alphaDecoderArgs(input),
      '-i',
      input.path,
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-vf',
      decodeFilter(options.fps, options.pad, options.selectFilter, options.size),
      ...(Number.isFinite(this.maxFrames) ? ['-frames:v', String(this.maxFrames)] : []),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      'pipe:1',
    ];
    this.process = spawnFfmpeg(args);
    this.stdout = this.process.child.stdout!;
    this.stdout.on('data', (chunk: Buffer) => {
      // A chunk already in flight when we paused still arrives: queue it behind the others.
      if (this.waiting.length > 0) this.waiting.push(chunk);
      else this.take(chunk);
    });
    this.stdout.on('error', (error) => this.fail(error));
    this.process.exited.then((exit) => {
      this.exit = exit;
      if (exit.code !== 0) {
        this.fail(new FfmpegFailedError('decode', exit.code, exit.signal, this.produced, this.process.stderrTail()));
      } else {
        this.ended = true;
        this.notify();
      }
    });
  }

  /** Frames fully read so far. */
  get framesRead(): number {
    return this.produced;
  }

  /** ffmpeg's exit figures, once it has exited. */
  get exitInfo(): FfmpegExit | undefined {
    return this.exit;
  }

  /** Stop decoding now (cancellation, or enough frames for sampling). */
  kill(): void {
    this.process.kill();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Copy a stdout chunk into pool frames; pause when the pool runs dry. Returns false then. */
  private take(chunk: Buffer): boolean {
    const bytes = this.bytes;
    let pos = 0;
    while (pos < chunk.length) {
      if (!this.current) {
        const frame = this.pool.tryAcquire();
        if (!frame) {
          // Keep the rest of this chunk and stop reading until a frame is released.
          this.waiting.unshift(chunk.subarray(pos));
          if (!this.stdout.isPaused()) {
            this.stdout.pause();
            void this.pool.whenReleased().then(() => this.resume());
          }
          return false;
        }
        this.current = frame;
        this.offset = 0;
      }
      const n = Math.min(chunk.length - pos, bytes - this.offset);
      this.current.data.set(chunk.subarray(pos, pos + n), this.offset);
      this.offset += n;
      pos += n;
      if (this.offset === bytes) {
        const frame = this.current;
        frame.index = this.produced;
        frame.pts = this.produced / this.fps;
        this.produced++;
        this.current = undefined;
        this.ready.push(frame);
        this.notify();
      }
    }
    return true;
  }

  private resume(): void {
    while (this.waiting.length > 0) {
      const chunk = this.waiting.shift()!;
      if (!this.take(chunk)) {
        // take() re-queued the rest at the front and, the stream being paused, we must
        // register for the next release ourselves.
        void this.pool.whenReleased().then(() => this.resume());
        return;
      }
    }
    this.stdout.resume();
    // The iterator may be waiting for exactly this: the last queued chunks taken after the end.
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    let yielded = 0;
    while (yielded < this.maxFrames) {
      if (this.failure) throw this.failure;
      const frame = this.ready.shift();
      if (frame) {
        yielded++;
        yield frame;
        continue;
      }
      // ffmpeg may have exited and stdout ended while chunks still wait for a free frame (the
      // pool was empty when they came): those are frames too, so the end is only the end once
      // they have been taken.
      if (this.ended && this.waiting.length === 0) {
        // A partial frame at the end means the stream stopped mid-frame: not a frame.
        if (this.current) {
          this.pool.release(this.current);
          this.current = undefined;
        }
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    // Enough frames for the caller: stop the child rather than let it decode the rest.
    this.kill();
  }
}
