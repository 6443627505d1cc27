/**
 * Local batches without Redis: `stickerkey render a.mp4 b.mp4 clips/ 'more/*.mov' --out-dir out`.
 * Several clips in one process, admitted by memory exactly as the queue worker admits them
 * (predictJobMemory + MemoryGate from admission.ts, at most --max-concurrent at once), one
 * progress line per job plus a total, and a summary table at the end.
 *
 *   expand (files, folders, globs) -> validate every job (the command line's settings: a bad one
 *   refuses the whole batch before any work) -> per clip: probe -> predict -> wait at the gate
 *   -> render -> sweep the output folder
 *
 * A bad clip fails alone with its code and the batch goes on; the exit code says whether any
 * failed. Memory lines keep the seed format with each job's id (its position in the batch).
 */
import { stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { glob, isDynamicPattern } from 'tinyglobby';
import {
  CancelledError,
  InvalidOptionError,
  UnsupportedInputError,
  probe,
  resolveOptions,
  defaultMemoryModel,
  sampleProcessTree,
  type ProbeLimits,
  type Progress,
} from '@stickerkey/core';
import { MemoryGate, predictJob } from './admission.js';
import { resolveJob, type Job } from './job.js';
import { renderJob, type RenderOptions, type RenderResult } from './render.js';
import { errorCode, formatErrorLine, mb } from './report.js';
import { buildStages } from './stages.js';
import { sweepPartials } from './sweep.js';
import { renderInThread } from './threaded-render.js';
import { MEMORY_BUDGET_OPTION } from './memory-budget.js';

const MB = 1024 * 1024;

/** What a folder given as input contributes: the video files directly inside it. */
export const VIDEO_EXTENSIONS = ['.mp4', '.mov', '.m4v', '.mkv', '.webm', '.avi', '.gif'];

/** The batch's own flags, as data (refused by core's resolveOptions, naming the flag). */
export const BATCH_OPTIONS = [
  MEMORY_BUDGET_OPTION,
  { name: 'max-concurrent', type: 'integer', min: 1, max: 64, default: 1, help: 'most clips rendered at once; memory admission may run fewer' },
] as const;

export interface BatchEntry {
  /** Position in the batch, from 1: the id in its memory lines. */
  id: string;
  input: string;
  output: string;
  job: Job;
}

export interface BatchItemResult {
  id: string;
  input: string;
  output: string;
  ok: boolean;
  code?: string;
  message?: string;
  frames?: number;
  wallSeconds?: number;
  peakTreeRss?: number;
  predictedBytes?: number;
}

export interface BatchOptions {
  entries: readonly BatchEntry[];
  outDir: string;
  /** Bytes of process-tree memory, the idle process included. */
  memoryBudget: number;
  maxConcurrent: number;
  signal?: AbortSignal;
  limits?: Partial<ProbeLimits>;
  /** Where progress, memory lines and per-job errors go (default stderr). */
  stream?: NodeJS.WriteStream;
  /** Progress bars (default: when `stream` is a terminal) or plain lines. */
  tty?: boolean;
  quiet?: boolean;
  /** Render in worker threads (default: when more than one clip may run at once, for real parallel pixel work). */
  inThread?: boolean;
}

/** Parse --memory-budget and --max-concurrent; INVALID_OPTION names the flag. */
export function batchSettings(flags: { memoryBudget?: string; maxConcurrent?: string }, env: NodeJS.ProcessEnv = process.env) {
  // Text goes to core's resolveOptions as it came: it converts numerals and refuses the rest.
  const input: Record<string, string> = {};
  const budget = flags.memoryBudget ?? env.MEMORY_BUDGET_MB;
  if (budget !== undefined && budget.trim() !== '') input['memory-budget'] = budget;
  if (flags.maxConcurrent !== undefined) input['max-concurrent'] = flags.maxConcurrent;
  const o = resolveOptions('render', BATCH_OPTIONS, input);
  return { memoryBudget: Math.round(o['memory-budget'] * MB), maxConcurrent: o['max-concurrent'] };
}

/**
 * Files, folders (their video files, sorted) and globs (quoted, so the shell leaves them to us),
 * in the order given, each file once. Something that is none of these stays in the list, to fail
 * alone as UNSUPPORTED_INPUT like any unreadable clip.
 */
export async function expandInputs(inputs: readonly string[], cwd = process.cwd()): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    const full = resolve(cwd, path);
    if (!seen.has(full)) {
      seen.add(full);
      out.push(full);
    }
  };
  for (const input of inputs) {
    const info = await stat(resolve(cwd, input)).catch(() => undefined);
    if (info?.isDirectory()) {
      const found = await glob(`*{${VIDEO_EXTENSIONS.join(',')}}`, { cwd: resolve(cwd, input), absolute: true, caseSensitiveMatch: false, onlyFiles: true });
      found.sort().forEach(add);
    } else if (!info && isDynamicPattern(input)) {
      const found = await glob(input, { cwd, absolute: true, onlyFiles: true });
      if (found.length === 0) add(input); // reported as a missing input, not silently dropped
      found.sort().forEach(add);
    } else {
      add(input);
    }
  }
  return out;
}

