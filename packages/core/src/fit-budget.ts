/**
 * Fitting a byte budget (a sticker platform's 256 KB) without running the effects again: the
 * styled frames are spooled once, raw, to a temporary file while the pipeline encodes them, and
 * every further attempt re-encodes that file (a 3 s 512x512 sticker at 30 fps is 94 MB of disk;
 * the bound is the platform's own size and duration limits, never the source's).
 *
 * The search gives up, in this order of preference:
 * 1. encoder quality (QUALITY_STEPS): the motion, the size and the look stay as designed, and at
 *    a sticker's size the first steps cost little that one sees; it is also the cheapest knob,
 *    each attempt costs one encode of the same frames;
 * 2. rate: a sticker already animates at 12 or 8 fps in the stop-motion look, so fewer frames keep
 *    the character whole and sharp, only the motion gets coarser;
 * 3. size last: every pixel fewer is lost detail on every frame. Where the platform fixes the size
 *    (Signal and WhatsApp: 512x512), the picture is scaled down inside the canvas it keeps, the
 *    margin transparent, which costs next to nothing: bytes go with the picture's area.
 * Rate and size are traded only when the caller allows it (the user's --fit), quality always.
 * Before refusing, one last encode of the last shape at the floor with the encoder's slowest
 * search ('small'): a few percent fewer bytes for several times the CPU, spent only where the
 * alternative is no file (the 1080p fixture to WhatsApp at 6 fps came out 0.5% over).
 * Within a shape (rate, size) the quality step is predicted from the bytes measured so far
 * (log-linear in the step, secant search): each attempt costs a full encode, so the search aims
 * just under the budget and keeps a fit once the next better step is predicted over it, usually
 * after one or two attempts. The first encode (the pipeline's) need not be the best step: a caller
 * that can predict its bytes starts nearer the budget (`firstQuality`), and the search then goes
 * either way from it. A shape predicted far over the budget is skipped. Attempts are reported,
 * bytes and CPU.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { FrameEncoder, QUALITY_STEPS, type EncoderSpeed, type OutputFormat } from './encode.js';
import { CancelledError, LimitExceededError } from './errors.js';
import type { Frame, FrameSize } from './frame.js';

/** Raw RGBA frames appended to a file, in order: what the byte budget re-encodes from. */
export class FrameSpool {
  private readonly stream: WriteStream;
  private failure: Error | undefined;
  frames = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (error) => (this.failure ??= error));
  }

  /** Resolves once the frame's bytes have left its buffer, so the caller may hand the frame on. */
  async write(frame: Frame): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.stream.write(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength), (error) => (error ? reject(error) : resolve()));
    });
    this.frames++;
  }

  async close(): Promise<void> {
    if (this.stream.closed) return;
    await new Promise<void>((resolve) => this.stream.end(resolve));
    if (this.failure) throw this.failure;
  }

  async remove(): Promise<void> {
    this.stream.destroy();
    await rm(this.path, { force: true });
  }
}

export type FitTrade = 'rate' | 'size';

export interface FitAttempt {
  quality: number;
  fps: number;
  /** The file's pixels. */
  width: number;
  height: number;
  /** The picture's own size where it was scaled down inside a canvas of fixed size (`fixedCanvas`). */
  picture?: FrameSize;
  bytes: number;
  fits: boolean;
  /** CPU of this re-encode (ffmpeg's own figure); absent for the pipeline's own encode, counted in its cpuSeconds. */
  cpuSeconds?: number;
  /** The encoder preset, where the search chose one other than the job's (the last resort). */
  speed?: EncoderSpeed;
}

