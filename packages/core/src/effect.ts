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
import { resolveOptions, scalePixelOptions, type OptionTable, type OptionsInput, type OptionsOf } from './options.js';

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
  /**
   * How a worker thread rebuilds this stage (see stage-threads.ts). Set by createStage when it is
   * told where the effect comes from (the effects registry does); absent on a hand-made stage,
   * which then runs in-line on the pipeline's own thread.
   */
  readonly recipe?: StageRecipe;
  /**
   * The same stage with its pixel options (`unit: 'px'`) scaled by `factor`, for a canvas drawn at
   * another scale than the source (a sticker platform's target size). Set by createStage.
   */
  scaled?(factor: number): Stage;
}

/** Where an effect module lives, so that a worker thread can import it itself (core never imports effects). */
export interface StageOrigin {
  /** File URL of the ES module that exports the effect. */
  readonly module: string;
  /** Name of the export that holds the effect. */
  readonly exportName: string;
  /** Relative cost per frame, to split the stack evenly across threads; default 1. */
  readonly cost?: number;
}

/** What a thread needs to rebuild a stage: the effect's origin and its resolved options. */
export interface StageRecipe extends Required<StageOrigin> {
  /** Resolved options: plain data that crosses to a thread by structured clone. */
  readonly options: Readonly<Record<string, unknown>>;
  /**
   * The job-wide preload alone, on the pipeline's thread with its context (sample frames are
   * decoded once, textures loaded once): the thread prepares with what this returns, which must
   * survive structured clone (typed arrays and plain objects do).
   */
  preload(ctx: PreloadContext): Promise<unknown>;
}

/**
 * prepare() once, then a per-frame function that checks the frame's size and applies the effect.
 * `any`: options were resolved against this effect's own table by the caller (createStage, a stage
 * thread), which is what ties their type to the effect; this function cannot see that table.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument */
export function prepareStage(effect: Effect<any, any, any>, options: any, size: FrameSize, preloaded: unknown): (frame: Frame) => void {
  const state: unknown = effect.prepare(options, size, preloaded);
  /* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument */
  const { width, height } = size;
  return (frame) => {
    // Checked here once for every effect: what prepare() built (tables, scratch) is sized for one canvas.
    if (frame.width !== width || frame.height !== height) {
      throw new Error(`Stage ${effect.name} was prepared for ${width}x${height} but received a ${frame.width}x${frame.height} frame`);
    }
    effect.apply(state, frame);
  };
}

/**
 * Bind an effect to its options. Options are validated here, synchronously, so that a bad
 * option is refused before any file is opened or any process spawned. With `origin`, the stage
 * carries a recipe and may run in a worker thread.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function createStage<T extends OptionTable>(effect: Effect<T, any, any>, input?: OptionsInput, origin?: StageOrigin): Stage {
  return stageFromOptions(effect, resolveOptions(effect.name, effect.options, input), origin);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function stageFromOptions<T extends OptionTable>(effect: Effect<T, any, any>, options: OptionsOf<T>, origin?: StageOrigin): Stage {
  const preload = async (ctx: PreloadContext): Promise<unknown> => (effect.preload ? effect.preload(options, ctx) : undefined);
  let run: ((frame: Frame) => void) | undefined;
  return {
    name: effect.name,
    margin: Math.ceil(effect.margin?.(options) ?? 0),
    producesAlpha: effect.producesAlpha ?? false,
    async setup(ctx) {
      run = prepareStage(effect, options, ctx.size, await preload(ctx));
    },
    process(frame) {
      if (!run) throw new Error(`Stage ${effect.name} used before setup()`);
      run(frame);
    },
    scaled: (factor) => stageFromOptions(effect, scalePixelOptions(effect.options, options, factor), origin),
    ...(origin ? { recipe: { module: origin.module, exportName: origin.exportName, cost: origin.cost ?? 1, options, preload } } : {}),
  };
}
