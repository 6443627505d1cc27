#!/usr/bin/env node
/**
 * stickerkey-bench: `run` (the suite, or --quick), `check` (against baseline.json),
 * `update-baseline`, `target` (issue 8's target cases and table), `keying` (matte quality against
 * ffmpeg's grid-searched oracle), `doctor` (one replay under Clinic Doctor).
 * Exit codes: 0 pass, 1 regression/budget/gate failure (or Clinic unavailable), 2 bad usage or a
 * run that could not complete.
 */
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { defaultBaselinePath } from './baseline.js';
import { quickCases } from './cases.js';
import { defaultResultsDir } from './report.js';
import { runSuite, type Mode, type SuiteOptions } from './suite.js';
import { referenceKinds, type ReferenceKind } from './types.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`Expected a non-negative integer for ${name} but received ${JSON.stringify(value)}`);
    return n;
  };
}

function references(value: string): ReferenceKind[] {
  if (value === 'none') return [];
  const kinds = value.split(',').map((s) => s.trim());
  for (const k of kinds) {
    if (!(referenceKinds as readonly string[]).includes(k)) {
      throw new InvalidArgumentError(`Expected references from ${referenceKinds.join(', ')} (or none) but received ${JSON.stringify(k)}`);
    }
  }
  return kinds as ReferenceKind[];
}

function height(value: string): 360 | 720 | 1080 {
  if (value !== '360' && value !== '720' && value !== '1080')
    throw new InvalidArgumentError(`Expected 360, 720 or 1080 for --quick-height but received ${JSON.stringify(value)}`);
  return Number(value) as 360 | 720 | 1080;
}

function height2160(value: string): number {
  if (!['360', '720', '1080', '2160'].includes(value))
    throw new InvalidArgumentError(`Expected 360, 720, 1080 or 2160 in --heights but received ${JSON.stringify(value)}`);
  return Number(value);
}

interface Flags {
  quick?: boolean;
  quickSeconds: number;
  quickHeight: 360 | 720 | 1080;
  only: string[];
  repeat?: number;
  maxReruns: number;
  refs?: ReferenceKind[];
  budgetMb: number;
  baseline: string;
  out: string;
  micro: boolean;
  strict?: boolean;
  inject?: string;
}

function withSuiteOptions(command: Command, defaults: { repeat: number; micro: boolean }): Command {
  return command
    .option('--quick', 'one short 720p clip, full stack, WebM (the CI gate)')
    .option('--quick-seconds <n>', 'length of the quick clip', positiveInt('--quick-seconds'), 5)
    .option('--quick-height <px>', 'height of the quick clip', height, 720 as const)
    .option('--only <ids...>', 'only the cases whose id contains one of these', [])
    .option('--repeat <n>', `runs per case (medians are compared; default ${defaults.repeat})`, positiveInt('--repeat'))
    .option('--max-reruns <n>', 'extra batches for a case too noisy to judge', positiveInt('--max-reruns'), 2)
    .option(
      '--refs <kinds>',
      `ffmpeg references to run: ${referenceKinds.join(',')} or none (default: run: all, run --quick: pipe,filtergraph; check and update-baseline: pipe)`,
      references,
    )
    .option('--budget-mb <mb>', 'peak tree RSS budget per run, MB', positiveInt('--budget-mb'), 1536)
    .option('--baseline <path>', 'baseline file', defaultBaselinePath)
    .option('--out <dir>', 'where bench-results go', defaultResultsDir)
    .option('--strict', 'fail when a case stays too noisy to judge')
    .addOption(new Option('--inject <spec>', 'bench-only fault injection for our child (memory:300, slow:2); default: STICKERKEY_BENCH_INJECT').hideHelp())
    .option(defaults.micro ? '--no-micro' : '--micro', defaults.micro ? 'skip the tinybench micro-benchmarks' : 'also run the tinybench micro-benchmarks');
}

