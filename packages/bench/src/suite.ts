/**
 * What each command does, as functions (the CLI only parses flags): run the cases, judge them,
 * write bench-results/, and return the exit code.
 */
import { fullCases, quickCases, targetCases, type BenchCase } from './cases.js';
import { baselineFrom, machineInfo, readBaseline, writeBaseline, type Baseline } from './baseline.js';
import { defaultThresholds, gateCase, gateLength, gateTable, overall, type GateRow, type GateThresholds } from './gates.js';
import type { MicroResult } from './micro.js';
import { benchFfmpeg, writeReport, type BenchReport } from './report.js';
import { evaluateTargets, targetInputs, targetTable, targetVerdict } from './targets.js';
import { Runner } from './runner.js';
import type { CaseSummary, ReferenceKind } from './types.js';

/** target: issue 8's target cases and table (reported, never failing: the quick gate is the regression gate). */
export type Mode = 'run' | 'check' | 'update-baseline' | 'target';

export interface SuiteOptions {
  mode: Mode;
  quick: boolean;
  /** Quick case length and height (the gate test uses a 2 s clip). */
  quickSeconds: number;
  quickHeight: 360 | 720 | 1080;
  /** Only cases whose id contains one of these. */
  only: string[];
  repeat: number;
  maxReruns: number;
  references: ReferenceKind[];
  budgetMb: number;
  baselinePath: string;
  outDir: string;
  micro: boolean;
  strict: boolean;
  inject?: string;
  log: (line: string) => void;
}

export function selectCases(options: Pick<SuiteOptions, 'quick' | 'quickSeconds' | 'quickHeight' | 'only'> & { mode?: Mode }): BenchCase[] {
  const all = options.mode === 'target' ? targetCases() : options.quick ? quickCases(options.quickSeconds, options.quickHeight) : fullCases();
  return options.only.length > 0 ? all.filter((c) => options.only.some((o) => c.id.includes(o))) : all;
}

export interface SuiteOutcome {
  exitCode: number;
  verdict: string;
  summaries: CaseSummary[];
  gates: GateRow[];
  files: string[];
}

export async function runSuite(options: SuiteOptions): Promise<SuiteOutcome> {
  const { log } = options;
  const thresholds: GateThresholds = { ...defaultThresholds, budgetMb: options.budgetMb };
  const cases = selectCases(options);
  if (cases.length === 0) throw new Error(`Expected at least one case to match ${options.only.join(', ')} but none did`);
  let baseline: Baseline | null = null;
  if (options.mode === 'check') {
    baseline = await readBaseline(options.baselinePath);
    if (!baseline) throw new Error(`Expected a baseline at ${options.baselinePath} (create it with pnpm bench:update-baseline) but there is none`);
    const missing = cases.filter((c) => !baseline!.cases[c.id]);
    if (missing.length > 0) log(`note: no baseline for ${missing.map((c) => c.id).join(', ')}; they are only held to the budget`);
  }
  const ffmpeg = benchFfmpeg();
  log(
    `stickerkey bench: ${options.mode}${options.quick ? ' --quick' : ''}, ${cases.length} case(s) x ${options.repeat}, references: ${options.references.join(', ') || 'none'}, budget ${options.budgetMb} MB`,
  );
  log(`ffmpeg ${ffmpeg.version} (${ffmpeg.path}), for ours and every reference`);
  const runner = new Runner({
    repeat: options.repeat,
    maxReruns: options.maxReruns,
    references: options.references,
    thresholds,
    baseline,
    inject: options.inject,
    log,
  });
  const summaries = await runner.runCases(cases);

  let micro: MicroResult[] = [];
  if (options.micro) {
    log('micro-benchmarks (tinybench, ms/frame):');
    const { runMicro } = await import('./micro.js');
    micro = await runMicro({ log });
  }

  const gates = [...summaries.flatMap((s) => gateCase(s, baseline, thresholds)), ...gateLength(summaries, thresholds)];
  const status = overall(gates);
  const targets = options.mode === 'target' ? evaluateTargets(targetInputs(summaries), options.budgetMb) : undefined;
  const verdict = targets
    ? targetVerdict(targets)
    : status === 'fail'
      ? 'FAIL: regression or budget exceeded'
      : status === 'inconclusive'
        ? `inconclusive: too noisy to judge after ${options.maxReruns + 1} batches${options.strict ? ' (--strict: failing)' : ' (not failed; rerun on a quieter machine)'}`
        : 'pass';
  const report: BenchReport = {
    createdAt: new Date().toISOString(),
    machine: machineInfo(),
    mode: `${options.mode}${options.quick ? ' --quick' : ''}`,
    options: {
      repeat: options.repeat,
      maxReruns: options.maxReruns,
      references: options.references,
      budgetMb: options.budgetMb,
      inject: options.inject ?? process.env.STICKERKEY_BENCH_INJECT ?? null,
    },
    thresholds,
    summaries,
    gates,
    verdict,
    micro,
    runs: runner.measures,
    ffmpeg,
    ...(targets ? { targets } : {}),
  };
  const files = await writeReport(options.outDir, report);
  if (targets) {
    log('');
    log(targetTable(targets));
  }
  if (options.mode === 'update-baseline') {
    const previous = await readBaseline(options.baselinePath);
    await writeBaseline(options.baselinePath, baselineFrom(summaries, options.budgetMb, previous));
    files.push(options.baselinePath);
    log(`baseline written: ${options.baselinePath}`);
  }
  const problems = gates.filter((g) => g.status === 'fail' || g.status === 'inconclusive');
  if (problems.length > 0 && !targets) {
    log('');
    log(status === 'fail' ? 'Regressed:' : 'Could not judge:');
    log(gateTable(problems, true));
  }
  log('');
  log(`verdict: ${verdict}`);
  log(`report: ${options.outDir}summary.md`);
  // A target run reports and never fails: its 4K case runs over the budget until core refuses or fits it.
  const exitCode = targets ? 0 : status === 'fail' || (status === 'inconclusive' && options.strict) ? 1 : 0;
  return { exitCode, verdict, summaries, gates, files };
}

