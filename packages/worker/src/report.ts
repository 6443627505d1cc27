/**
 * What a person (or a log collector) sees while a job runs and after it ends: a progress bar on a
 * terminal, plain lines every ~10% or 2 s otherwise, the memory monitor's seed-format lines, a
 * summary, and errors as one line `stickerkey: <message> [CODE]`.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import pino from 'pino';
import { attemptSize, isStickerkeyError, type Progress } from '@stickerkey/core';
import type { RenderResult } from './render.js';

const MB = 1024 * 1024;

export function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

function seconds(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value) || value < 0) return '?';
  if (value < 60) return `${value.toFixed(1)} s`;
  const m = Math.floor(value / 60);
  return `${m} min ${Math.round(value - m * 60)} s`;
}

export type LogFormat = 'plain' | 'json';

export interface DisplayOptions {
  /** Where progress and log lines go; stdout stays for the summary and --json. */
  stream?: NodeJS.WriteStream;
  /** Default: whether `stream` is a terminal. */
  tty?: boolean;
  quiet?: boolean;
  logFormat?: LogFormat;
  jobId?: string | number;
}

export interface ProgressDisplay {
  onProgress(progress: Progress): void;
  /** A log line (the memory monitor's): printed above the bar, never through it. */
  log(line: string): void;
  /** Remove the bar; call on success and failure alike. */
  stop(): void;
}

const STAGE_LABEL: Record<string, string> = {
  probe: 'probing',
  setup: 'preparing effects',
  frames: 'rendering',
  encoding: 'finishing encode',
  verify: 'checking alpha',
};

/** Plain lines: at most one per 10% of the frames, at least one per 2 s. */
const PLAIN_STEP = 0.1;
const PLAIN_INTERVAL_MS = 2000;

/** Frames until the next plain line: 10% of a known total; with no total (streamed input) time alone decides. */
function plainStep(totalFrames: number | undefined): number {
  return totalFrames === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.ceil(totalFrames * PLAIN_STEP));
}

function isDone(p: Progress): boolean {
  return p.totalFrames !== undefined && p.frame >= p.totalFrames;
}

export function createProgressDisplay(options: DisplayOptions = {}): ProgressDisplay {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { onProgress() {}, log() {}, stop() {} };

  if (options.logFormat === 'json') {
    // Machine logs: one JSON record per line (pino), the seed's text kept intact in `msg` so
    // `grep "💾 Memory Usage"` still finds it.
    const logger: pino.Logger = pino(
      { base: options.jobId !== undefined ? { jobId: options.jobId } : null, timestamp: pino.stdTimeFunctions.isoTime },
      pino.destination({ fd: (stream as { fd?: number }).fd ?? 2, sync: true }),
    );
    let next = 0;
    let lastAt = 0;
    return {
      onProgress(p) {
        if (p.stage === 'probe') return;
        const now = Date.now();
        const done = isDone(p);
        if (!done && p.frame < next && now - lastAt < PLAIN_INTERVAL_MS) return;
        next = p.frame + plainStep(p.totalFrames);
        lastAt = now;
        logger.info(
          // totalFrames and etaSeconds are left out while unknown (a streamed input).
          {
            frame: p.frame,
            totalFrames: p.totalFrames,
            fps: p.fps,
            etaSeconds: p.etaSeconds,
            elapsedSeconds: p.elapsedSeconds,
            treeRss: p.treeRss,
            stage: p.stage,
          },
          'progress',
        );
      },
      log(line) {
        logger.info(line);
      },
      stop() {},
    };
  }

  const tty = options.tty ?? stream.isTTY === true;
  if (!tty) {
    let next = 0;
    let lastAt = 0;
    let lastFrame = -1;
    return {
      onProgress(p) {
        if (p.stage === 'probe') return; // still probing: nothing to count yet
        const now = Date.now();
        const done = isDone(p);
        if (p.frame === lastFrame) return;
        if (!(done || p.frame >= next || now - lastAt >= PLAIN_INTERVAL_MS)) return;
        next = p.frame + plainStep(p.totalFrames);
        lastAt = now;
        lastFrame = p.frame;
        if (p.totalFrames === undefined) {
          // A streamed input: no total until its last frame, so frames and time, no percentage.
          stream.write(`progress: frame ${p.frame}, ${seconds(p.elapsedSeconds)} elapsed, ${p.fps.toFixed(1)} fps, tree ${mb(p.treeRss)} RSS\n`);
          return;
        }
        const pct = p.totalFrames > 0 ? Math.floor((100 * p.frame) / p.totalFrames) : 0;
        stream.write(
          `progress: frame ${p.frame}/${p.totalFrames} (${pct}%), ${p.fps.toFixed(1)} fps, ETA ${seconds(p.etaSeconds)}, tree ${mb(p.treeRss)} RSS\n`,
        );
      },
      log(line) {
        stream.write(`${line}\n`);
      },
      stop() {},
    };
  }

  // A terminal: one bar, log lines printed above it through MultiBar.log so they never tear it.
  const bars = new MultiBar(
    {
      stream,
      format: '{bar} {percentage}% | {value}/{total} frames | {fps} fps | ETA {eta_human} | tree {tree} | {stage}',
      hideCursor: true,
      clearOnComplete: true,
      gracefulExit: false, // SIGINT belongs to the CLI, which aborts the pipeline and cleans up
      etaBuffer: 30,
      fps: 5,
    },
    Presets.shades_classic,
  );
  let bar: SingleBar | undefined;
  let lastFps = 0;
  return {
    onProgress(p) {
      if (p.stage === 'probe') return;
      // The last events (encoder flush, alpha check) report no rate: keep showing the last one.
      if (p.fps > 0) lastFps = p.fps;
      const payload = {
        fps: lastFps.toFixed(1),
        eta_human: seconds(p.etaSeconds),
        elapsed: seconds(p.elapsedSeconds),
        tree: mb(p.treeRss),
        stage: STAGE_LABEL[p.stage] ?? p.stage,
      };
      // A streamed input has no total until its end: a counter of frames and time, no percentage.
      if (!bar) {
        bar =
          p.totalFrames === undefined
            ? bars.create(0, p.frame, payload, { format: '{value} frames | {elapsed} | {fps} fps | tree {tree} | {stage}' })
            : bars.create(p.totalFrames, p.frame, payload);
      } else {
        if (p.totalFrames !== undefined && bar.getTotal() !== p.totalFrames) bar.setTotal(p.totalFrames);
        bar.update(p.frame, payload);
      }
    },
    log(line) {
      if (bar) bars.log(`${line}\n`);
      else stream.write(`${line}\n`);
    },
    stop() {
      bars.stop();
    },
  };
}