export interface FitBudgetOptions {
  /** The spooled styled frames and what they are. */
  spool: string;
  size: FrameSize;
  fps: number;
  format: OutputFormat;
  speed?: EncoderSpeed;
  /** Plays of the animation, as the first encode had them (EncoderSettings.plays). */
  plays?: number;
  maxBytes: number;
  /** The pipeline's own encode of the frames, at the full rate and size. */
  first: string;
  /** The quality `first` was encoded at, one of QUALITY_STEPS[format]; default the best. */
  firstQuality?: number;
  /** Lower rates allowed, preference order (highest first); used when trades include 'rate'. */
  rates: readonly number[];
  /** Smaller sizes allowed, preference order (largest first); used when trades include 'size'. */
  sizes: readonly FrameSize[];
  /** The file keeps `size` whatever the shape: a smaller size is the picture's, padded back to it, centred and transparent. */
  fixedCanvas?: boolean;
  trades: readonly FitTrade[];
  /** Where attempt n is written (beside the output, a temp name); all but the kept one are removed. */
  attemptPath: (n: number) => string;
  signal?: AbortSignal;
  /** Names the job in the error. */
  name: string;
}

export interface FitResult {
  /** The file kept: the best quality that fits, at the preferred shape. */
  path: string;
  attempts: FitAttempt[];
  chosen: FitAttempt;
}

interface Shape {
  fps: number;
  size: FrameSize;
}

/**
 * First guess of log2(bytes) lost per quality step, before two attempts at a shape measure it:
 * VP9 halves its bytes about every 11 CRF (measured on the 1080p fixture cut to 512 px: 32 -> 45
 * -> 55 gave 584, 263, 141 kB), so a 3-CRF step is about 0.27; x264 about every 6 CRF; WebP and a
 * GIF palette lose less per step. APNG's steps (all colours, 256, 64, 16) each about halve it
 * since the few-colour frames are deflated unpredicted (the 720p fixture's Signal sticker at
 * 6 fps: 2,433, 792, 428, 212 kB, i.e. 1.6, 0.9, 1.0).
 */
export const STEP_LOG2_GUESS: { readonly [F in OutputFormat]: number } = { webm: 0.27, mp4: 0.6, gif: 0.3, webp: 0.3, mov: 1, apng: 1 };
/** Aim this far under the budget, so a prediction that is a little off still fits. */
const AIM = 0.95;
/** A fit this close to the budget is kept: the next better step would, by the slope, not fit. */
const CLOSE_ENOUGH = 0.9;
/** A shape predicted this far over the budget at its lowest quality is not tried (the last one always is). */
const SKIP_OVER = 1.15;

/**
 * Bytes over the budget the last resort may close: libwebp's method 5 saves about 2% on method 4,
 * APNG at its floor (a few colours) about 13% with zlib 9 against 6 (encode.ts
 * APNG_FEW_COLOUR_PRESETS), VP9's good deadline more (SPEED_PRESETS); past this the slow encode
 * would most likely be thrown away.
 */
const LAST_RESORT_REACH = 1.1;

interface Point {
  step: number;
  bytes: number;
}

