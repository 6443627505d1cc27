#!/usr/bin/env node
/**
 * The `stickerkey` command. Parsing and presentation only: the job itself runs through
 * renderJob(), shared with the demo and the queue worker. Every failure ends as one line on
 * stderr, `stickerkey: <message> [CODE]` (the stack only with --debug or DEBUG set), and Ctrl-C
 * aborts the pipeline through its AbortSignal so ffmpeg children and temp files are cleaned up.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { CancelledError, OUTPUT_FORMATS, TARGET_NAMES, describeOptions, ffmpegStartupLine, optimiseOnOwnThreads } from '@stickerkey/core';
import { applyAssignments, loadJobFile, type Job } from './job.js';
import { renderJob, type RenderResult } from './render.js';
import { createProgressDisplay, errorCode, formatErrorLine, formatSummary, resultToJson, type LogFormat } from './report.js';
import { effectNames, listEffects } from './stages.js';
import { loadQueueConfig, QUEUE_ENV } from './queue-config.js';
import type { BatchFlags } from './batch.js';
import { memoryBudgetBytes } from './memory-budget.js';
import type { CheckFlags } from './check.js';
// The other commands' modules (BullMQ, the progress bars and globbing of a batch, ...) are imported
// by their commands: loading them all cost every command ~0.3-0.4 s of CPU at start, a render too.

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** Exit codes: 2 for a refused command line or option, 1 for a failed job, 128+n for signals. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_BY_SIGNAL: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

interface RenderFlags {
  output?: string;
  format?: string;
  posterize?: string;
  hold?: boolean;
  background?: string;
  preset?: string;
  speed?: string;
  job?: string;
  set?: string[];
  jobId?: string;
  threads?: string;
  quiet?: boolean;
  json?: boolean;
  logFormat?: string;
  debug?: boolean;
  memoryBudget?: string;
  fitMemory?: boolean;
  target?: string;
  fit?: string[];
  [effectSwitch: string]: unknown;
}

const debugWanted = (argv: readonly string[]) => argv.includes('--debug') || Boolean(process.env.DEBUG);

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Lay the command line over the job file: flags win, effect settings merge option by option. */
async function jobFromFlags(input: string | undefined, flags: RenderFlags, effects: readonly string[]): Promise<Job> {
  if (!flags.job && (input === undefined || flags.output === undefined)) {
    throw new CommanderError(
      EXIT_USAGE,
      'stickerkey.missing',
      `missing ${input === undefined ? '<input>' : '-o <output>'}: stickerkey render <input> -o <output> [options], or --job <file>`,
    );
  }
  const job: Record<string, unknown> = flags.job ? { ...(await loadJobFile(flags.job)) } : {};
  if (input !== undefined) job.input = input;
  if (flags.output !== undefined) job.output = flags.output;
  if (flags.format !== undefined) job.format = flags.format;
  // Flags stay text: resolveJob (core's resolveOptions) converts numerals and refuses the rest.
  if (flags.posterize !== undefined) job.posterize = flags.posterize;
  if (flags.hold) job.hold = true;
  if (flags.background !== undefined) job.background = flags.background;
  if (flags.preset !== undefined) job.preset = flags.preset;
  if (flags.speed !== undefined) job.speed = flags.speed;
  if (flags.jobId !== undefined) job.jobId = flags.jobId;
  if (flags.target !== undefined) job.target = flags.target;
  if (flags.fit !== undefined) job.fit = flags.fit.join(',');
  if (flags.threads !== undefined) job.threads = flags.threads;
  const fileEffects = job.effects;
  let settings =
    typeof fileEffects === 'object' && fileEffects !== null && !Array.isArray(fileEffects)
      ? (fileEffects as Record<string, boolean | Record<string, unknown>>)
      : undefined;
  if (flags.set && flags.set.length > 0) settings = applyAssignments(settings ?? {}, flags.set);
  for (const name of effects) {
    if (flags[camel(name)] === false) settings = { ...settings, [name]: false };
  }
  if (settings !== undefined) job.effects = settings;
  else if (fileEffects !== undefined) job.effects = fileEffects; // let resolveJob refuse the wrong shape
  return job as unknown as Job;
}

