/**
 * Effect name -> effect, for every per-frame effect. The name is the file name, the subpath export
 * (`@stickerkey/effects/drop-shadow`) and the option prefix (`drop-shadow.opacity`).
 * posterize-time is not here: it is not a per-frame effect (core applies it at decode).
 */
import type { Effect, OptionTable, StageOrigin } from '@stickerkey/core/effect';
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

export type EffectName = 'chroma-key' | 'outline' | 'displacement' | 'multiply-blend' | 'add-blend' | 'surface-bevel' | 'alpha-bevel' | 'drop-shadow';

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

/**
 * Relative CPU cost per frame of each effect with the sticker preset's options: ms per 1080p frame
 * a fifth covered by the character, from `node packages/effects/bench/sticker-stack.mjs`
 * (2-core dev machine). Only used to cut the stack into even groups for the stage threads
 * (core's stage-threads.ts), so rough is fine: re-measure when an effect gets much faster or slower.
 * displacement, the blends and drop-shadow were scaled by their same-run old/new ratio when they
 * got faster (1080p: 0.85, 0.72, 0.65, 0.92), and chroma-key by its temporal pass's (1.15, CPU
 * time) and then by 0.9 (1080p, no copy of the frame, the temporal pass over lists: keyer-cost.mjs);
 * the split stays keyer + outline + displacement (24.4) | the rest (23.3).
 */
const RELATIVE_COST: Readonly<Record<EffectName, number>> = {
  'chroma-key': 10.5,
  outline: 5.5,
  displacement: 8.4,
  'multiply-blend': 2.8,
  'add-blend': 2.3,
  'surface-bevel': 7.2,
  'alpha-bevel': 5.9,
  'drop-shadow': 5.1,
};

// Worker threads run plain Node, which cannot load TypeScript: from sources (vitest), the built
// modules are used, so build first (`pnpm test` does).
const here = import.meta.url;
const moduleBase = here.endsWith('.ts') ? new URL('../dist/', here) : new URL('./', here);

/**
 * Where effect `name` lives (its module's file URL and export, `drop-shadow.js` / `dropShadow`)
 * and what it costs: what createStage needs so that a worker thread can rebuild the stage.
 */
export function effectOrigin(name: EffectName): StageOrigin {
  return {
    module: new URL(`${name}.js`, moduleBase).href,
    exportName: name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
    cost: RELATIVE_COST[name],
  };
}
