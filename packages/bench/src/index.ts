/** @stickerkey/bench: replay fixtures, measure the process tree, gate regressions, write reports. */
export * from './cases.js';
export * from './stats.js';
export * from './types.js';
export * from './gates.js';
export * from './baseline.js';
export { measureTree, type TreeMeasure, type MeasureOptions } from './measure.js';
export { readCpuTimes, readHwm } from './proc.js';
export * from './references.js';
export { summarize, profileOf } from './summary.js';
export { Runner, childScript, type RunnerOptions } from './runner.js';
export { runSuite, selectCases, type SuiteOptions, type SuiteOutcome, type Mode } from './suite.js';
export { writeReport, summaryMarkdown, summaryTable, profileTable, referenceTable, microTable, type BenchReport } from './report.js';
export { renderSvg, runChartSpec, combinedChartSpec } from './charts.js';
export { parseInjection, injectStages, type Injection } from './inject.js';
export type { MicroResult } from './micro.js';
export { evaluateTargets, targetInputs, targetTable, targetVerdict, type TargetRow, type TargetInputs, type TargetStatus } from './targets.js';
export { benchFfmpeg, type BenchFfmpeg } from './report.js';
