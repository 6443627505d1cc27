/**
 * Options as data. Every effect (and the pipeline itself) declares its options as a table, like
 * libavfilter's AVOption arrays: name, type, default, range, one line of help. Validation lives
 * here once, so every refusal reads the same and no effect checks its options by hand.
 */
import { InvalidOptionError } from './errors.js';

interface BaseSpec {
  readonly name: string;
  readonly help: string;
}
export interface NumberSpec extends BaseSpec {
  readonly type: 'number' | 'integer';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** Unit shown in help text: px, deg, %, ... */
  readonly unit?: string;
}
export interface BooleanSpec extends BaseSpec {
  readonly type: 'boolean';
  readonly default: boolean;
}
export interface EnumSpec extends BaseSpec {
  readonly type: 'enum';
  readonly values: readonly string[];
  readonly default: string;
}
export interface ColorSpec extends BaseSpec {
  readonly type: 'color';
  /** `#rrggbb`, or `auto` when `auto` is allowed. */
  readonly default: string;
  readonly auto?: boolean;
}
export interface StringSpec extends BaseSpec {
  readonly type: 'string';
  /** null means "not set" (for example: no texture file, use the procedural one). */
  readonly default: string | null;
}
export type OptionSpec = NumberSpec | BooleanSpec | EnumSpec | ColorSpec | StringSpec;
export type OptionTable = readonly OptionSpec[];

type ValueOf<S> = S extends { type: 'number' | 'integer' }
  ? number
  : S extends { type: 'boolean' }
    ? boolean
    : S extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : S extends { type: 'string' }
        ? string | null
        : string;

/** The resolved options object a table describes: `{ similarity: number, screen: string, ... }`. */
export type OptionsOf<T extends OptionTable> = { readonly [S in T[number] as S['name']]: ValueOf<S> };

/** What a caller may pass: any subset, values possibly as strings (CLI flags, YAML). */
export type OptionsInput = Readonly<Record<string, unknown>>;

const HEX_COLOR = /^#?([0-9a-f]{6})$/i;

function describe(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} of type string`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  const primitive = value as number | boolean | bigint | symbol | undefined; // the rest is handled above
  return `${String(primitive)}${typeof primitive === 'number' ? '' : ` of type ${typeof primitive}`}`;
}

/**
 * The one conversion from text: CLI flags, environment variables and `--set` assignments arrive
 * as text and are passed here as they came. Clean numerals only (`" 12 "` yes, `""`, `"NaN"`,
 * `"12px"` no).
 */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function resolveOne(owner: string, spec: OptionSpec, value: unknown): unknown {
  const where = `${owner}.${spec.name}`;
  switch (spec.type) {
    case 'number':
    case 'integer': {
      const n = toNumber(value);
      const ok = n !== undefined && Number.isFinite(n) && n >= spec.min && n <= spec.max && (spec.type === 'number' || Number.isInteger(n));
      if (!ok) {
        // A numeral given as text is quoted as the number it is: `received 150`, not `"150" of type string`.
        throw new InvalidOptionError(`Expected ${spec.type} between ${spec.min} and ${spec.max} for ${where} but received ${describe(n ?? value)}`, where);
      }
      return n;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw new InvalidOptionError(`Expected boolean for ${where} but received ${describe(value)}`, where);
    }
    case 'enum': {
      if (typeof value === 'string' && spec.values.includes(value)) return value;
      throw new InvalidOptionError(`Expected one of ${spec.values.join(', ')} for ${where} but received ${describe(value)}`, where);
    }
    case 'color': {
      if (spec.auto && value === 'auto') return 'auto';
      const match = typeof value === 'string' ? HEX_COLOR.exec(value) : null;
      if (match) return `#${match[1]!.toLowerCase()}`;
      throw new InvalidOptionError(`Expected colour as #rrggbb${spec.auto ? ' or auto' : ''} for ${where} but received ${describe(value)}`, where);
    }
    case 'string': {
      if (value === null || typeof value === 'string') return value;
      throw new InvalidOptionError(`Expected string for ${where} but received ${describe(value)}`, where);
    }
  }
}

