/**
 * The effect contract and the pipeline stage it becomes.
 *
 * An effect is data plus three phases, so that the expensive work happens once:
 * - `preload(options, ctx)`: async, once per job (textures decoded and resized once, screen
 *   colour estimated from a few sample frames);
 * - `prepare(options, size, preloaded)`: once per canvas size (lookup tables, scratch buffers);
 * - `apply(state, frame)`: per frame, synchronous, allocation-free, in place.
 * core defines the contract and runs it; it never imports an effect.
 */
import type { Frame, FrameSize } from './frame.js';
import { resolveOptions, type OptionTable, type OptionsInput, type OptionsOf } from './options.js';

export interface PreloadContext {
  /** Canvas size the effect will see: the source size plus the padding of every margin. */
  readonly size: FrameSize;
  /** Decodes `count` frames spread over the clip, at canvas size (for estimates such as the screen colour). */
  sampleFrames(count: number): Promise<Frame[]>;
  readonly signal?: AbortSignal;
}

export interface Effect<T extends OptionTable = OptionTable, P = unknown, S = unknown> {
  /** Registry key, file name and option prefix: `drop-shadow`. */
  readonly name: string;
  readonly description: string;
  readonly options: T;
  /** True for keyers: the output is expected to carry alpha, and it is verified after encoding. */
  readonly producesAlpha?: boolean;
  /** Pixels drawn outside the alpha (shadow, outline): the canvas is padded by this on every side. */
  margin?(options: OptionsOf<T>): number;
  preload?(options: OptionsOf<T>, ctx: PreloadContext): Promise<P>;
  prepare(options: OptionsOf<T>, size: FrameSize, preloaded: P): S;
  /** In place; the frame must have the size given to prepare (createStage's process() checks it). */
  apply(state: S, frame: Frame): void;
}

/** Identity helper that keeps the option table's literal types for `OptionsOf`. */
export function defineEffect<const T extends OptionTable, P = undefined, S = unknown>(effect: Effect<T, P, S>): Effect<T, P, S> {
  return effect;
}

/** A step of the frame pipeline: what runPipeline runs between decode and encode. */
export interface Stage {
  readonly name: string;
  readonly margin: number;
  readonly producesAlpha: boolean;
  /** Once per job, before the first frame, with the padded canvas size. */
  setup(ctx: PreloadContext): Promise<void>;
  /** Per frame, in place. */
  process(frame: Frame): void;
}

/**
 * Bind an effect to its options. Options are validated here, synchronously, so that a bad
 * option is refused before any file is opened or any process spawned.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function createStage<T extends OptionTable>(effect: Effect<T, any, any>, input?: OptionsInput): Stage {
  const options = resolveOptions(effect.name, effect.options, input);
  let state: unknown;
  let prepared: FrameSize | undefined;
  return {
    name: effect.name,
    margin: Math.ceil(effect.margin?.(options) ?? 0),
    producesAlpha: effect.producesAlpha ?? false,
    async setup(ctx) {
      const preloaded = effect.preload ? await effect.preload(options, ctx) : undefined;
      state = effect.prepare(options, ctx.size, preloaded);
      prepared = ctx.size;
    },
    process(frame) {
      // Checked here once for every effect: what prepare() built (tables, scratch) is sized for one canvas.
      if (!prepared) throw new Error(`Stage ${effect.name} used before setup()`);
      if (frame.width !== prepared.width || frame.height !== prepared.height) {
        throw new Error(
          `Stage ${effect.name} was prepared for ${prepared.width}x${prepared.height} but received a ${frame.width}x${frame.height} frame`,
        );
      }
      effect.apply(state, frame);
    },
  };
}