async function suite(mode: Mode, flags: Flags, defaults: { repeat: number }): Promise<void> {
  // The gates need only decode|encode; run adds the others for the report. Target cases name their own.
  const defaultRefs: ReferenceKind[] =
    mode === 'target' ? ['pipe', 'filtergraph'] : mode !== 'run' ? ['pipe'] : flags.quick ? ['pipe', 'filtergraph'] : [...referenceKinds];
  const options: SuiteOptions = {
    mode,
    quick: flags.quick ?? false,
    quickSeconds: flags.quickSeconds,
    quickHeight: flags.quickHeight,
    only: flags.only,
    repeat: Math.max(1, flags.repeat ?? defaults.repeat),
    maxReruns: flags.maxReruns,
    references: flags.refs ?? defaultRefs,
    budgetMb: flags.budgetMb,
    baselinePath: flags.baseline,
    outDir: flags.out.endsWith('/') ? flags.out : `${flags.out}/`,
    micro: (flags.micro ?? false) && !flags.quick,
    strict: flags.strict ?? false,
    inject: flags.inject,
    log: (line) => console.log(line),
  };
  const outcome = await runSuite(options);
  process.exitCode = outcome.exitCode;
}

const EXIT_USAGE = 2;

// exitOverride: commander would otherwise end a usage error itself with exit 1, the code of a
// regression. Set before the subcommands are added, which inherit it; the catch below decides.
const program = new Command('stickerkey-bench')
  .description('Replays fixture clips through the full sticker stack: peak tree memory, throughput, regression gates, reports.')
  .showHelpAfterError()
  .exitOverride();

withSuiteOptions(
  program
    .command('run')
    .description('run the suite (or --quick) and write bench-results/; fails when a run passes the budget or memory grows with clip length'),
  { repeat: 1, micro: true },
).action((flags: Flags) => suite('run', flags, { repeat: 1 }));

withSuiteOptions(program.command('check').description('run the quick or full set and compare with baseline.json; fails on a regression'), {
  repeat: 3,
  micro: false,
}).action((flags: Flags) => suite('check', flags, { repeat: 3 }));

withSuiteOptions(program.command('update-baseline').description('run the quick or full set and write baseline.json (cases not run keep their figures)'), {
  repeat: 3,
  micro: false,
}).action((flags: Flags) => suite('update-baseline', flags, { repeat: 3 }));

program
  .command('target')
  .description(
    "issue 8's targets: 1080p 10 s one-keyframe job vs floor and filtergraph, its 60 s twin, 720p, 4K refused or fitted; a table of met / not met (exit 0 unless a run breaks)",
  )
  .option('--only <ids...>', 'only the cases whose id contains one of these', [])
  .option('--repeat <n>', 'runs per case (default 1: the 60 s case alone takes minutes)', positiveInt('--repeat'))
  .option('--budget-mb <mb>', 'memory budget the 4K case must be refused or fitted under, MB', positiveInt('--budget-mb'), 1536)
  .option('--out <dir>', 'where bench-results go', defaultResultsDir)
  .action((flags: Pick<Flags, 'only' | 'repeat' | 'budgetMb' | 'out'>) =>
    suite('target', { ...flags, quickSeconds: 5, quickHeight: 720, maxReruns: 0, baseline: defaultBaselinePath, micro: false }, { repeat: 1 }),
  );

program
  .command('micro')
  .description('only the tinybench micro-benchmarks (each effect and the whole stack, ms/frame at 720p and 1080p)')
  .option('--out <dir>', 'where bench-results go', defaultResultsDir)
  .action(async (flags: { out: string }) => {
    const { runMicroReport } = await import('./suite.js');
    await runMicroReport(flags.out.endsWith('/') ? flags.out : `${flags.out}/`);
  });

program
  .command('speed')
  .description(
    'each encoder speed preset per format and size: CPU, encoder maxrss, bytes and quality against the frames written; bench-results/speed.{json,md}',
  )
  .option('--heights <list>', 'fixture heights, e.g. 720,1080,2160', '720')
  .option('--seconds <n>', 'fixture length (posterized to 12 fps)', positiveInt('--seconds'), 2)
  .option('--formats <list>', 'webm,mov,gif,mp4 or a subset', 'webm,mov,gif,mp4')
  .option('--speeds <list>', 'fast,balanced,small or a subset', 'fast,balanced,small')
  .option('--out <dir>', 'where bench-results go', defaultResultsDir)
  .action(async (flags: { heights: string; seconds: number; formats: string; speeds: string; out: string }) => {
    const { runSpeedBench, formatSpeedTable, parseList, ENCODER_SPEEDS, OUTPUT_FORMATS } = await import('./speed.js');
    const heights = flags.heights.split(',').map((h) => height2160(h.trim()));
    const report = await runSpeedBench({
      heights,
      seconds: flags.seconds,
      formats: parseList(flags.formats, OUTPUT_FORMATS, '--formats'),
      speeds: parseList(flags.speeds, ENCODER_SPEEDS, '--speeds'),
      outDir: flags.out,
      log: (line) => console.error(line),
    });
    console.log(formatSpeedTable(report));
  });

