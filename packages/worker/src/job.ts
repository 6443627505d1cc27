/**
 * A render job as users write it (CLI flags, a JSON/YAML job file, later a queue payload) and
 * its validation. The scalar settings are an option table like an effect's, so that they are
 * refused by core's resolveOptions with the same wording (`Expected one of webm, mov, gif, mp4
 * for job.format but received "avi" of type string`) before any file is opened.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import {
  DEFAULT_SPEED,
  ENCODER_SPEEDS,
  FIT_MODES,
  FORMAT_EXTENSIONS,
  formatForExtension,
  InvalidOptionError,
  OUTPUT_FORMATS,
  platformTarget,
  resolveOptions,
  type FitMode,
  type EncoderSpeed,
  type OutputFormat,
  type TargetName,
} from '@stickerkey/core';
import { parse as parseYaml } from 'yaml';

/** Core's output formats: a format core learns reaches job files and queue jobs with no change here. */
export type JobFormat = OutputFormat;
export type JobPreset = 'sticker' | 'key' | 'none';
export type JobSpeed = EncoderSpeed;
/** Per effect: `false` switches it off, `true` on with its defaults, an object tunes it. */
export type EffectSettings = Record<string, boolean | Record<string, unknown>>;

export interface Job {
  input: string;
  output: string;
  /** Default: from the output's extension. */
  format?: JobFormat;
  /** Output frame rate for the stop-motion look (12, 8, any rate below the source); null/0 = off. */
  posterize?: number | null;
  /** Keep the source frame rate and repeat each kept frame instead of lowering the rate. */
  hold?: boolean;
  /** `#rrggbb`: what mp4 (no alpha) is flattened on. */
  background?: string;
  preset?: JobPreset;
  /** Encoder preset, CPU against bytes (core's SPEED_PRESETS); default balanced. */
  speed?: JobSpeed;
  effects?: EffectSettings;
  /** Shown in the memory log lines: `JOB #<id>: 💾 ...`. */
  jobId?: string | number;
  /** Most threads for the effect stack; 0 or absent: one per core (STICKERKEY_THREADS caps it too). */
  threads?: number;
  /** A sticker platform (core's PLATFORM_TARGETS): it sets the format, size, rate, duration and bytes. */
  target?: TargetName;
  /** With a target: what may be traded to meet its limits (rate, size, speed-up, trim), a list or comma-separated. */
  fit?: readonly FitMode[] | string;
}

/** The job's own settings as data (validation happens once, in core). */
export const JOB_OPTIONS = [
  { name: 'format', type: 'enum', values: OUTPUT_FORMATS, default: 'webm', help: 'output container and codec' },
  {
    name: 'posterize',
    type: 'number',
    min: 0,
    max: 240,
    default: 0,
    unit: 'fps',
    help: 'stop-motion frame rate (12, 8, ...); 0 keeps the source rate',
  },
  { name: 'hold', type: 'boolean', default: false, help: 'keep the source rate, holding each posterized frame' },
  { name: 'background', type: 'color', default: '#ffffff', help: 'colour mp4 output is flattened on' },
  { name: 'preset', type: 'enum', values: ['sticker', 'key', 'none'], default: 'sticker', help: 'starting set of effects' },
  {
    name: 'threads',
    type: 'integer',
    min: 0,
    max: 64,
    default: 0,
    help: 'most threads for the effect stack (1: in-line); 0: one per core, capped by STICKERKEY_THREADS',
  },
  { name: 'speed', type: 'enum', values: ENCODER_SPEEDS, default: DEFAULT_SPEED, help: 'encoder preset: fast | balanced | small (CPU against bytes)' },
] as const;

export interface ResolvedJob {
  input: string;
  output: string;
  format: JobFormat;
  posterize: number | null;
  hold: boolean;
  background: string;
  preset: JobPreset;
  speed: JobSpeed;
  effects: EffectSettings;
  jobId?: string | number;
  /** 0: one per core. */
  threads: number;
  target?: TargetName;
  fit: readonly FitMode[];
}

