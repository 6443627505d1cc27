/**
 * renderForTarget: one call from a green-screen clip to a file a sticker platform accepts.
 *
 * The platform's row (platforms.ts) sets the format, the pixels, the rate, the duration and the
 * byte budget; the caller's own options may tighten them (a lower posterize rate, a format the
 * platform also takes) but never break them: that is refused before any work. Then:
 * 1. a key-only pass at a small size finds where the character is over the clip
 *    (character-region.ts), so no full-resolution frame is styled for nothing;
 * 2. the canvas becomes that region plus the effects' margins, scaled to the platform's pixels
 *    (canvas.ts croppedCanvas), and every pixel option of the effects is scaled with it, so the
 *    sticker looks as it would at full size;
 * 3. runPipeline decodes only that region, already scaled (crop and scale in the decoder's
 *    filter chain), styles and encodes it at the target size, spooling the styled frames;
 * 4. over the budget, fit-budget.ts re-encodes the spool (quality, then rate, then size);
 * 5. the file is checked against every limit of the platform (check.ts, what `stickerkey check`
 *    runs), then renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { croppedCanvas } from './canvas.js';
import { findCharacterRegion } from './character-region.js';
import { FORMAT_EXTENSIONS, FrameEncoder, formatFromPath, OUTPUT_FORMATS, QUALITY_STEPS, type OutputFormat } from './encode.js';
import { CancelledError, InvalidOptionError, LimitExceededError } from './errors.js';
import { fitBudget, FrameSpool, STEP_LOG2_GUESS, type FitAttempt, type FitTrade } from './fit-budget.js';
import type { Bounds, FrameSize } from './frame.js';
import { runPipeline, type PipelineOptions, type PipelineResult, type TargetLayout } from './pipeline.js';
import { assertMeetsTarget } from './check.js';
import { largestSizeFor, pixelRuleBreach, platformTarget, type PlatformTarget, type TargetName } from './platforms.js';
import { reapedChildrenCpuSeconds } from './process-cpu.js';
import { DEFAULT_LIMITS, probe, type ProbeResult } from './probe.js';

/**
 * Targets that are not a platform taking one file but a page offering several: every format of the
 * row is written, the first to the output and the others beside it, from the same styled frames.
 */
const WRITES_EVERY_FORMAT: readonly TargetName[] = ['web'];

/** What a target render may trade when the platform's limits cannot be met as asked. */
export type FitMode = FitTrade | 'speed-up' | 'trim';
export const FIT_MODES: readonly FitMode[] = ['rate', 'size', 'speed-up', 'trim'];

/** Rates a byte budget may fall back to (`--fit rate`), highest first: down to 6 fps, below the 8 of the slowest stop-motion look but still read as motion. */
export const FALLBACK_RATES: readonly number[] = [24, 20, 15, 12, 10, 8, 6];
/** Sizes a byte budget may fall back to (`--fit size`) where the platform's pixels allow, as factors of the fitted canvas. */
export const FALLBACK_SCALES: readonly number[] = [0.85, 0.7, 0.6, 0.5];

export interface TargetRenderOptions extends Omit<PipelineOptions, 'layout' | 'spool'> {
  /** The platform (a row of PLATFORM_TARGETS, or its name). */
  target: TargetName | PlatformTarget;
  /** What may be traded to meet the limits beyond encoder quality: rate, size (byte budget), speed-up or trim (duration). */
  fit?: readonly FitMode[];
}

export interface TargetRenderResult extends PipelineResult {
  target: TargetName;
  outputBytes: number;
  /** Where the character was found over the clip (source display pixels). */
  character: Bounds;
  /** The part of the source decoded, and output pixels per source pixel. */
  crop: Bounds;
  scale: number;
  /** Frames the search pass keyed, and the size it ran at. */
  searchFrames: number;
  searchSize: FrameSize;
  /** Every encode of the frames, the first being the pipeline's own; the kept one is `chosen`. */
  attempts: FitAttempt[];
  chosen: FitAttempt;
  /** `--target web`: the other formats written beside the output (an animated WebP), and the HTML that picks one. */
  fallbacks?: string[];
  snippet?: string;
  /** Seconds of the source kept (`--fit trim`), or the factor it was sped up by (`--fit speed-up`). */
  trimmedTo?: number;
  speedUp?: number;
}

