/**
 * Streaming decode: an ffmpeg child writes raw RGBA frames to its stdout; we copy them into
 * buffers from a fixed pool. When every buffer is in use (effects or the encoder are slower
 * than the decoder), stdout is paused, the pipe fills, and ffmpeg blocks on write: that is the
 * backpressure that keeps memory flat however long the clip is.
 *
 * Posterize time happens here, with ffmpeg's `fps=` filter placed FIRST in the chain, so the
 * frames it drops are never converted to RGBA, never piped, keyed or styled.
 *
 * The canvas's transparent margins (`pad`) are ours to add, not ffmpeg's: each row ffmpeg writes
 * is copied to its place in the pool frame, a copy we make anyway, and the margins are cleared.
 * ffmpeg's `pad` filter cost a whole extra frame copy per frame in the decoder plus 11% more bytes
 * through the pipe at 1080p (1920x1080 in a 2004x1164 canvas): 0.1-0.6 s of the decoder's
 * ~3 s of CPU on the 10 s 1080p job (perf stat, 4 pairs).
 */
import type { Readable } from 'node:stream';
import { colourPlan } from './colour.js';
import { availableCores } from './cores.js';
import { FfmpegFailedError, UnsupportedInputError } from './errors.js';
import { spawnFfmpeg, type FfmpegProcess } from './ffmpeg-process.js';
import { frameBytes, type Bounds, type Frame, type FrameSize } from './frame.js';
import { checkDuration, checkFrames, type ProbeLimits, type ProbeResult } from './probe.js';

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
  /** Target rate for posterize time; null or undefined keeps the source's average rate. */
  fps?: number | null;
  /**
   * The size frames are scaled to before padding; default: the probe's upright display size.
   * (A canvas scaled down to fit a memory budget, or a sticker platform's target.)
   */
  size?: FrameSize;
  /**
   * The part of the upright display picture to keep (display pixels), cut before the scale so a
   * crop to the character costs neither conversion nor scaling of the rest; `size` is then the
   * size that part is scaled to (default: the crop's own size).
   */
  crop?: Bounds;
  /** Decode only the first this many seconds of the source (a sticker platform's duration limit). */
  duration?: number;
  /**
   * A rough picture is enough (a search at a small size): the decoder skips its loop filter and the
   * frames nothing refers to (disposable B-frames), which the `fps` filter then fills with the frame
   * before. About 40% less decoding on an x264 upload.
   */
  rough?: boolean;
  /** Transparent pixels added on every side, so effects that draw outside (shadow, outline) are not clipped. */
  pad?: { left: number; top: number; right: number; bottom: number };
  pool: FramePool;
  /** First source frame to decode is at this time (seconds); for sampling. */
  seek?: number;
  /** Stop after this many frames (sampling); the child is then stopped. */
  maxFrames?: number;
  /**
   * Enforced on what actually comes, frame by frame (a streamed WebM's header says nothing, a
   * damaged one may lie): past them the decoder stops and fails with LIMIT_EXCEEDED.
   */
  limits?: ProbeLimits;
  /** Cores the decoder may use; default availableCores() (a container's CPU quota counts). */
  cores?: number;
}

/** The filters that turn the coded picture upright (see ProbeResult.rotation and .mirrored). */
export function uprightFilters(input: Pick<ProbeResult, 'rotation' | 'mirrored'>): string[] {
  const mirrored = input.mirrored;
  switch (input.rotation) {
    case 90:
      return [mirrored ? 'transpose=cclock_flip' : 'transpose=clock'];
    case 270:
      return [mirrored ? 'transpose=clock_flip' : 'transpose=cclock'];
    case 180:
      return mirrored ? ['vflip'] : ['hflip', 'vflip'];
    default:
      return mirrored ? ['hflip'] : [];
  }
}

/**
 * The `-vf` chain, every step explicit so that the size we expect is the size we get on every
 * ffmpeg version (the decoder runs with -noautorotate):
 * 1. `fps`: posterize, or the source's average rate. Dropped frames go first (cheap); a VFR
 *    source is resampled by timestamp to a constant rate, since raw frames carry no timestamps
 *    and the encoder writes them at one rate: the output keeps the source's duration.
 * 2. upright (transpose/flip), still in YUV, where it is cheapest;
 * 3. HDR/wide gamut to SDR BT.709 (colour.ts); 4. ONE scale to the display size (square pixels,
 *    or `size`) that is also the RGBA conversion, with the source's own matrix and range;
 * 5. transparent padding.
 */
