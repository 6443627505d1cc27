/**
 * The sticker stack: effects in their one canonical order, presets as data, and the function that
 * turns a preset plus per-effect overrides into pipeline stages.
 *
 * Order: chroma-key -> outline -> displacement -> multiply-blend -> add-blend -> surface-bevel ->
 * alpha-bevel -> drop-shadow. Keying first (everything else needs its alpha); the outline before
 * the texture effects so the border is textured like the paper it is cut from; bevels light the
 * final surface; the shadow last, under everything.
 *
 * Options are validated by core's `createStage`, synchronously, so a wrong option or an unknown
 * effect is refused before any file is opened or process spawned.
 */
import { createStage, InvalidOptionError, type OptionsInput, type Stage } from '@stickerkey/core/effect';
import { effectOrigin, effects, type EffectName } from './registry.js';

function isEffectName(name: string): name is EffectName {
  return Object.prototype.hasOwnProperty.call(effects, name);
}

/** Canonical order of the stack: every registered effect, once. */
export const STACK_ORDER = [
  'chroma-key',
  'outline',
  'displacement',
  'multiply-blend',
  'add-blend',
  'surface-bevel',
  'alpha-bevel',
  'drop-shadow',
] as const satisfies readonly EffectName[];

export type PresetName = 'sticker' | 'key' | 'none';

/** Per effect: its options (partial; defaults fill the rest), or absent when off. */
export type PresetDefinition = Readonly<Partial<Record<EffectName, OptionsInput>>>;

/**
 * Presets as data. `sticker`: every effect on, tuned for a 720p-1080p character (values not given
 * are the effect's own defaults). `key`: the keyer alone. `none`: no effect (transcode only).
 */
export const PRESETS: Readonly<Record<PresetName, PresetDefinition>> = {
  sticker: {
    'chroma-key': {},
    outline: {},
    displacement: { horizontal: 3, vertical: 3, scale: 64, octaves: 2 },
    'multiply-blend': { opacity: 45 },
    'add-blend': { opacity: 20 },
    'surface-bevel': {},
    'alpha-bevel': {},
    'drop-shadow': {},
  },
  key: { 'chroma-key': {} },
  none: {},
};

export interface StickerStackConfig {
  /** Starting point; default `sticker`. */
  preset?: PresetName;
  /** Per effect: options merged over the preset's (turning the effect on if the preset had it off), or false to turn it off. */
  effects?: Readonly<Record<string, object | false>>;
}

/** The stages for `config`, in canonical order. Throws InvalidOptionError before any work. */
export function createStickerStack(config: StickerStackConfig = {}): Stage[] {
  const presetName = config.preset ?? 'sticker';
  if (!Object.prototype.hasOwnProperty.call(PRESETS, presetName)) {
    throw new InvalidOptionError(`Expected one of ${Object.keys(PRESETS).join(', ')} for preset but received ${JSON.stringify(presetName)}`, 'preset');
  }
  const preset = PRESETS[presetName];
  const chosen = new Map<EffectName, OptionsInput>();
  for (const name of STACK_ORDER) {
    const options = preset[name];
    if (options) chosen.set(name, options);
  }
  for (const [name, value] of Object.entries(config.effects ?? {})) {
    if (!isEffectName(name)) {
      throw new InvalidOptionError(`Unknown effect ${name}; expected one of ${STACK_ORDER.join(', ')}`, name);
    }
    if (value === false) {
      chosen.delete(name);
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      chosen.set(name, { ...(chosen.get(name) ?? {}), ...(value as OptionsInput) });
    } else {
      throw new InvalidOptionError(`Expected an options object or false for effects.${name} but received ${JSON.stringify(value) ?? String(value)}`, name);
    }
  }
  const stages: Stage[] = [];
  for (const name of STACK_ORDER) {
    const options = chosen.get(name);
    if (options) stages.push(createStage(effects[name], options, effectOrigin(name)));
  }
  return stages;
}