/** `<out-dir>/<input name without its extension>.<format>`; two inputs may not land on one output. */
export function planOutputs(inputs: readonly string[], outDir: string, format: string): Array<{ input: string; output: string }> {
  const taken = new Map<string, string>();
  return inputs.map((input) => {
    const output = join(resolve(outDir), `${basename(input, extname(input))}.${format}`);
    const other = taken.get(output);
    if (other !== undefined) {
      throw new InvalidOptionError(
        `Expected inputs with distinct names for --out-dir but ${other} and ${input} would both render to ${output}`,
        'render.out-dir',
      );
    }
    taken.set(output, input);
    return { input, output };
  });
}

interface Display {
  start(entry: BatchEntry): void;
  progress(entry: BatchEntry, p: Progress): void;
  finish(entry: BatchEntry, result: BatchItemResult): void;
  log(line: string): void;
  stop(): void;
}

function createDisplay(options: BatchOptions): Display {
  const stream = options.stream ?? process.stderr;
  const total = options.entries.length;
  let finished = 0;
  let failed = 0;
  if (options.quiet) return { start() {}, progress() {}, finish() {}, log() {}, stop() {} };
  const name = (entry: BatchEntry) => basename(entry.input);
  const totalLine = () => `total: ${finished}/${total} clips finished, ${failed} failed`;

  if (options.tty ?? stream.isTTY === true) {
    const bars = new MultiBar(
      { stream, format: '{name} {bar} {value}/{total} {note}', hideCursor: true, clearOnComplete: false, gracefulExit: false, fps: 5 },
      Presets.shades_classic,
    );
    const totalBar = bars.create(total, 0, { name: 'total'.padEnd(24), note: `0 failed` });
    const perJob = new Map<string, SingleBar>();
    return {
      start(entry) {
        perJob.set(entry.id, bars.create(1, 0, { name: `#${entry.id} ${name(entry)}`.slice(0, 24).padEnd(24), note: 'waiting' }));
      },
      progress(entry, p) {
        const bar = perJob.get(entry.id);
        if (!bar || p.totalFrames === 0) return;
        // A streamed input's length is unknown until its end: the bar's total follows the frames.
        const total = p.totalFrames ?? p.frame + 1;
        if (bar.getTotal() !== total) bar.setTotal(total);
        bar.update(p.frame, { note: `frames ${p.fps > 0 ? `${p.fps.toFixed(1)} fps ` : ''}tree ${mb(p.treeRss)}` });
      },
      finish(entry, result) {
        finished++;
        if (!result.ok) failed++;
        perJob.get(entry.id)?.update({ note: result.ok ? 'done' : `failed [${result.code}]` });
        totalBar.update(finished, { note: `${failed} failed` });
      },
      log(line) {
        bars.log(`${line}\n`);
      },
      stop() {
        bars.stop();
      },
    };
  }

  // Plain lines: per job at most one per 10% of its frames or 2 s, and the total after each clip.
  const next = new Map<string, { frame: number; at: number }>();
  return {
    start(entry) {
      stream.write(`JOB #${entry.id} ${name(entry)}: started\n`);
    },
    progress(entry, p) {
      if (p.totalFrames === 0 || p.stage !== 'frames') return;
      const now = Date.now();
      const due = next.get(entry.id) ?? { frame: 0, at: 0 };
      // Unknown length (a streamed input): every 2 s, frames without a total.
      const total = p.totalFrames;
      if ((total === undefined || p.frame < total) && p.frame < due.frame && now - due.at < 2000) return;
      next.set(entry.id, { frame: total === undefined ? Infinity : p.frame + Math.max(1, Math.ceil(total / 10)), at: now });
      stream.write(
        `JOB #${entry.id} ${name(entry)}: frame ${p.frame}${total === undefined ? '' : `/${total}`}, ${p.fps.toFixed(1)} fps, tree ${mb(p.treeRss)} RSS\n`,
      );
    },
    finish(entry, result) {
      finished++;
      if (!result.ok) failed++;
      stream.write(
        `JOB #${entry.id} ${name(entry)}: ${result.ok ? `done, ${result.frames} frames in ${result.wallSeconds?.toFixed(1)} s` : `failed [${result.code}]`}\n`,
      );
      stream.write(`${totalLine()}\n`);
    },
    log(line) {
      stream.write(`${line}\n`);
    },
    stop() {},
  };
}