export function decodeFilter(input: ProbeResult, options: Pick<DecodeOptions, 'fps' | 'size' | 'pad' | 'crop'> = {}): string {
  const { pad, crop } = options;
  const size = options.size ?? (crop ? { width: crop.right - crop.left, height: crop.bottom - crop.top } : input);
  const colour = colourPlan(input);
  const filters: string[] = [`fps=${options.fps || input.fps}`];
  filters.push(...uprightFilters(input));
  if (crop) filters.push(cropFilter(input, crop));
  filters.push(...colour.filters);
  filters.push([`scale=w=${size.width}:h=${size.height}`, ...colour.scaleOptions].join(':'), 'format=rgba', 'setsar=1');
  if (pad && pad.left + pad.top + pad.right + pad.bottom > 0) {
    filters.push(`pad=iw+${pad.left + pad.right}:ih+${pad.top + pad.bottom}:${pad.left}:${pad.top}:color=black@0`);
  }
  return filters.join(',');
}

/**
 * `crop` given in display pixels, applied to the upright coded picture: the coded picture may be
 * narrower or wider than the display (non-square pixels), so the rectangle is taken as a
 * fraction of the input (iw, ih) rather than as coded pixels. Still in YUV: the cheapest place.
 */
function cropFilter(input: FrameSize, crop: Bounds): string {
  const fx = (n: number) => `iw*${n}/${input.width}`;
  const fy = (n: number) => `ih*${n}/${input.height}`;
  return `crop=w=${fx(crop.right - crop.left)}:h=${fy(crop.bottom - crop.top)}:x=${fx(crop.left)}:y=${fy(crop.top)}`;
}

/** Input options that make ffmpeg decode an alpha plane where the default decoder would drop it. */
export function alphaDecoderArgs(input: Pick<ProbeResult, 'hasAlpha' | 'codec'>): string[] {
  // FFmpeg's native VP8/VP9 decoders ignore the alpha side data of WebM; libvpx reads it.
  if (input.hasAlpha && input.codec === 'vp9') return ['-c:v', 'libvpx-vp9'];
  if (input.hasAlpha && input.codec === 'vp8') return ['-c:v', 'libvpx'];
  return [];
}

/**
 * The size ffmpeg says it writes, from the output stream line it prints at info level, e.g.
 * `Stream #0:0: Video: rawvideo (RGBA / 0x41424752), rgba(pc, gbr/unknown/unknown), 360x640, ...`
 * (the same shape from the 2018 build to 7.x). Undefined for any other line.
 */
export function parseRawOutputStream(line: string): { pixelFormat: string; width: number; height: number } | undefined {
  const m = /Stream #0:0.*?: Video: rawvideo \([^)]*\), ([a-z0-9]+)(?:\([^)]*\))?, (\d+)x(\d+)/.exec(line);
  if (!m) return undefined;
  return { pixelFormat: m[1]!, width: Number(m[2]), height: Number(m[3]) };
}

/**
 * Decodes `input` into frames from `pool`. Iterate with `for await`; each yielded frame belongs
 * to the caller until it calls `pool.release(frame)`.
 */
export class FrameDecoder implements AsyncIterable<Frame> {
  readonly process: FfmpegProcess;
  private readonly pool: FramePool;
  /** Bytes of one picture as ffmpeg writes it (unpadded). */
  private readonly bytes: number;
  /** Where the picture sits in a pool frame, in bytes: its rows' length, the frame's, and the first row's start. */
  private readonly rowBytes: number;
  private readonly canvasRowBytes: number;
  private readonly firstRowAt: number;
  private readonly pad: { left: number; top: number; right: number; bottom: number };
  private readonly ready: Frame[] = [];
  private current: Frame | undefined;
  private offset = 0;
  /** Chunks (views, not copies) that arrived while no frame was free, in order. */
  private readonly waiting: Buffer[] = [];
  private ended = false;
  private failure: Error | undefined;
  /** Who waits for the next frame, the end or a failure: the iterator, and set-up's firstFrame(). */
  private wakers: Array<() => void> = [];
  /** firstFrame()'s answer, shared by every caller until iteration hands frame 0 out. */
  private firstShared: Promise<Frame | undefined> | undefined;
  private produced = 0;
  private readonly fps: number;
  private readonly maxFrames: number;
  private readonly stdout: Readable;
  private readonly input: ProbeResult;
  private readonly limits: ProbeLimits | undefined;
  /** ffmpeg's own word on the size it writes matches ours: no frame is handed out before that. */
  private sizeConfirmed = false;

