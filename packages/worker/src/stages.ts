/**
 * From a job's preset and effect settings to pipeline stages, through @stickerkey/effects.
 * Everything here is synchronous and happens before any file is opened: an unknown effect or a
 * wrong option is refused with core's InvalidOptionError, naming the option, range and value.
 */
import { InvalidOptionError, type Effect, type Stage } from '@stickerkey/core';
import { createStickerStack, effects as registry } from '@stickerkey/effects';
import type { EffectSettings, JobPreset } from './job.js';

/** The registry, as the CLI lists it (`stickerkey effects`). */
export function listEffects(): Effect[] {
  return Object.values(registry as Record<string, Effect>);
}

export function effectNames(): string[] {
  return Object.keys(registry);
}

/** Check effect names; the option values themselves are converted and checked by the stack (core's resolveOptions). */
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
    // Values stay as given (text from the command line included): core's resolveOptions converts them.
    out[name] = { ...value };
  }
  return out;
}

/** Stages for a job, validated. Throws InvalidOptionError before any work on a bad name or value. */
export function buildStages(preset: JobPreset, settings: EffectSettings): Stage[] {
  return createStickerStack({ preset, effects: normalizeEffectSettings(settings) });
}
