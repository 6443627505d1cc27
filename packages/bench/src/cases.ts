/**
 * The replay matrix. Not the full cartesian product (2 sizes x 2 lengths x 2 screens x 2 rates x
 * 2 formats = 32 cases, hours on a small machine) but every dimension covered:
 * - size x length on one screen/rate/format: the four runs that show time and memory scale with
 *   resolution and stay flat with clip length (the 60 s vs 5 s gate compares these);
 * - the blue screen and posterize 8, at both sizes;
 * - a second format (MOV ProRes 4444 with alpha) at both sizes.
 */
import type { ReferenceKind } from './types.js';

export type Screen = 'green' | 'blue';
export type BenchFormat = 'webm' | 'mov';

export interface BenchCase {
  /** Stable key used in baseline.json: `720p-5s-green-p12-webm`. */
  readonly id: string;
  readonly screen: Screen;
  readonly height: 360 | 720 | 1080 | 2160;
  readonly seconds: number;
  readonly posterize: number;
  readonly format: BenchFormat;
  /** The fixture's keyframe interval in frames (fixtures' `gop`); default x264's. Id: `-gop250`. */
  readonly gop?: number;
  /** Extra runPipeline options for our child (e.g. `{ fitMemory: true }`); name them in `variant`. */
  readonly pipeline?: Readonly<Record<string, unknown>>;
  /** Appended to the id (`-fit`), so a variant never shares a baseline entry with its plain twin. */
  readonly variant?: string;
  /** The references this case runs, in place of the suite's (a 60 s filtergraph costs minutes that no target needs). */
  readonly refs?: readonly ReferenceKind[];
  /** LIMIT_EXCEEDED is an outcome of this case (an input over the memory budget): recorded, not thrown. */
  readonly mayRefuse?: boolean;
  /** The part this case plays in issue 8's target table (targets.ts). */
  readonly role?: TargetRole;
  /**
   * 1: our child and the references run pinned to one CPU (runner.ts: `taskset`, which every
   * child inherits, so the stack runs in-line and ffmpeg takes one thread): a 1-CPU container, as
   * the users run. Name it in `variant`.
   */
  readonly cpus?: 1;
}

/** target: the 1080p 10 s one-keyframe job; long: its 60 s twin; small: 720p; big: 4K (refused or fitted). */
export type TargetRole = 'target' | 'long' | 'small' | 'big';

export function caseId(c: Omit<BenchCase, 'id'>): string {
  const gop = c.gop === undefined ? '' : `-gop${c.gop}`;
  const variant = c.variant ? `-${c.variant}` : '';
  return `${c.height}p-${c.seconds}s-${c.screen}-p${c.posterize}-${c.format}${gop}${variant}`;
}

export function defineCase(c: Omit<BenchCase, 'id'>): BenchCase {
  return { ...c, id: caseId(c) };
}

export function fullCases(): BenchCase[] {
  return [
    defineCase({ height: 720, seconds: 5, screen: 'green', posterize: 12, format: 'webm' }),
    defineCase({ height: 720, seconds: 60, screen: 'green', posterize: 12, format: 'webm' }),
    defineCase({ height: 1080, seconds: 5, screen: 'green', posterize: 12, format: 'webm' }),
    defineCase({ height: 1080, seconds: 60, screen: 'green', posterize: 12, format: 'webm' }),
    defineCase({ height: 720, seconds: 5, screen: 'blue', posterize: 8, format: 'webm' }),
    defineCase({ height: 1080, seconds: 5, screen: 'blue', posterize: 8, format: 'webm' }),
    defineCase({ height: 720, seconds: 5, screen: 'green', posterize: 12, format: 'mov' }),
    defineCase({ height: 1080, seconds: 5, screen: 'blue', posterize: 8, format: 'mov' }),
  ];
}

/** The CI gate: one short 720p clip, the full stack, WebM. */
export function quickCases(seconds = 5, height: 360 | 720 | 1080 = 720): BenchCase[] {
  return [defineCase({ height, seconds, screen: 'green', posterize: 12, format: 'webm' })];
}

/**
 * Issue 8's targets (`pnpm bench:target`): the full sticker stack plus posterize 12 to WebM VP9
 * alpha on a 1080p 10 s 24 fps clip with ONE keyframe (GOP 250, x264's default keyint, is longer
 * than the clip: a seek decodes from frame 0), against the floor (decode|encode) and the
 * filtergraph; its 60 s twin (same GOP, so six keyframes, as x264's default makes), for memory
 * and cost flat in length; 720p pinned to one CPU, for real time there; and 4K 3 s, which must be refused
 * (LIMIT_EXCEEDED) or fitted under the default memory budget, run once as is and once with
 * `fitMemory`. Only the references a target reads are run.
 */
export function targetCases(): BenchCase[] {
  const job = { screen: 'green', posterize: 12, format: 'webm', gop: 250 } as const;
  return [
    defineCase({ ...job, height: 1080, seconds: 10, refs: ['pipe', 'filtergraph'], role: 'target' }),
    defineCase({ ...job, height: 720, seconds: 10, refs: ['pipe', 'filtergraph'], role: 'small', cpus: 1, variant: '1cpu' }),
    defineCase({ ...job, height: 2160, seconds: 3, refs: ['pipe'], mayRefuse: true, role: 'big' }),
    defineCase({ ...job, height: 2160, seconds: 3, refs: ['pipe'], mayRefuse: true, role: 'big', pipeline: { fitMemory: true }, variant: 'fit' }),
    defineCase({ ...job, height: 1080, seconds: 60, refs: ['pipe'], role: 'long' }),
  ];
}

/** Pairs (5 s, 60 s) that differ only in length: memory must not grow with the clip. */
export function lengthPairs(cases: readonly BenchCase[]): [BenchCase, BenchCase][] {
  const pairs: [BenchCase, BenchCase][] = [];
  for (const short of cases) {
    for (const long of cases) {
      if (
        long.seconds > short.seconds &&
        long.height === short.height &&
        long.screen === short.screen &&
        long.posterize === short.posterize &&
        long.format === short.format &&
        long.gop === short.gop &&
        long.variant === short.variant
      ) {
        pairs.push([short, long]);
      }
    }
  }
  return pairs;
}