/**
 * One report from several bench-results directories (e.g. the short cases with every reference
 * and the long ones with decode|encode only, run as separate commands): the summaries, runs and
 * micro-benchmarks are concatenated, the per-case gates kept, the length gates recomputed
 * across all of them.
 */
export async function mergeReports(dirs: readonly string[], outDir: string, log: (line: string) => void = (line) => console.log(line)): Promise<SuiteOutcome> {
  const { readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const reports: BenchReport[] = [];
  for (const dir of dirs) reports.push(JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as BenchReport);
  const [first] = reports;
  if (!first) throw new Error('Expected at least one bench-results directory to merge but received none');
  const thresholds = first.thresholds;
  const summaries = reports.flatMap((r) => r.summaries);
  const gates = [...reports.flatMap((r) => r.gates.filter((g) => !g.metric.startsWith('peak tree MB vs '))), ...gateLength(summaries, thresholds)];
  const status = overall(gates);
  const report: BenchReport = {
    createdAt: new Date().toISOString(),
    machine: first.machine,
    mode: `merged: ${reports.map((r) => r.mode).join(' + ')}`,
    options: { merged: dirs },
    thresholds,
    summaries,
    gates,
    verdict: status === 'fail' ? 'FAIL: regression or budget exceeded' : status === 'inconclusive' ? 'inconclusive: too noisy to judge' : 'pass',
    micro: reports.flatMap((r) => r.micro),
    runs: reports.flatMap((r) => r.runs),
  };
  const files = await writeReport(outDir, report);
  log(`merged ${dirs.length} report(s) into ${outDir}summary.md: ${report.verdict}`);
  return { exitCode: status === 'fail' ? 1 : 0, verdict: report.verdict, summaries, gates, files };
}

/** Only the micro-benchmarks, written as a report of its own (mergeable with `merge`). */
export async function runMicroReport(outDir: string, log: (line: string) => void = (line) => console.log(line)): Promise<void> {
  const { runMicro } = await import('./micro.js');
  log('micro-benchmarks (tinybench, ms/frame):');
  const micro = await runMicro({ log });
  const report: BenchReport = {
    createdAt: new Date().toISOString(),
    machine: machineInfo(),
    mode: 'micro',
    options: {},
    thresholds: defaultThresholds,
    summaries: [],
    gates: [],
    verdict: 'pass',
    micro,
    runs: [],
  };
  await writeReport(outDir, report);
  log(`report: ${outDir}summary.md`);
}