interface Plan {
  /** Rate frames are taken at, when below the source's (pipeline posterize). */
  posterize: number | null;
  layoutTime: Pick<TargetLayout, 'duration' | 'playFps' | 'plays'>;
  /** Rate of the encoded file. */
  playFps: number;
  /** Seconds the file plays for, once trimmed or sped up; undefined when the source does not say. */
  seconds: number | undefined;
}

/** The options checked against the platform before any file is opened. */
function checkOptions(options: TargetRenderOptions, target: PlatformTarget): { format: OutputFormat; fit: readonly FitMode[] } {
  const fit = options.fit ?? [];
  for (const mode of fit) {
    if (!FIT_MODES.includes(mode)) throw new InvalidOptionError(`Expected fit to be among ${FIT_MODES.join(', ')} but received ${JSON.stringify(mode)}`, 'fit');
  }
  if (fit.includes('trim') && fit.includes('speed-up')) {
    throw new InvalidOptionError(
      'Expected at most one of trim and speed-up for fit but received both: a clip over the duration is either cut or played faster',
      'fit',
    );
  }
  let format = options.format;
  if (format === undefined) {
    let fromPath: OutputFormat | undefined;
    try {
      fromPath = formatFromPath(options.output);
    } catch {
      // An extension of no format: the platform's first one is written.
    }
    format = fromPath ?? target.formats[0]!;
  }
  if (!target.formats.includes(format)) {
    throw new InvalidOptionError(
      `Expected format ${target.formats.join(' or ')} for target ${target.name} (${target.label}) but received ${JSON.stringify(format)}` +
        (options.format === undefined ? ` from the output ${options.output}` : ''),
      'format',
    );
  }
  if (!OUTPUT_FORMATS.includes(format))
    throw new InvalidOptionError(`Expected format to be one of ${OUTPUT_FORMATS.join(', ')} but received ${JSON.stringify(format)}`, 'format');
  const cap = rateCap(target, undefined);
  if (options.posterize && options.posterize > cap) {
    throw new InvalidOptionError(`Expected posterize at most ${cap} fps for target ${target.name} but received ${options.posterize}`, 'posterize');
  }
  return { format, fit };
}

/** The highest rate the platform allows, over a clip of `seconds` (a frame-count limit caps it too). */
function rateCap(target: PlatformTarget, seconds: number | undefined): number {
  let cap = target.maxFps ?? Infinity;
  if (target.minFrameMs) cap = Math.min(cap, 1000 / target.minFrameMs);
  if (target.frames && seconds) cap = Math.min(cap, target.frames.max / seconds);
  return cap;
}

/** Rate and time: the platform's rate cap and duration, met as the caller allows. */
function planTime(options: TargetRenderOptions, target: PlatformTarget, source: ProbeResult, fit: readonly FitMode[]): Plan {
  const seconds = source.frameCount !== undefined ? source.frameCount / source.fps : source.duration;
  const max = target.maxDurationSeconds;
  let kept = seconds;
  let speedUp = 1;
  const time: Plan['layoutTime'] = {};
  // A frame's worth of tolerance: a 3 s clip whose container says 3.02 s is a 3 s clip.
  if (max !== undefined && seconds !== undefined && seconds > max + 0.5 / source.fps) {
    if (fit.includes('trim')) {
      kept = max;
      time.duration = max;
    } else if (fit.includes('speed-up')) {
      speedUp = seconds / max;
      kept = max;
    } else {
      throw new LimitExceededError(
        `Expected at most ${max} s for target ${target.name} but ${options.input} lasts ${seconds.toFixed(2)} s; allow --fit trim or --fit speed-up`,
        'maxDurationSeconds',
        max,
        seconds,
      );
    }
  }
  const cap = rateCap(target, kept);
  if (options.holdFrames && options.posterize && source.fps > cap) {
    throw new InvalidOptionError(
      `Expected no hold for target ${target.name}: holding keeps the source's ${source.fps} fps, above its ${Math.floor(cap)} fps`,
      'holdFrames',
    );
  }
  // Frames are taken at the asked (posterized) rate, or the source's, within the cap once played
  // `speedUp` times faster.
  const asked = options.posterize ?? source.fps;
  const taken = Math.min(asked, cap / speedUp);
  const posterize = taken < source.fps - 1e-6 ? roundRate(taken) : null;
  const playFps = roundRate((posterize ?? source.fps) * speedUp);
  if (speedUp > 1) time.playFps = playFps;
  // A platform that counts plays (LINE: 1 to 4, 4 s in all) gets as many as fit.
  if (target.loop.rule === 'count') {
    const loop = target.loop;
    time.plays = Math.max(loop.min, Math.min(loop.max, Math.floor(loop.maxTotalSeconds / Math.max(1e-3, kept ?? loop.maxTotalSeconds))));
  }
  return { posterize, layoutTime: time, playFps: options.holdFrames && posterize ? source.fps : playFps, seconds: kept };
}