/**
 * Render every entry; never throws for a clip's failure (it is in the results). Entries must
 * already be validated (see prepareBatch).
 */
export async function runBatch(options: BatchOptions): Promise<BatchItemResult[]> {
  const { entries, signal } = options;
  const inThread = options.inThread ?? options.maxConcurrent > 1;
  const baseline = Math.max(defaultMemoryModel().processBaselineMb * MB, sampleProcessTree().treeRss);
  const gate = new MemoryGate(Math.max(0, options.memoryBudget - baseline));
  const display = createDisplay(options);
  const results = new Array<BatchItemResult>(entries.length);
  // Outputs are local: a partial whose owner is gone is stale at once (no other host writes here).
  const sweep = () =>
    sweepPartials(options.outDir, { minAgeSeconds: 0, onRemoved: (path, pid) => display.log(`removed ${path}: temp output of process ${pid}, which is gone`) });
  await sweep();

  const renderOne = async (entry: BatchEntry, index: number): Promise<void> => {
    const result: BatchItemResult = { id: entry.id, input: entry.input, output: entry.output, ok: false };
    display.start(entry);
    let release: (() => void) | undefined;
    try {
      if (signal?.aborted) throw new CancelledError(`JOB #${entry.id} was not started: the batch was interrupted`);
      const resolved = resolveJob(entry.job);
      const stages = buildStages(resolved.preset, resolved.effects);
      const source = await probe(resolved.input, options.limits);
      const prediction = predictJob(source, stages, resolved, { inThread });
      result.predictedBytes = prediction.bytes;
      release = await gate.acquire(
        prediction.bytes,
        `JOB #${entry.id} (${basename(entry.input)}, ${prediction.canvas.width}x${prediction.canvas.height} ${prediction.format})`,
        signal,
      );
      const renderOptions: RenderOptions = {
        ...(signal ? { signal } : {}),
        ...(options.limits ? { limits: options.limits } : {}),
        log: (line) => display.log(line),
        onProgress: (p) => display.progress(entry, p),
      };
      const rendered: RenderResult = await (inThread ? renderInThread : renderJob)({ ...entry.job, jobId: entry.id }, renderOptions);
      Object.assign(result, {
        ok: true,
        frames: rendered.frames,
        wallSeconds: rendered.wallSeconds,
        peakTreeRss: rendered.peakTreeRss,
        output: rendered.output,
      });
    } catch (error) {
      const cause = signal?.aborted && errorCode(error) !== 'CANCELLED' ? CancelledError.from(signal) : error;
      result.code = errorCode(cause);
      result.message = formatErrorLine(cause)
        .replace(/^stickerkey: /, '')
        .replace(/ \[[A-Z0-9_]+\]$/, '');
      display.log(formatErrorLine(cause));
    } finally {
      release?.();
      results[index] = result;
      display.finish(entry, result);
      await sweep();
    }
  };

  // maxConcurrent lanes pull clips in order; the gate decides when each may actually start.
  let nextIndex = 0;
  const lane = async () => {
    while (nextIndex < entries.length) {
      const index = nextIndex++;
      await renderOne(entries[index]!, index);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.maxConcurrent, entries.length) }, lane));
  } finally {
    display.stop();
  }
  return results;
}

