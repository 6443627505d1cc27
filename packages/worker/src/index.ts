/**
 * @stickerkey/worker as a library: the job runner the CLI, the demo and the queue worker share,
 * job files, progress/summary formatting, the before/after contact sheet, and the BullMQ queue worker.
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
export { QueueWorker, createQueueWorker, failureCode, type QueueJobResult, type JobProgressData, type QueueWorkerOptions } from './queue-worker.js';
export { loadQueueConfig, QUEUE_ENV, type QueueWorkerConfig } from './queue-config.js';
// The memory model lives in @stickerkey/core (MEMORY_MODELS, predictJobMemory); the gate is the worker's own.
export { MemoryGate } from './admission.js';
export { renderInThread, closeRenderThreads, idleRenderThreads, IDLE_THREAD_MS } from './threaded-render.js';
export { enqueueJob, type EnqueueOptions } from './enqueue.js';
// Operations: metrics and health, local batches, stale partial sweeping. (The dashboard is loaded by
// `stickerkey dashboard` only: bull-board and hono stay out of every other import.)
export { WorkerMetrics, startOpsServer, type OpsServer, type Readiness, type JobObservation } from './metrics.js';
export { runBatch, prepareBatch, expandInputs, formatBatchTable, type BatchEntry, type BatchItemResult, type BatchOptions } from './batch.js';
export { sweepPartials, PARTIAL_NAME, type SweepOptions } from './sweep.js';