export async function fitBudget(options: FitBudgetOptions): Promise<FitResult> {
  const { format, maxBytes, signal } = options;
  const steps = QUALITY_STEPS[format];
  const floor = steps.length - 1;
  const base: Shape = { fps: options.fps, size: options.size };
  const firstStep = options.firstQuality === undefined ? 0 : steps.indexOf(options.firstQuality);
  if (firstStep < 0) throw new RangeError(`Expected firstQuality among ${steps.join(', ')} for ${format} but received ${options.firstQuality}`);
  const firstBytes = (await stat(options.first)).size;
  const first: FitAttempt = { quality: steps[firstStep]!, ...shapeFigures(base), bytes: firstBytes, fits: firstBytes <= maxBytes };
  const attempts: FitAttempt[] = [first];
  const firstPoints: Point[] = [{ step: firstStep, bytes: firstBytes }];
  if (first.fits && !worthBetter(firstPoints, firstStep, first, options)) return { path: options.first, attempts, chosen: first };

  const files = new Map<FitAttempt, string>([[first, options.first]]);
  let kept: FitAttempt | undefined;
  const attempt = async (shape: Shape, step: number, speed = options.speed): Promise<FitAttempt> => {
    if (signal?.aborted) throw CancelledError.from(signal);
    const path = options.attemptPath(attempts.length);
    const encoder = new FrameEncoder({
      input: options.spool,
      output: path,
      format,
      size: options.size,
      fps: options.fps,
      quality: steps[step]!,
      ...(speed ? { speed } : {}),
      ...(options.plays !== undefined ? { plays: options.plays } : {}),
      ...(shape.fps !== base.fps ? { outputFps: shape.fps } : {}),
      ...(shape.size !== base.size ? { outputSize: shape.size, ...(options.fixedCanvas ? { outputCanvas: base.size } : {}) } : {}),
    });
    const onAbort = () => encoder.kill();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { cpuSeconds } = await encoder.finish();
      const bytes = (await stat(path)).size;
      const result: FitAttempt = {
        quality: steps[step]!,
        ...shapeFigures(shape, options.fixedCanvas ? base.size : undefined),
        bytes,
        fits: bytes <= maxBytes,
        cpuSeconds,
        ...(speed !== options.speed && speed ? { speed } : {}),
      };
      attempts.push(result);
      files.set(result, path);
      return result;
    } catch (error) {
      await rm(path, { force: true });
      throw signal?.aborted ? CancelledError.from(signal) : error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };

  try {
    const list = shapes(base, options);
    // What the previous shape measured, scaled to the next one: bytes go roughly with frames and pixels.
    let previous: { shape: Shape; points: Point[] } = { shape: base, points: firstPoints };
    for (const [n, shape] of list.entries()) {
      const ratio = (shape.fps / previous.shape.fps) * ((shape.size.width * shape.size.height) / (previous.shape.size.width * previous.shape.size.height));
      const guesses = previous.points.map((p) => ({ step: p.step, bytes: p.bytes * ratio }));
      const points: Point[] = shape === base ? [...previous.points] : [];
      const last = n === list.length - 1;
      if (shape !== base && !last && predict(guesses, floor, format) > maxBytes * SKIP_OVER) continue;
      // lo: the highest step known not to fit; hi: the lowest known to fit.
      let lo = shape === base && !first.fits ? firstStep : -1;
      let hi: FitAttempt | undefined = shape === base && first.fits ? first : undefined;
      let hiStep = hi ? firstStep : steps.length;
      while (hiStep > lo + 1) {
        const known = points.length > 0 ? points : guesses;
        if (hi && !worthBetter(known, hiStep, hi, options)) break;
        const step = Math.min(hiStep - 1, Math.max(lo + 1, stepFor(known, maxBytes * AIM, format)));
        const tried = await attempt(shape, step);
        points.push({ step, bytes: tried.bytes });
        if (tried.fits) {
          hi = tried;
          hiStep = step;
        } else {
          lo = step;
        }
      }
      previous = { shape, points };
      if (hi) {
        kept = hi;
        return { path: files.get(hi)!, attempts, chosen: hi };
      }
    }
    // The last resort: the encoder's slowest search on the last shape at the floor, when the job's preset is not already that.
    if (options.speed !== 'small') {
      const last = list[list.length - 1]!;
      const smallestThere = Math.min(
        ...attempts
          .filter((a) => a.fps === last.fps && (a.picture ?? a).width === last.size.width && (a.picture ?? a).height === last.size.height)
          .map((a) => a.bytes),
      );
      // Worth it only within what a slower search can win (a few percent).
      if (smallestThere <= maxBytes * LAST_RESORT_REACH) {
        const tried = await attempt(last, floor, 'small');
        if (tried.fits) {
          kept = tried;
          return { path: files.get(tried)!, attempts, chosen: tried };
        }
      }
    }
    const smallest = attempts.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    const untried = (['rate', 'size'] as const).filter(
      (t) => !options.trades.includes(t) && (t === 'rate' ? options.rates.length > 0 : options.sizes.length > 0),
    );
    throw new LimitExceededError(
      `Expected ${options.name} within ${maxBytes} bytes but the smallest of ${attempts.length} attempts was ${smallest.bytes} bytes ` +
        `(${format} quality ${smallest.quality}, ${smallest.fps} fps, ${attemptSize(smallest)})` +
        (untried.length > 0 ? `; allow ${untried.map((t) => `--fit ${t}`).join(' or ')} to trade more` : '; nothing more may be traded'),
      'maxBytes',
      maxBytes,
      smallest.bytes,
    );
  } finally {
    // Every attempt but the one handed back goes.
    await Promise.all([...files].filter(([a]) => a !== kept).map(([, path]) => rm(path, { force: true })));
  }
}