/**
 * The variables a table names, as resolveOptions input: trimmed, an empty one counts as unset (as
 * in docker-compose files, where `FOO=` is common), and booleans also as environment files write
 * them (1/0, yes/no, any case). Everything else stays text for resolveOptions to convert or refuse.
 */
export function environmentInput(table: OptionTable, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const spec of table) {
    const value = env[spec.name]?.trim();
    if (value === undefined || value === '') continue;
    input[spec.name] = spec.type === 'boolean' ? (ENV_BOOLEANS.get(value.toLowerCase()) ?? value) : value;
  }
  return input;
}

const ENV_BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['1', true],
  ['yes', true],
  ['false', false],
  ['0', false],
  ['no', false],
]);

/**
 * Fill defaults and validate `input` against `table`. Throws InvalidOptionError naming
 * `owner.option`, the expected type or range and the value received; unknown names are refused
 * too, so a typo never silently falls back to a default.
 */
export function resolveOptions<const T extends OptionTable>(owner: string, table: T, input: OptionsInput = {}): OptionsOf<T> {
  const known = new Set(table.map((spec) => spec.name));
  for (const name of Object.keys(input)) {
    if (!known.has(name)) {
      throw new InvalidOptionError(`Unknown option ${owner}.${name}; expected one of ${[...known].join(', ')}`, `${owner}.${name}`);
    }
  }
  const resolved: Record<string, unknown> = {};
  for (const spec of table) {
    const given = input[spec.name];
    resolved[spec.name] = given === undefined ? spec.default : resolveOne(owner, spec, given);
  }
  return resolved as OptionsOf<T>;
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** `#rrggbb` (as resolveOptions returns it) to 0-255 components. */
export function parseColor(hex: string): Rgb {
  const match = HEX_COLOR.exec(hex);
  if (!match) throw new InvalidOptionError(`Expected colour as #rrggbb but received ${describe(hex)}`, 'color');
  const v = Number.parseInt(match[1]!, 16);
  return { r: (v >> 16) & 255, g: (v >> 8) & 255, b: v & 255 };
}

/** One line per option, for `--help` and the README: `similarity  number 0..1 (default 0.12)  help`. */
export function describeOptions(table: OptionTable): string[] {
  return table.map((spec) => {
    let kind: string;
    switch (spec.type) {
      case 'number':
      case 'integer':
        kind = `${spec.type} ${spec.min}..${spec.max}${spec.unit ? ` ${spec.unit}` : ''}`;
        break;
      case 'enum':
        kind = spec.values.join('|');
        break;
      case 'color':
        kind = spec.auto ? '#rrggbb|auto' : '#rrggbb';
        break;
      default:
        kind = spec.type;
    }
    return `${spec.name}  ${kind} (default ${String(spec.default)})  ${spec.help}`;
  });
}

/**
 * `options` with every option the table gives in pixels (`unit: 'px'`) multiplied by `factor`:
 * rounded where the table wants an integer, kept within the table's range. The one place a
 * change of output scale reaches the effects, so a sticker rendered at a platform's 512 px looks
 * like the same sticker at full size (a 12 px outline around a 1000 px character becomes 6 px
 * around a 500 px one).
 */
export function scalePixelOptions<T extends OptionTable>(table: T, options: OptionsOf<T>, factor: number): OptionsOf<T> {
  if (!(Number.isFinite(factor) && factor > 0)) throw new Error(`Expected a positive scale factor but received ${String(factor)}`);
  const scaled: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  for (const spec of table) {
    if ((spec.type !== 'number' && spec.type !== 'integer') || spec.unit !== 'px') continue;
    const value = scaled[spec.name] as number;
    const raw = value * factor;
    const rounded = spec.type === 'integer' ? Math.round(raw) : raw;
    scaled[spec.name] = Math.min(spec.max, Math.max(spec.min, rounded));
  }
  return scaled as OptionsOf<T>;
}