  constructor(options: DecodeOptions) {
    const { input, pool } = options;
    this.input = input;
    this.pool = pool;
    this.fps = options.fps || input.fps;
    this.maxFrames = options.maxFrames ?? Number.POSITIVE_INFINITY;
    this.limits = options.limits;
    const crop = options.crop;
    const size = options.size ?? (crop ? { width: crop.right - crop.left, height: crop.bottom - crop.top } : input);
    const pad = options.pad ?? { left: 0, top: 0, right: 0, bottom: 0 };
    const expected = { width: size.width + pad.left + pad.right, height: size.height + pad.top + pad.bottom };
    if (expected.width !== pool.size.width || expected.height !== pool.size.height) {
      // A caller's bug, not bad input: the pool must hold exactly what the filter chain makes.
      throw new Error(`Expected a frame pool of ${expected.width}x${expected.height} for ${input.path} but received ${pool.size.width}x${pool.size.height}`);
    }
    this.pad = pad;
    this.bytes = frameBytes(size);
    this.rowBytes = size.width * 4;
    this.canvasRowBytes = pool.size.width * 4;
    this.firstRowAt = pad.top * this.canvasRowBytes + pad.left * 4;
    // No `pad` in ffmpeg's chain: take() places the rows (see the header).
    const filter = decodeFilter(input, { ...options, pad: undefined });
    const args = [
      ...(options.seek ? ['-ss', String(options.seek)] : []),
      ...(options.duration !== undefined ? ['-t', String(options.duration)] : []),
      ...(options.rough ? ['-skip_loop_filter', 'all', '-skip_frame', 'noref'] : []),
      // ffmpeg's own default is a thread per CPU it can see (plus one), and it sees the host's
      // CPUs, not a container's quota: on a 1-CPU container on a 16-core host, 17 frame threads,
      // each holding frames (1080p: 260 MB of decoder against 120 MB with one thread, for no
      // speed a single CPU could give).
      '-threads',
      String(options.cores ?? availableCores()),
      ...alphaDecoderArgs(input),
      // The rotation is ours to apply (uprightFilters), explicitly, on every ffmpeg version.
      '-noautorotate',
      '-i',
      input.path,
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-vf',
      filter,
      ...(Number.isFinite(this.maxFrames) ? ['-frames:v', String(this.maxFrames)] : []),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      'pipe:1',
    ];
    this.process = spawnFfmpeg(args);
    this.watchOutputSize(size);
    this.stdout = this.process.child.stdout!;
    this.stdout.on('data', (chunk: Buffer) => {
      // A chunk already in flight when we paused still arrives: queue it behind the others.
      if (this.waiting.length > 0) this.waiting.push(chunk);
      else this.take(chunk);
    });
    this.stdout.on('error', (error) => this.fail(error));
    void this.process.exited.then((exit) => {
      if (exit.code !== 0) {
        this.fail(new FfmpegFailedError('decode', exit.code, exit.signal, this.produced, this.process.stderrTail()));
      } else if (!this.sizeConfirmed && (this.produced > 0 || this.current)) {
        // stderr is fully read once 'close' fired: the size line never came.
        this.fail(this.sizeError(expected, undefined));
      } else {
        this.ended = true;
        this.notify();
      }
    });
  }