/** --memory-budget is in MB on the command line, bytes in the library; the same option as a batch's. */
function memoryFlags(flags: RenderFlags): { memoryBudget?: number; fitMemory?: boolean } {
  const out: { memoryBudget?: number; fitMemory?: boolean } = flags.fitMemory ? { fitMemory: true } : {};
  if (flags.memoryBudget === undefined) return out;
  return { ...out, memoryBudget: memoryBudgetBytes(flags.memoryBudget) };
}

async function render(input: string | undefined, flags: RenderFlags, effects: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const display = createProgressDisplay({
    quiet: flags.quiet ?? false,
    logFormat: (flags.logFormat as LogFormat | undefined) ?? 'plain',
    ...(flags.jobId !== undefined ? { jobId: flags.jobId } : {}),
  });
  const onSignal = (signal: NodeJS.Signals) => {
    // A second Ctrl-C while cleaning up means "now": leave at once.
    if (interrupted) process.exit(EXIT_BY_SIGNAL[signal] ?? EXIT_FAILED);
    interrupted = signal;
    controller.abort(new CancelledError(`Interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Memory lines are held back until the input has passed the probe: a refused input then ends
  // as the one error line, not a memory reading followed by the error.
  let held: string[] | undefined = [];
  const log = (line: string) => (held ? held.push(line) : display.log(line));
  try {
    const job = await jobFromFlags(input, flags, effects);
    // Which ffmpeg will run, held with the memory lines (and refused here if FFMPEG_PATH is broken).
    log(ffmpegStartupLine());
    const result: RenderResult = await renderJob(job, {
      ...memoryFlags(flags),
      signal: controller.signal,
      onProgress: (p) => {
        if (held && p.stage !== 'probe') {
          for (const line of held) display.log(line);
          held = undefined;
        }
        display.onProgress(p);
      },
      log,
    });
    display.stop();
    if (flags.json) process.stdout.write(`${resultToJson(result)}\n`);
    else if (!flags.quiet) process.stdout.write(`${formatSummary(result)}\n`);
    return 0;
  } catch (error) {
    display.stop();
    if (interrupted) {
      // Whatever the pipeline reported while being torn down (a killed ffmpeg), the cause is the signal.
      report(new CancelledError(`Interrupted by ${interrupted}; ffmpeg stopped, temporary files removed`), flags);
      return EXIT_BY_SIGNAL[interrupted] ?? EXIT_FAILED;
    }
    if (error instanceof CommanderError) {
      process.stderr.write(`${usageLine(error)}\n`);
      return EXIT_USAGE;
    }
    report(error, flags);
    return errorCode(error) === 'INVALID_OPTION' ? EXIT_USAGE : EXIT_FAILED;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface EnqueueFlags {
  redis?: string;
  queue?: string;
  jobId?: string;
  attempts: string;
  wait?: boolean;
  json?: boolean;
}

/** The queue worker until a signal: the first closes gracefully, a second aborts running jobs. Exit 0 once closed. */
async function runWorker(): Promise<number> {
  // A bad variable is refused here, naming it, before any connection is opened.
  const config = loadQueueConfig();
  const { createQueueWorker } = await import('./queue-worker.js');
  const worker = createQueueWorker(config);
  try {
    // METRICS_PORT taken: say so and stop, rather than run unobserved.
    await worker.metricsAddress();
  } catch (error) {
    await worker.close(0);
    throw Object.assign(new Error(`Expected METRICS_PORT=${config.metricsPort} to be free on ${config.metricsHost} but ${(error as Error).message}`), {
      code: 'INVALID_OPTION',
    });
  }
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        process.stderr.write(`stickerkey worker: ${signal}: finishing running jobs (at most ${config.closeGraceSeconds} s); send it again to abort them\n`);
        void worker.close().then(resolve);
      } else {
        worker.abortAll();
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return 0;
}

async function enqueue(file: string, flags: EnqueueFlags): Promise<number> {
  const env = loadQueueConfig({ ...process.env, ...(flags.redis ? { REDIS_URL: flags.redis } : {}), ...(flags.queue ? { QUEUE_NAME: flags.queue } : {}) });
  const attempts = Number(flags.attempts);
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new CommanderError(EXIT_USAGE, 'stickerkey.attempts', `--attempts must be a whole number of at least 1, not ${JSON.stringify(flags.attempts)}`);
  }
  const job = (await loadJobFile(file)) as Job;
  const { enqueueJob } = await import('./enqueue.js');
  try {
    const { id, result } = await enqueueJob(job, {
      redisUrl: env.redisUrl,
      queueName: env.queueName,
      attempts,
      ...(flags.jobId !== undefined ? { jobId: flags.jobId } : {}),
      ...(flags.wait ? { wait: true } : {}),
    });
    if (flags.json) process.stdout.write(`${JSON.stringify({ id, queue: env.queueName, ...(result ? { result } : {}) })}\n`);
    else if (result) process.stdout.write(`job ${id} done: ${result.frames} frames in ${result.wallSeconds} s, output ${result.output}\n`);
    else process.stdout.write(`enqueued job ${id} on queue ${env.queueName}\n`);
    return 0;
  } catch (error) {
    // A failed job comes back as its failed reason, `<message> [CODE]`: keep the code.
    const { failureCode } = await import('./queue-worker.js');
    const code = error instanceof Error && !('code' in error) ? failureCode(error.message) : undefined;
    if (code) throw Object.assign(new Error((error as Error).message.replace(/ \[[A-Z0-9_]+\]$/, '')), { code });
    throw error;
  }
}

/** Commander's own refusals (unknown option, missing argument) in our one-line form. */
function usageLine(error: CommanderError): string {
  return `stickerkey: ${error.message.replace(/^error: /, '')} [USAGE]`;
}

function report(error: unknown, flags: { json?: boolean; debug?: boolean }): void {
  process.stderr.write(`${formatErrorLine(error)}\n`);
  if (flags.debug || debugWanted(process.argv)) process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  if (flags.json) {
    const message = error instanceof Error ? error.message : String(error);
    process.stdout.write(`${JSON.stringify({ error: { code: errorCode(error), message } })}\n`);
  }
}

function printEffects(json: boolean): void {
  const effects = listEffects();
  if (json) {
    process.stdout.write(
      `${JSON.stringify(
        effects.map((e) => ({ name: e.name, description: e.description, options: e.options })),
        null,
        2,
      )}\n`,
    );
    return;
  }
  const lines: string[] = [];
  for (const effect of effects) {
    lines.push(`${effect.name}: ${effect.description}`);
    for (const line of describeOptions(effect.options)) lines.push(`    ${line}`);
    lines.push('');
  }
  lines.push('Tune with --set <effect>.<option>=<value>, switch off with --no-<effect>, or in a job file:');
  lines.push('  effects: { drop-shadow: { opacity: 50 }, outline: false }');
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function buildProgram(onExit: (code: number) => void): Command {
  const effects = effectNames();
  const program = new Command('stickerkey')
    .description('Green/blue-screen clips to sticker-style videos with alpha.')
    .version(pkg.version)
    // Commander's own messages become our one-line errors, printed by main().
    .exitOverride()
    .configureOutput({ outputError: () => {} });

  const renderCommand = program
    .command('render')
    .description('key, style and encode one clip')
    .argument('[inputs...]', 'source clip (or `input` in the job file); with --out-dir, any number of clips, folders or quoted globs')
    .option('-o, --output <path>', 'output file; its extension picks the format unless --format is given')
    .option('--format <format>', OUTPUT_FORMATS.join(' | '))
    .option('--posterize <fps>', 'stop-motion frame rate: 12, 8 or any rate below the source (off: keep the source rate)')
    .option('--hold', 'keep the source frame rate, holding each posterized frame')
    .option('--background <color>', '#rrggbb that mp4 (no alpha) is flattened on')
    .option('--preset <preset>', 'sticker | key | none: the starting set of effects')
    .option('--speed <speed>', 'fast | balanced | small: encoder CPU against output bytes (default balanced)')
    .option('--target <platform>', `a sticker platform (${TARGET_NAMES.join(' | ')}): cut to the character and meet its format, size, rate, duration and bytes`)
    .option(
      '--fit <trade>',
      'with --target, what may be traded to meet its limits: rate | size (bytes), speed-up | trim (duration); repeatable or comma-separated',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--job <file>', 'job file (JSON or YAML; its input/output paths are relative to it); flags override it')
    .option('--set <effect.option=value>', 'tune an effect option (repeatable)', (value: string, previous: string[] | undefined) => [
      ...(previous ?? []),
      value,
    ])
    .option('--job-id <id>', 'id shown in the memory log lines (JOB #<id>)')
    .option('--memory-budget <MB>', 'peak memory of the whole process tree the job may reach; one predicted above it is refused before any work (default 1536)')
    .option('--fit-memory', 'scale the canvas down until the predicted peak fits --memory-budget, rather than refuse')
    .option('--threads <n>', 'most threads for the effect stack (1: in-line; default: one per core, capped by STICKERKEY_THREADS)')
    .option('--log-format <format>', 'plain | json (pino) for progress and memory lines on stderr', 'plain')
    .option('-q, --quiet', 'no progress, memory lines or summary; errors only')
    .option('--json', 'print the result (or the error) as JSON on stdout')
    .option('--debug', 'print stack traces with errors');
  // Local batches (batch.ts): several inputs rendered into one folder, admitted by memory.
  renderCommand.option('--out-dir <dir>', 'render every input into this folder as <name>.<format> (a batch: files, folders, quoted globs)');
  if (!renderCommand.options.some((o) => o.long === '--memory-budget')) {
    renderCommand.option('--memory-budget <mb>', 'batch: process-tree memory for all running clips (default: MEMORY_BUDGET_MB or 1536)');
  }
  renderCommand.option('--max-concurrent <n>', 'batch: most clips rendered at once (default 1; memory admission may run fewer)');
  const reserved = new Set(renderCommand.options.map((o) => o.attributeName()));
  for (const name of effects) {
    if (!reserved.has(camel(name))) renderCommand.option(`--no-${name}`, `switch off ${name}`);
  }
  renderCommand
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  stickerkey render in.mp4 -o out.webm --preset sticker --posterize 12',
        '  stickerkey render in.mp4 -o out.mov --no-drop-shadow --set outline.width=8',
        '  stickerkey render --job job.yaml --format gif',
        '  stickerkey render clip.mp4 --target telegram -o wave.webm --fit rate',
        '',
        'Effects and their options: stickerkey effects',
      ].join('\n'),
    )
    .action(async (inputs: string[], flags: RenderFlags) => {
      if (flags.logFormat !== 'plain' && flags.logFormat !== 'json') {
        throw new CommanderError(EXIT_USAGE, 'stickerkey.logFormat', `--log-format must be plain or json, not ${JSON.stringify(flags.logFormat)}`);
      }
      if (typeof flags.outDir === 'string') {
        if (flags.output !== undefined)
          throw new CommanderError(EXIT_USAGE, 'stickerkey.outDir', '-o and --out-dir exclude each other: -o names one output, --out-dir a folder for many');
        const batchFlags = flags as RenderFlags & BatchFlags;
        const { runBatchCommand } = await import('./batch.js');
        return onExit(await runBatchCommand(inputs, batchFlags, (input, output) => jobFromFlags(input, { ...flags, output }, effects)));
      }
      if (inputs.length > 1)
        throw new CommanderError(EXIT_USAGE, 'stickerkey.inputs', `${inputs.length} inputs need --out-dir <dir>; -o names a single output`);
      onExit(await render(inputs[0], flags, effects));
    });

  program
    .command('effects')
    .description('list the effects and their options')
    .option('--json', 'as JSON')
    .action((flags: { json?: boolean }) => {
      printEffects(flags.json ?? false);
      onExit(0);
    });
  program
    .command('check')
    .description("report every way a file breaks a sticker platform's limits (exit 0: meets them all, 1: breaks some, 2: bad target)")
    .argument('<file>', 'the sticker file to check')
    .requiredOption('--target <name>', TARGET_NAMES.join(' | '))
    .option('--json', 'the facts read and the limits broken, as JSON')
    .action(async (file: string, flags: CheckFlags) => {
      const { runCheck } = await import('./check.js');
      const report = await runCheck(file, flags);
      process.stdout.write(report.stdout);
      onExit(report.exitCode);
    });
  program
    .command('doctor')
    .description(
      'which ffmpeg and ffprobe run, their versions and encoders, and whether it is the slow bundled build (exit 0: fast path, 1: slow or incomplete, 2: FFMPEG_PATH/FFPROBE_PATH broken)',
    )
    .option('--json', 'as JSON')
    .action(async (flags: { json?: boolean }) => {
      const { doctor } = await import('./doctor.js');
      const report = doctor({ json: flags.json ?? false });
      process.stdout.write(report.stdout);
      process.stderr.write(report.stderr);
      onExit(report.exitCode);
    });
  program
    .command('worker')
    .description('take render jobs from the BullMQ queue in Redis until SIGTERM/SIGINT (settings from the environment)')
    .addHelpText(
      'after',
      ['', 'Environment:', ...QUEUE_ENV.map((v) => `  ${v.name.padEnd(20)} ${v.help} (default: ${v.default === '' ? 'unset' : String(v.default)})`)].join('\n'),
    )
    .action(async () => onExit(await runWorker()));

  program
    .command('enqueue')
    .description('add a job file (JSON or YAML) to the queue the workers take jobs from')
    .argument('<job>', 'job file; its input/output paths are relative to it and must be readable/writable by the workers')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL or redis://127.0.0.1:6379)')
    .option('--queue <name>', 'queue name (default: QUEUE_NAME or stickerkey)')
    .option('--job-id <id>', 'BullMQ job id (a job with the same id is not added twice)')
    .option('--attempts <n>', 'attempts in all, retries after failures and worker shutdowns included', '3')
    .option('--wait', 'wait for the job to finish and print its result')
    .option('--json', 'print the job id (and with --wait the result) as JSON')
    .action(async (file: string, flags: EnqueueFlags) => onExit(await enqueue(file, flags)));

  // The queue view for operators (dashboard.ts): read-only, on 127.0.0.1 unless told otherwise.
  program
    .command('dashboard')
    .description('serve a read-only BullMQ dashboard (bull-board) of the queue until SIGTERM/SIGINT')
    .option('--port <n>', 'port to listen on', '3000')
    .option('--host <address>', 'address to bind; 0.0.0.0 exposes it to the network (it has no login of its own)', '127.0.0.1')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL or redis://127.0.0.1:6379)')
    .option('--queue <name>', 'queue to show (repeatable; default: QUEUE_NAME or stickerkey)', (value: string, previous: string[] | undefined) => [
      ...(previous ?? []),
      value,
    ])
    .option('--allow-actions', 'let the page retry, remove, promote and clean jobs (default: read-only)')
    .action(async (flags: { port: string; host: string; redis?: string; queue?: string[]; allowActions?: boolean }) => {
      const env = loadQueueConfig({ ...process.env, ...(flags.redis ? { REDIS_URL: flags.redis } : {}) });
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new CommanderError(EXIT_USAGE, 'stickerkey.port', `--port must be a whole number between 0 and 65535, not ${JSON.stringify(flags.port)}`);
      }
      // Loaded here only: bull-board and hono stay out of every other command's start-up.
      const { startDashboard } = await import('./dashboard.js');
      const dashboard = await startDashboard({
        redisUrl: env.redisUrl,
        queues: flags.queue ?? [env.queueName],
        host: flags.host,
        port,
        allowActions: flags.allowActions ?? false,
      });
      process.stderr.write(
        `stickerkey dashboard: ${dashboard.url} (${flags.allowActions ? 'actions allowed' : 'read-only'}; queues: ${(flags.queue ?? [env.queueName]).join(', ')})\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await dashboard.close();
      onExit(0);
    });
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, successfully.
      if (error.exitCode === 0) return 0;
      process.stderr.write(`${usageLine(error)}\n`);
      return EXIT_USAGE;
    }
    report(error, { debug: debugWanted(argv) });
    return errorCode(error) === 'INVALID_OPTION' ? EXIT_USAGE : EXIT_FAILED;
  }
}

// Every command that renders (render, batch, worker) starts its threads after this (core's thread-compilation.ts).
optimiseOnOwnThreads();
process.exitCode = await main();
// Leave when the work is done even if a stray handle lingers; unref'd, so it never delays a clean exit.
setTimeout(() => process.exit(), 5000).unref();
