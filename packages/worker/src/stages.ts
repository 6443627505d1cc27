/**
 * From a job's preset and effect settings to pipeline stages, through @stickerkey/effects.
 * Everything here is synchronous and happens before any file is opened: an unknown effect or a
 * wrong option is refused with core's InvalidOptionError, naming the option, range and value.
 */
import { InvalidOptionError, type Effect, type OptionSpec, type Stage } from '@stickerkey/core';
import { createStickerStack, effects as registry } from '@stickerkey/effects';
import type { EffectSettings, JobPreset } from './job.js';

/** The registry, as the CLI lists it (`stickerkey effects`). */
export function listEffects(): Effect[] {
  return Object.values(registry as Record<string, Effect>);
}

export function effectNames(): string[] {
  return Object.keys(registry);
}

/**
 * Text from the command line becomes the type the option table asks for, so that a refusal reads
 * `... but received 150` rather than `"150" of type string`. Anything that does not convert
 * cleanly is passed on unchanged for resolveOptions to refuse with its own message.
 */
function coerce(spec: OptionSpec | undefined, value: unknown): unknown {
  if (typeof value !== 'string' || spec === undefined) return value;
  if ((spec.type === 'number' || spec.type === 'integer') && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  if (spec.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/** Check effect names and convert option values; the option values themselves are checked by the stack. */
export function normalizeEffectSettings(settings: EffectSettings): Record<string, Record<string, unknown> | false> {
  const known = registry as Record<string, Effect>;
  const out: Record<string, Record<string, unknown> | false> = {};
  for (const [name, value] of Object.entries(settings)) {
    const effect = known[name];
    if (!effect) {
      throw new InvalidOptionError(`Unknown effect ${name}; expected one of ${Object.keys(known).join(', ')}`, name);
    }
    if (typeof value === 'boolean') {
      // `true` means "on, with the preset's settings (or the effect's defaults)".
      out[name] = value ? {} : false;
      continue;
    }
    const options: Record<string, unknown> = {};
    for (const [option, raw] of Object.entries(value)) {
      options[option] = coerce(
        effect.options.find((spec) => spec.name === option),
        raw,
      );
    }
    out[name] = options;
  }
  return out;
}

/** Stages for a job, validated. Throws InvalidOptionError before any work on a bad name or value. */
export function buildStages(preset: JobPreset, settings: EffectSettings): Stage[] {
  return createStickerStack({ preset, effects: normalizeEffectSettings(settings) });
}