/**
 * Whether an encode at the step better than a fit's is worth its CPU: not when the fit comes close
 * to the budget, nor when the bytes measured so far (or the format's slope) predict that step over
 * it. Each attempt is a full encode, and one predicted over the budget is most likely thrown away.
 */
function worthBetter(points: readonly Point[], fitStep: number, fit: FitAttempt, options: Pick<FitBudgetOptions, 'maxBytes' | 'format'>): boolean {
  if (fitStep === 0 || fit.bytes >= options.maxBytes * CLOSE_ENOUGH) return false;
  return predict(points, fitStep - 1, options.format) <= options.maxBytes;
}

/** log2(bytes) per step from the two points nearest in step, else the format's guess. */
function slope(points: readonly Point[], format: OutputFormat): { at: Point; perStep: number } {
  const sorted = [...points].sort((a, b) => a.step - b.step);
  const at = sorted[sorted.length - 1]!;
  for (let i = sorted.length - 2; i >= 0; i--) {
    const other = sorted[i]!;
    if (other.step === at.step) continue;
    const perStep = (Math.log2(other.bytes) - Math.log2(at.bytes)) / (at.step - other.step);
    // A measured slope that goes the wrong way (noise on tiny files) says nothing: keep the guess.
    if (perStep > 0.02) return { at, perStep };
    break;
  }
  return { at, perStep: STEP_LOG2_GUESS[format] };
}

/** The first step predicted to come within `bytes`. */
function stepFor(points: readonly Point[], bytes: number, format: OutputFormat): number {
  const { at, perStep } = slope(points, format);
  return Math.ceil(at.step + (Math.log2(at.bytes) - Math.log2(bytes)) / perStep - 1e-9);
}

/** Bytes predicted at `step`. */
function predict(points: readonly Point[], step: number, format: OutputFormat): number {
  const { at, perStep } = slope(points, format);
  return at.bytes / 2 ** ((step - at.step) * perStep);
}

/** The shapes to try, in order of preference: the full one, then each lower rate, then each smaller size at the lowest rate. */
function shapes(base: Shape, options: Pick<FitBudgetOptions, 'rates' | 'sizes' | 'trades'>): Shape[] {
  const list: Shape[] = [base];
  let fps = base.fps;
  if (options.trades.includes('rate')) {
    for (const rate of options.rates) list.push({ fps: (fps = rate), size: base.size });
  }
  if (options.trades.includes('size')) {
    for (const size of options.sizes) list.push({ fps, size });
  }
  return list;
}

/** An attempt's pixels in words: the file's, and its picture's inside it when scaled down in a fixed canvas. */
export function attemptSize(attempt: Pick<FitAttempt, 'width' | 'height' | 'picture'>): string {
  const file = `${attempt.width}x${attempt.height}`;
  return attempt.picture ? `${attempt.picture.width}x${attempt.picture.height} in ${file}` : file;
}

/** A shape's figures as the file has them: on a fixed `canvas`, the file is the canvas and a smaller size is its picture's. */
function shapeFigures(shape: Shape, canvas?: FrameSize): Pick<FitAttempt, 'fps' | 'width' | 'height' | 'picture'> {
  if (canvas && shape.size !== canvas) return { fps: shape.fps, width: canvas.width, height: canvas.height, picture: shape.size };
  return { fps: shape.fps, width: shape.size.width, height: shape.size.height };
}