/** The human summary printed after a successful render. */
export function formatSummary(result: RenderResult): string {
  const from = result.sourceFrames !== result.frames ? ` (from ${result.sourceFrames} source frames)` : '';
  const scaled = result.scaledFrom ? ` (scaled down from ${result.scaledFrom.width}x${result.scaledFrom.height} to fit the memory budget)` : '';
  return [
    `Rendered ${result.frames} frames${from} at ${result.width}x${result.height}${scaled} in ${seconds(result.wallSeconds)}: ${result.framesPerSecond.toFixed(1)} fps`,
    `  peak memory: ${mb(result.peakProcessRss)} process RSS, ${mb(result.peakTreeRss)} tree RSS (process + ffmpeg children)`,
    `  output: ${result.output} (${result.format}, ${mb(result.outputBytes)})`,
    ...targetLines(result),
  ].join('\n');
}

/** With a target: the platform, the crop and the byte budget's encodes. */
function targetLines(result: RenderResult): string[] {
  if (!result.target || !result.crop || !result.attempts || !result.chosen) return [];
  const { crop, chosen } = result;
  const encodes = result.attempts.map(
    (a) => `${a.bytes} B at quality ${a.quality}, ${a.fps} fps, ${attemptSize(a)}${a.speed ? `, speed ${a.speed}` : ''}${a === chosen ? ' (kept)' : ''}`,
  );
  return [
    `  target: ${result.target}, cut to the character: source ${crop.right - crop.left}x${crop.bottom - crop.top} at ${crop.left},${crop.top}, scaled by ${result.scale?.toFixed(3)}` +
      (result.trimmedTo !== undefined ? `, trimmed to ${result.trimmedTo} s` : '') +
      (result.speedUp !== undefined ? `, sped up ${result.speedUp.toFixed(2)}x` : ''),
    `  encodes: ${encodes.join('; ')}`,
    ...(result.fallbacks ?? []).map((path) => `  fallback: ${path}`),
    ...(result.snippet ? ['  HTML that picks one:', ...result.snippet.split('\n').map((line) => `    ${line}`)] : []),
  ];
}

/** The machine summary (`--json`): the result as is, file size included. */
export function resultToJson(result: RenderResult): string {
  return JSON.stringify(result, null, 2);
}

/** Stable code of any error: core's codes, Node's (ENOENT...), or INTERNAL. */
export function errorCode(error: unknown): string {
  if (isStickerkeyError(error)) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : 'INTERNAL';
}

/**
 * One line, always: `stickerkey: <message> [CODE]`. A multi-line message (ffmpeg's stderr tail)
 * keeps its first line and the last line of the tail, which is where ffmpeg says what went wrong.
 */
export function formatErrorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  let text = lines[0] ?? 'unknown error';
  if (lines.length > 1) text = `${text.replace(/:$/, '')}: ${lines[lines.length - 1]}`;
  return `stickerkey: ${text} [${errorCode(error)}]`;
}