/**
 * Bytes per pixel per frame of a styled sticker at each format's best quality step, to start a
 * byte budget's search near its answer: every encode of a 3 s sticker is a whole second of CPU,
 * as much as keying and styling it, and the best step rarely fits (the 1080p fixture at 512 px
 * comes out at 2.2 times Telegram's budget; lossless APNG at 20 times iMessage's). Measured with
 * the full sticker preset:
 * - webm, VP9 CRF 32 at Telegram's 512 px: 0.024-0.033 on the generated fixtures (1080p and
 *   720p 3 s, 360p green and blue 2 s), 0.021-0.029 on four held-out characters not used to
 *   choose it; the top of the range is taken, so a miss most often costs one encode at a better
 *   step rather than a re-encode over the budget;
 * - webp, libwebp quality 75 at 512x512: 0.079 (720p 5 s fixture);
 * - apng, lossless: 0.58-0.66 (720p and 1080p 5 s fixtures at 320, 408 and 291x270 px).
 * WebP and APNG are far over every platform's budget at their best step, so the prediction only
 * has to be roughly right to skip that encode. A format without a figure starts at its best step.
 */
const FIRST_BYTES_PER_PIXEL_FRAME: { readonly [F in OutputFormat]?: number } = { webm: 0.03, webp: 0.08, apng: 0.6 };
/** Aim the first encode this far under the budget: a prior off by a step then still fits, and the next step is predicted over. */
const FIRST_AIM = 0.85;

/** The quality to encode first: the best step predicted to come within the budget, or the best step with no prediction. */
export function firstQualityFor(format: OutputFormat, maxBytes: number | undefined, canvas: FrameSize, frames: number | undefined): number {
  const steps = QUALITY_STEPS[format];
  const perPixelFrame = FIRST_BYTES_PER_PIXEL_FRAME[format];
  if (maxBytes === undefined || perPixelFrame === undefined || frames === undefined || !(frames > 0)) return steps[0]!;
  const best = perPixelFrame * canvas.width * canvas.height * frames;
  const step = Math.ceil(Math.log2(best / (maxBytes * FIRST_AIM)) / STEP_LOG2_GUESS[format] - 1e-9);
  return steps[Math.max(0, Math.min(steps.length - 1, step))]!;
}

/** Rates as ffmpeg's fps filter takes them; three decimals keep a computed cap below the limit. */
function roundRate(fps: number): number {
  return Math.floor(fps * 1000) / 1000;
}