program
  .command('keying')
  .description(
    'our keyer (--preset key defaults) against ffmpeg chromakey+despill grid-searched against the truth, on the held-out keying family: a table per set and screen; bench-results/keying/keying.{json,md}',
  )
  .option('--quick', '360p, 8 frames, two clips per set, a coarser grid (about a minute)')
  .option('--sets <list>', 'tuning,heldout or one of them', 'tuning,heldout')
  .option('--screens <list>', 'green,blue or one of them', 'green,blue')
  .option('--height <px>', 'clip height (default 720; --quick 360)', positiveInt('--height'))
  .option('--ours-only', 'skip the oracle (its columns stay empty): for iterating on the keyer')
  .option('--out <dir>', 'where bench-results go', defaultResultsDir)
  .action(async (flags: { quick?: boolean; oursOnly?: boolean; sets: string; screens: string; height?: number; out: string }) => {
    const { runKeyingBench, writeKeyingReport, keyingTable, FULL_OPTIONS, QUICK_OPTIONS } = await import('./keying/run.js');
    const { parseList } = await import('./speed.js');
    const base = flags.quick ? QUICK_OPTIONS : FULL_OPTIONS;
    const result = await runKeyingBench({
      ...base,
      sets: parseList(flags.sets, ['tuning', 'heldout'] as const, '--sets'),
      screens: parseList(flags.screens, ['green', 'blue'] as const, '--screens'),
      height: flags.height ?? base.height,
      oracle: !flags.oursOnly,
      log: (line) => console.error(line),
    });
    const paths = await writeKeyingReport(result, join(flags.out, 'keying'));
    console.log(keyingTable(result));
    console.error(`wrote ${paths.markdown} and ${paths.json}`);
  });

program
  .command('merge')
  .description('one summary from several bench-results directories (e.g. short and long cases run separately)')
  .argument('<dirs...>', 'bench-results directories holding results.json')
  .option('--out <dir>', 'where the merged bench-results go', defaultResultsDir)
  .action(async (dirs: string[], flags: { out: string }) => {
    const { mergeReports } = await import('./suite.js');
    const outcome = await mergeReports(dirs, flags.out.endsWith('/') ? flags.out : `${flags.out}/`);
    process.exitCode = outcome.exitCode;
  });

program
  .command('doctor')
  .description('one replay under Clinic Doctor; HTML report under bench-results/clinic/')
  .option('--quick-seconds <n>', 'clip length', positiveInt('--quick-seconds'), 5)
  .option('--quick-height <px>', 'clip height', height, 720 as const)
  .option('--out <dir>', 'where bench-results go', defaultResultsDir)
  .action(async (flags: { quickSeconds: number; quickHeight: 360 | 720 | 1080; out: string }) => {
    const { runDoctor, ClinicUnavailableError } = await import('./doctor.js');
    try {
      const html = await runDoctor(quickCases(flags.quickSeconds, flags.quickHeight)[0]!, flags.out); // the quick set is one case
      console.log(`Clinic Doctor report: ${html}`);
    } catch (error) {
      if (error instanceof ClinicUnavailableError) {
        console.error(
          `bench:doctor: ${error.message}. Clinic.js is not maintained for every Node release; run bench:doctor on a Node version it supports (it was verified on Node 20).`,
        );
        process.exitCode = 1;
        return;
      }
      throw error;
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Commander has printed the message (and help) already; --help and --version end here with 0.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
    return;
  }
  console.error(`stickerkey-bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = EXIT_USAGE;
});
