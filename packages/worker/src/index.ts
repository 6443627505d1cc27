/**
 * @stickerkey/worker as a library: the job runner the CLI, the demo and the queue worker share,
 * job files, progress/summary formatting, and the before/after contact sheet.
 */
export { renderJob, type RenderOptions, type RenderResult } from './render.js';
export {
  loadJobFile,
  resolveJob,
  applyAssignments,
  JOB_OPTIONS,
  type Job,
  type ResolvedJob,
  type JobFormat,
  type JobPreset,
  type EffectSettings,
} from './job.js';
export { buildStages, normalizeEffectSettings, listEffects, effectNames } from './stages.js';
export {
  createProgressDisplay,
  formatSummary,
  formatErrorLine,
  errorCode,
  resultToJson,
  type ProgressDisplay,
  type DisplayOptions,
  type LogFormat,
} from './report.js';
export {
  makeContactSheet,
  contactSheetSize,
  decodeFrameAt,
  SHEET_LAYOUT,
  type ContactSheet,
  type ContactSheetOptions,
  type SheetSize,
} from './contact-sheet.js';
