/**
 * Effect name -> effect, for every per-frame effect. The name is the file name, the subpath export
 * (`@stickerkey/effects/drop-shadow`) and the option prefix (`drop-shadow.opacity`).
 * posterize-time is not here: it is not a per-frame effect (core applies it at decode).
 */
import type { Effect, OptionTable } from '@stickerkey/core';
import { addBlend } from './add-blend.js';
import { alphaBevel } from './alpha-bevel.js';
import { chromaKey } from './chroma-key.js';
import { displacement } from './displacement.js';
import { dropShadow } from './drop-shadow.js';
import { multiplyBlend } from './multiply-blend.js';
import { outline } from './outline.js';
import { surfaceBevel } from './surface-bevel.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEffect = Effect<OptionTable, any, any>;

export type EffectName =
  | 'chroma-key'
  | 'outline'
  | 'displacement'
  | 'multiply-blend'
  | 'add-blend'
  | 'surface-bevel'
  | 'alpha-bevel'
  | 'drop-shadow';

// Typed by hand (not inferred) so the declaration file need not name each effect's private state type.
export const effects: Readonly<Record<EffectName, AnyEffect>> = {
  'chroma-key': chromaKey,
  outline,
  displacement,
  'multiply-blend': multiplyBlend,
  'add-blend': addBlend,
  'surface-bevel': surfaceBevel,
  'alpha-bevel': alphaBevel,
  'drop-shadow': dropShadow,
};

export const effectNames = Object.keys(effects) as EffectName[];

/** The effect called `name`, or undefined. */
export function getEffect(name: string): AnyEffect | undefined {
  return Object.prototype.hasOwnProperty.call(effects, name) ? effects[name as EffectName] : undefined;
}