const JOB_KEYS = new Set([
  'input',
  'output',
  'format',
  'posterize',
  'hold',
  'background',
  'preset',
  'speed',
  'effects',
  'jobId',
  'job-id',
  'threads',
  'target',
  'fit',
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} of type string`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' || typeof value === 'function') return `an ${typeof value}`;
  const text =
    typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || typeof value === 'symbol' ? value.toString() : 'undefined';
  return `${text} of type ${typeof value}`;
}

/**
 * Check the shape of a job and fill its defaults. Effect names and options are checked later by
 * the effect stack (through core's resolveOptions), still before any work.
 */
export function resolveJob(job: Job): ResolvedJob {
  const raw = job as unknown as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!JOB_KEYS.has(key)) {
      throw new InvalidOptionError(`Unknown option job.${key}; expected one of ${[...JOB_KEYS].filter((k) => k !== 'job-id').join(', ')}`, `job.${key}`);
    }
  }
  for (const key of ['input', 'output'] as const) {
    const value = raw[key];
    if (typeof value !== 'string' || value === '') {
      throw new InvalidOptionError(`Expected a file path for job.${key} but received ${value === undefined ? 'nothing' : describe(value)}`, `job.${key}`);
    }
  }
  const input = resolve(job.input);
  const output = resolve(job.output);
  if (input === output) {
    throw new InvalidOptionError(`Expected job.output to differ from job.input but both are ${input}`, 'job.output');
  }

  // The platform first: with a target, an output whose extension names no format gets the platform's own.
  const target = raw.target === undefined ? undefined : platformTarget(raw.target, 'job.target');
  const fit = resolveFit(raw.fit, target !== undefined);
  let format: unknown = job.format;
  if (format === undefined) {
    format = formatForExtension(output) ?? target?.formats[0];
    if (format === undefined) {
      throw new InvalidOptionError(
        `Cannot tell the output format of ${output} from its extension; expected ${OUTPUT_FORMATS.flatMap((f) => FORMAT_EXTENSIONS[f]).join(', ')}, or give a format`,
        'job.format',
      );
    }
  }
  if (raw.background === null) {
    // YAML reads an unquoted `background: #00ff00` as a comment, leaving null: say so.
    throw new InvalidOptionError(
      'Expected colour as #rrggbb for job.background but received null (in YAML write it quoted, "#rrggbb": an unquoted # starts a comment)',
      'job.background',
    );
  }
  // null, false and "off" all mean "no posterize" in hand-written job files.
  const posterizeIn = raw.posterize;
  const posterize = posterizeIn === null || posterizeIn === false || posterizeIn === 'off' ? 0 : posterizeIn;
  const scalars = resolveOptions('job', JOB_OPTIONS, {
    format,
    posterize,
    hold: job.hold,
    background: job.background,
    preset: job.preset,
    threads: job.threads,
    speed: job.speed,
  });

  const effects = raw.effects ?? {};
  if (!isPlainObject(effects)) {
    throw new InvalidOptionError(`Expected an object of effect settings for job.effects but received ${describe(effects)}`, 'job.effects');
  }
  for (const [name, value] of Object.entries(effects)) {
    if (typeof value !== 'boolean' && !isPlainObject(value)) {
      throw new InvalidOptionError(
        `Expected true, false or an object of options for job.effects.${name} but received ${describe(value)}`,
        `job.effects.${name}`,
      );
    }
  }

  const jobId = raw.jobId ?? raw['job-id'];
  if (jobId !== undefined && typeof jobId !== 'string' && typeof jobId !== 'number') {
    throw new InvalidOptionError(`Expected a string or number for job.jobId but received ${describe(jobId)}`, 'job.jobId');
  }

  return {
    input,
    output,
    format: scalars.format,
    posterize: scalars.posterize === 0 ? null : scalars.posterize,
    hold: scalars.hold,
    background: scalars.background,
    preset: scalars.preset,
    speed: scalars.speed,
    effects: effects as EffectSettings,
    threads: scalars.threads,
    ...(jobId !== undefined ? { jobId: jobId } : {}),
    ...(target ? { target: target.name } : {}),
    fit,
  };
}

/** `fit` as a list of core's FIT_MODES: from a list or a comma-separated text; only with a target. */
function resolveFit(value: unknown, hasTarget: boolean): readonly FitMode[] {
  if (value === undefined) return [];
  const list =
    typeof value === 'string'
      ? value
          .split(',')
          .map((mode) => mode.trim())
          .filter(Boolean)
      : value;
  if (!Array.isArray(list) || list.some((mode) => !FIT_MODES.includes(mode as FitMode))) {
    throw new InvalidOptionError(`Expected job.fit to list some of ${FIT_MODES.join(', ')} but received ${JSON.stringify(value) ?? typeof value}`, 'job.fit');
  }
  if (!hasTarget && list.length > 0) {
    throw new InvalidOptionError(`Expected a target with job.fit (it trades against a platform's limits) but received fit ${list.join(',')} alone`, 'job.fit');
  }
  return list as FitMode[];
}

/**
 * Read a job file: `.json` as JSON, anything else as YAML (a superset of JSON). Relative `input`
 * and `output` paths are taken relative to the job file, so a job file can travel with its clip.
 * Returns a partial job: the caller lays command-line flags over it, then calls resolveJob.
 */
export async function loadJobFile(path: string): Promise<Partial<Job>> {
  const where = resolve(path);
  let text: string;
  try {
    text = await readFile(where, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String((error as Error).message);
    throw new InvalidOptionError(`Cannot read job file ${where}: ${why}`, 'job');
  }
  let data: unknown;
  try {
    data = extname(where).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const first = String((error as Error).message).split('\n')[0];
    throw new InvalidOptionError(`Job file ${where} is not valid ${extname(where).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${first}`, 'job');
  }
  if (!isPlainObject(data)) {
    throw new InvalidOptionError(`Expected job file ${where} to hold an object of settings but it holds ${describe(data)}`, 'job');
  }
  const job = { ...data } as Record<string, unknown>;
  const base = dirname(where);
  for (const key of ['input', 'output']) {
    if (typeof job[key] === 'string' && job[key] !== '') job[key] = resolve(base, job[key]);
  }
  return job;
}

/**
 * Parse `--set effect.option=value` assignments into effect settings laid over `base`. Values stay
 * text: resolveOptions accepts numerals and true/false as text and checks ranges itself.
 */
export function applyAssignments(base: EffectSettings, assignments: readonly string[]): EffectSettings {
  const effects: EffectSettings = { ...base };
  for (const assignment of assignments) {
    const match = /^([a-z0-9-]+)\.([A-Za-z0-9_-]+)=(.*)$/.exec(assignment.trim());
    if (!match) {
      throw new InvalidOptionError(`Expected --set <effect>.<option>=<value> but received ${JSON.stringify(assignment)}`, 'set');
    }
    const [, effect, option, value] = match as unknown as [string, string, string, string];
    const current = effects[effect];
    // Tuning an effect switches it on, even if the job file had switched it off: flags win.
    effects[effect] = { ...(isPlainObject(current) ? current : {}), [option]: value };
  }
  return effects;
}