export async function renderForTarget(options: TargetRenderOptions): Promise<TargetRenderResult> {
  const target = typeof options.target === 'string' ? platformTarget(options.target) : options.target;
  const { format, fit } = checkOptions(options, target);
  const signal = options.signal;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const childrenCpuStart = reapedChildrenCpuSeconds();
  let reportedChildrenCpu = 0;

  // With its keyframes, which the search's screen estimate samples from (one ffprobe, not two).
  const source = await probe(options.input, options.limits, { keyframes: true });
  const plan = planTime(options, target, source, fit);
  const stages = options.stages ?? [];

  // 1. Where the character is, from the keyer alone at a small size.
  const keyer = stages.find((stage) => stage.producesAlpha);
  const search = keyer
    ? await findCharacterRegion({
        input: source,
        keyer,
        fps: plan.posterize,
        ...(plan.layoutTime.duration !== undefined ? { duration: plan.layoutTime.duration } : {}),
        limits: { ...DEFAULT_LIMITS, ...options.limits },
        ...(signal ? { signal } : {}),
      })
    : { bounds: { left: 0, top: 0, right: 0, bottom: 0 }, searchSize: { width: 0, height: 0 }, frames: 0, childCpuSeconds: 0 };
  reportedChildrenCpu += search.childCpuSeconds;
  if (signal?.aborted) throw CancelledError.from(signal);

  // 2. The canvas cut to it and scaled to the platform's pixels; the effects scaled with it.
  const yuv420 = format === 'webm' || format === 'mp4';
  const cut = croppedCanvas(source, search.bounds, stages, (aspect) => largestSizeFor(target.pixels, aspect), yuv420);
  const scaled = stages.map((stage) => (stage.scaled ? stage.scaled(cut.scale) : stage));
  const frames = plan.seconds !== undefined ? Math.round(plan.seconds * plan.playFps) : undefined;
  const firstQuality = firstQualityFor(format, target.maxBytes, cut.canvas, frames);
  const layout: TargetLayout = { source, crop: cut.crop, size: cut.size, pad: cut.pad, canvas: cut.canvas, ...plan.layoutTime, quality: firstQuality };

  // 3. The pipeline into a hidden name beside the output, spooling the styled frames.
  // Core's temp-name shape (`.<name>.<pid>-<8 hex>.partial`), so the worker's sweep finds them after a hard kill.
  const owner = `${process.pid}-${randomBytes(4).toString('hex')}.partial`;
  const hidden = (what: string) => join(dirname(options.output), `.${basename(options.output)}.${what}.${owner}`);
  const firstPath = hidden('first');
  const fallbackFormats = WRITES_EVERY_FORMAT.includes(target.name) ? target.formats.filter((f) => f !== format) : [];
  const spool = target.maxBytes !== undefined || fallbackFormats.length > 0 ? new FrameSpool(hidden('spool')) : undefined;
  const fallbackTemp = hidden('fallback');
  let kept: string | undefined;
  try {
    const result = await runPipeline({
      ...options,
      output: firstPath,
      format,
      stages: scaled,
      posterize: plan.posterize,
      layout,
      ...(spool ? { spool } : {}),
      // The file handed over is checked for alpha with every other limit (step 5), whichever encode it is.
      verifyAlpha: false,
    });

    // 4. The byte budget, from the spool.
    let attempts: FitAttempt[];
    let chosen: FitAttempt;
    kept = firstPath;
    if (spool && target.maxBytes !== undefined) {
      await spool.close();
      const fitted = await fitBudget({
        spool: spool.path,
        size: cut.canvas,
        fps: result.fps,
        format,
        ...(options.speed ? { speed: options.speed } : {}),
        ...(layout.plays !== undefined ? { plays: layout.plays } : {}),
        maxBytes: target.maxBytes,
        first: firstPath,
        firstQuality,
        rates: FALLBACK_RATES.filter((rate) => rate < result.fps),
        sizes: smallerSizes(target, cut.canvas, yuv420),
        fixedCanvas: target.pixels.rule === 'exact',
        trades: fit.filter((mode): mode is FitTrade => mode === 'rate' || mode === 'size'),
        attemptPath: (n) => hidden(`attempt${n}`),
        name: `the ${target.name} sticker of ${options.input}`,
        ...(signal ? { signal } : {}),
      });
      kept = fitted.path;
      attempts = fitted.attempts;
      chosen = fitted.chosen;
      reportedChildrenCpu += attempts.reduce((sum, a) => sum + (a.cpuSeconds ?? 0), 0);
    } else {
      const bytes = (await stat(firstPath)).size;
      chosen = { quality: firstQuality, fps: result.fps, width: result.width, height: result.height, bytes, fits: true };
      attempts = [chosen];
    }

    // 5. What the platform will see, read back from the file by `stickerkey check`'s own code
    // (container, codec, pixels, time, bytes, audio, alpha, loop): a file it would refuse is not handed over.
    const checked = await assertMeetsTarget(kept, target, options.output);
    await rename(kept, options.output);
    kept = undefined;

    // 6. `--target web`: the other formats from the same spooled frames, checked the same way.
    const fallbacks: string[] = [];
    if (spool && fallbackFormats.length > 0) {
      await spool.close();
      for (const extra of fallbackFormats) {
        const path = `${options.output.slice(0, options.output.length - extname(options.output).length)}${FORMAT_EXTENSIONS[extra][0]}`;
        const encoder = new FrameEncoder({
          input: spool.path,
          output: fallbackTemp,
          format: extra,
          size: cut.canvas,
          fps: chosen.fps,
          ...(options.speed ? { speed: options.speed } : {}),
        });
        reportedChildrenCpu += (await encoder.finish()).cpuSeconds;
        await assertMeetsTarget(fallbackTemp, target, path);
        await rename(fallbackTemp, path);
        fallbacks.push(path);
      }
    }

    const cpu = process.cpuUsage(cpuStart);
    const childrenCpuEnd = reapedChildrenCpuSeconds();
    const childrenCpu =
      childrenCpuStart !== undefined && childrenCpuEnd !== undefined ? childrenCpuEnd - childrenCpuStart : reportedChildrenCpu + result.cpuSeconds;
    const wallSeconds = (performance.now() - started) / 1000;
    return {
      ...result,
      output: options.output,
      // After a rate trade the file has fewer frames than the pipeline styled.
      frames: checked.facts.frames ?? result.frames,
      width: chosen.width,
      height: chosen.height,
      fps: chosen.fps,
      wallSeconds,
      // Where /proc is missing the pipeline's own figure (Node included) stands for its part.
      cpuSeconds: childrenCpuStart !== undefined && childrenCpuEnd !== undefined ? (cpu.user + cpu.system) / 1e6 + childrenCpu : childrenCpu,
      target: target.name,
      outputBytes: chosen.bytes,
      character: search.bounds,
      crop: cut.crop,
      scale: cut.scale,
      searchFrames: search.frames,
      searchSize: search.searchSize,
      attempts,
      chosen,
      ...(plan.layoutTime.duration !== undefined ? { trimmedTo: plan.layoutTime.duration } : {}),
      ...(fallbacks.length > 0 ? { fallbacks, snippet: webSnippet(options.output, fallbacks[0]!, chosen) } : {}),
      ...(plan.layoutTime.playFps !== undefined ? { speedUp: plan.layoutTime.playFps / (plan.posterize ?? source.fps) } : {}),
    };
  } finally {
    await Promise.all([spool?.remove(), rm(firstPath, { force: true }), rm(fallbackTemp, { force: true }), kept ? rm(kept, { force: true }) : undefined]);
  }
}

