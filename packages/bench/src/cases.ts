/**
 * The replay matrix. Not the full cartesian product (2 sizes x 2 lengths x 2 screens x 2 rates x
 * 2 formats = 32 cases, hours on a small machine) but every dimension covered:
 * - size x length on one screen/rate/format: the four runs that show time and memory scale with
 *   resolution and stay flat with clip length (the 60 s vs 5 s gate compares these);
 * - the blue screen and posterize 8, at both sizes;
 * - a second format (MOV ProRes 4444 with alpha) at both sizes.
 */
export type Screen = 'green' | 'blue';
export type BenchFormat = 'webm' | 'mov';

export interface BenchCase {
  /** Stable key used in baseline.json: `720p-5s-green-p12-webm`. */
  readonly id: string;
  readonly screen: Screen;
  readonly height: 360 | 720 | 1080;
  readonly seconds: number;
  readonly posterize: number;
  readonly format: BenchFormat;
}

export function caseId(c: Omit<BenchCase, 'id'>): string {
  return `${c.height}p-${c.seconds}s-${c.screen}-p${c.posterize}-${c.format}`;
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
        long.format === short.format
      ) {
        pairs.push([short, long]);
      }
    }
  }
  return pairs;
}