  /**
   * Reads ffmpeg's output stream line from stderr and compares it with the size the pool holds.
   * Raw frames have no header: 640x360 read as 360x640 is the same number of bytes, and would
   * come out as streaks with exit 0. A mismatch stops the decoder before any frame is handed out.
   */
  private watchOutputSize(expected: FrameSize): void {
    const stderr = this.process.child.stderr!;
    let inOutput = false;
    let partial = '';
    const onData = (chunk: string | Buffer) => {
      const lines = (partial + String(chunk)).split(/\r|\n/);
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('Output #0')) inOutput = true;
        if (!inOutput) continue;
        const found = parseRawOutputStream(line);
        if (!found) continue;
        stderr.off('data', onData);
        if (found.width === expected.width && found.height === expected.height && found.pixelFormat === 'rgba') {
          this.sizeConfirmed = true;
          this.notify();
        } else {
          this.fail(this.sizeError(expected, found));
          this.kill();
        }
        return;
      }
    };
    stderr.on('data', onData);
  }

  private sizeError(expected: FrameSize, found: { pixelFormat: string; width: number; height: number } | undefined): Error {
    const got = found ? `${found.width}x${found.height} ${found.pixelFormat}` : 'no output stream line on its stderr';
    return new UnsupportedInputError(
      `Expected ffmpeg to decode ${this.input.path} to ${expected.width}x${expected.height} rgba frames but it reported ${got}; refusing to read frames of the wrong size`,
      this.input.path,
    );
  }

  /** Frames fully read so far. */
  get framesRead(): number {
    return this.produced;
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
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
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
        this.clearMargins(frame);
        this.current = frame;
        this.offset = 0;
      }
      const n = this.place(chunk, pos, Math.min(chunk.length - pos, bytes - this.offset));
      this.offset += n;
      pos += n;
      if (this.offset === bytes) {
        const frame = this.current;
        frame.index = this.produced;
        frame.pts = this.produced / this.fps;
        this.produced++;
        this.current = undefined;
        this.ready.push(frame);
        if (this.limits) this.checkLimits(frame.pts, this.limits);
        this.notify();
      }
    }
    return true;
  }

  /**
   * Copies up to `n` bytes of the picture from `chunk` at `pos` to their place in the current
   * frame (the picture's byte `this.offset` onwards), at most to the end of the row they start in
   * when the frame has margins. Returns how many it copied.
   */
  private place(chunk: Buffer, pos: number, n: number): number {
    const data = this.current!.data;
    const { rowBytes, canvasRowBytes, offset } = this;
    if (rowBytes === canvasRowBytes) {
      data.set(chunk.subarray(pos, pos + n), this.firstRowAt + offset);
      return n;
    }
    const row = Math.floor(offset / rowBytes);
    const column = offset - row * rowBytes;
    const m = Math.min(n, rowBytes - column);
    data.set(chunk.subarray(pos, pos + m), this.firstRowAt + row * canvasRowBytes + column);
    return m;
  }

  /** The frame's margins back to transparent black: the stages draw into them (outline, shadow) and the encoder's conversion overwrites the frame. */
  private clearMargins(frame: Frame): void {
    const { pad, rowBytes, canvasRowBytes, firstRowAt } = this;
    if (rowBytes === canvasRowBytes && pad.top + pad.bottom === 0) return;
    const data = frame.data;
    const pictureRows = this.bytes / rowBytes;
    data.fill(0, 0, firstRowAt);
    const right = pad.right * 4;
    const left = pad.left * 4;
    for (let y = 0, at = firstRowAt + rowBytes; y < pictureRows; y++, at += canvasRowBytes) {
      // This row's right margin and the next row's left one are contiguous.
      data.fill(0, at, at + right + (y + 1 < pictureRows ? left : 0));
    }
    data.fill(0, firstRowAt + (pictureRows - 1) * canvasRowBytes + rowBytes + right);
  }

  /** Limits on what came so far: the frame at `pts`, and the source frames it stands for. */
  private checkLimits(pts: number, limits: ProbeLimits): void {
    try {
      checkDuration(pts, limits, this.input.path);
      checkFrames(Math.round((this.produced * this.input.fps) / this.fps), limits, this.input.path);
    } catch (error) {
      this.fail(error as Error);
      this.kill();
    }
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

  private next(): Promise<void> {
    return new Promise<void>((resolve) => this.wakers.push(resolve));
  }

  /**
   * The first frame, as soon as it is decoded, leaving it in the stream: set-up takes a sample
   * from the main decode instead of starting a decoder of its own (the first keyframe is the first
   * frame). Not a copy: its pixels are the pool frame's own, read only, and valid until iteration
   * hands frame 0 out (set-up ends before that); a copy was 9 MB of fresh pages at 1080p on the
   * set-up's critical path. Undefined when the clip ends before a frame. Call it before iterating;
   * once frame 0 has been handed out it is gone.
   */
  firstFrame(): Promise<Frame | undefined> {
    this.firstShared ??= (async () => {
      for (;;) {
        if (this.failure) throw this.failure;
        const frame = this.sizeConfirmed ? this.ready[0] : undefined;
        if (frame) {
          if (frame.index !== 0) throw new Error(`Expected firstFrame() before iterating ${this.input.path}, but frame 0 is gone`);
          return { data: frame.data, width: frame.width, height: frame.height, index: 0, pts: frame.pts };
        }
        if (this.ended && this.waiting.length === 0) return undefined;
        await this.next();
      }
    })();
    return this.firstShared;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    let yielded = 0;
    while (yielded < this.maxFrames) {
      if (this.failure) throw this.failure;
      const frame = this.sizeConfirmed ? this.ready.shift() : undefined;
      if (frame) {
        // firstFrame() shared these pixels: from here on they are the stream's, so a later call throws.
        this.firstShared = undefined;
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
      await this.next();
    }
    // Enough frames for the caller: stop the child rather than let it decode the rest.
    this.kill();
  }
}