/**
 * Smaller sizes for a byte budget, largest first: canvases the platform's pixel rule still allows,
 * or, where it fixes the size (Signal, WhatsApp), the picture scaled down inside the canvas it
 * keeps (fitBudget's fixedCanvas).
 */
function smallerSizes(target: PlatformTarget, canvas: FrameSize, even: boolean): FrameSize[] {
  const side = (n: number) => (even ? Math.max(2, 2 * Math.round(n / 2)) : Math.max(1, Math.round(n)));
  const sizes = FALLBACK_SCALES.map((f) => ({ width: side(canvas.width * f), height: side(canvas.height * f) }));
  if (target.pixels.rule === 'exact') return sizes;
  return sizes.filter((size) => pixelRuleBreach(target.pixels, size.width, size.height) === undefined);
}

/**
 * The HTML for a page: the WebM in a <video> (VP9 alpha in Chromium and Firefox), and for Safari,
 * which plays VP9 but draws its alpha black, the animated WebP in an <img>, which it shows with
 * alpha. Safari cannot be told apart by canPlayType (it answers "probably" for VP9), hence its name.
 */
function webSnippet(video: string, image: string, size: { width: number; height: number }): string {
  const { width, height } = size;
  return [
    `<video class="sticker" src="${basename(video)}" width="${width}" height="${height}" autoplay loop muted playsinline></video>`,
    '<script>',
    '  // Safari plays VP9 but not its alpha: it gets the animated WebP, which it draws with alpha.',
    '  if (/^((?!chrome|android).)*safari/i.test(navigator.userAgent)) {',
    `    document.currentScript.previousElementSibling.outerHTML = '<img class="sticker" src="${basename(image)}" width="${width}" height="${height}" alt="">';`,
    '  }',
    '</script>',
  ].join('\n');
}