/**
 * Expand the inputs, name the outputs and build every job through `makeJob` (the CLI lays its
 * flags over each), validating all of them before any work: a bad setting is the command line's
 * and refuses the whole batch (INVALID_OPTION); a missing or broken clip fails alone later.
 */
export async function prepareBatch(
  inputs: readonly string[],
  outDir: string,
  format: string,
  makeJob: (input: string, output: string) => Promise<Job>,
): Promise<BatchEntry[]> {
  const files = await expandInputs(inputs);
  if (files.length === 0) throw new UnsupportedInputError(`Expected video files in ${inputs.join(', ')} but found none`, inputs.join(', '));
  const planned = planOutputs(files, outDir, format);
  const entries: BatchEntry[] = [];
  for (const [i, { input, output }] of planned.entries()) {
    const job = await makeJob(input, output);
    const resolved = resolveJob(job);
    buildStages(resolved.preset, resolved.effects);
    entries.push({ id: String(i + 1), input, output, job });
  }
  return entries;
}

function cell(value: string, width: number): string {
  return value.length > width ? `${value.slice(0, width - 1)}…` : value.padEnd(width);
}

/** The summary table: one row per clip, `done` or the code and message. */
export function formatBatchTable(results: readonly BatchItemResult[]): string {
  const nameWidth = Math.min(40, Math.max(4, ...results.map((r) => basename(r.input).length)));
  const rows = [`${'job'.padEnd(4)} ${'file'.padEnd(nameWidth)} ${'frames'.padStart(6)} ${'time'.padStart(8)} ${'peak'.padStart(10)}  result`];
  for (const r of results) {
    const frames = r.frames !== undefined ? String(r.frames) : '-';
    const time = r.wallSeconds !== undefined ? `${r.wallSeconds.toFixed(1)} s` : '-';
    const peak = r.peakTreeRss !== undefined ? mb(r.peakTreeRss) : '-';
    const outcome = r.ok ? `done: ${r.output}` : `${r.code}: ${r.message}`;
    rows.push(`${`#${r.id}`.padEnd(4)} ${cell(basename(r.input), nameWidth)} ${frames.padStart(6)} ${time.padStart(8)} ${peak.padStart(10)}  ${outcome}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  rows.push(`${results.length - failed} done, ${failed} failed`);
  return rows.join('\n');
}

export interface BatchFlags {
  outDir: string;
  format?: string;
  memoryBudget?: string;
  maxConcurrent?: string;
  quiet?: boolean;
  json?: boolean;
}

/**
 * `stickerkey render <inputs...> --out-dir DIR`: the command around runBatch. Returns the exit
 * code: 0 all done, 1 any clip failed, 2 a refused setting (nothing started), 130/143 on a signal
 * (running clips aborted, their ffmpeg and temp files cleaned up, the others not started).
 */
export async function runBatchCommand(inputs: readonly string[], flags: BatchFlags, makeJob: (input: string, output: string) => Promise<Job>): Promise<number> {
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(signal === 'SIGINT' ? 130 : 143);
    interrupted = signal;
    controller.abort(new CancelledError(`Interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let settings: ReturnType<typeof batchSettings>;
    let entries: BatchEntry[];
    try {
      settings = batchSettings(flags);
      const format = flags.format ?? 'webm';
      entries = await prepareBatch(inputs, flags.outDir, format, makeJob);
    } catch (error) {
      process.stderr.write(`${formatErrorLine(error)}\n`);
      if (flags.json) process.stdout.write(`${JSON.stringify({ error: { code: errorCode(error), message: (error as Error).message } })}\n`);
      return errorCode(error) === 'INVALID_OPTION' ? 2 : 1;
    }
    const results = await runBatch({
      entries,
      outDir: flags.outDir,
      memoryBudget: settings.memoryBudget,
      maxConcurrent: settings.maxConcurrent,
      signal: controller.signal,
      quiet: flags.quiet ?? false,
    });
    if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else if (!flags.quiet) process.stdout.write(`${formatBatchTable(results)}\n`);
    if (interrupted) return interrupted === 'SIGINT' ? 130 : 143;
    return results.every((r) => r.ok) ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
