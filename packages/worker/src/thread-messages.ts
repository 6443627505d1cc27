/**
 * What crosses between the queue worker and a render thread. Errors are sent as plain data and
 * rebuilt as core's typed classes on the other side (core's serializeError/reviveError, the same
 * the stage threads use): structured clone keeps an Error's message but drops `code` and the
 * fields (option, limit, exit code, stderr tail) callers rely on.
 */
import type { ProbeLimits, Progress, SerializedError } from '@stickerkey/core';
import type { Job, ResolvedJob } from './job.js';
import type { RenderResult } from './render.js';

/** One job for a render thread, with the parent's limits: the thread renders jobs one at a time. */
export interface RenderRequest {
  type: 'render';
  job: Job;
  limits?: Partial<ProbeLimits>;
  memoryBudget?: number;
  fitMemory?: boolean;
}

/** `abort` stops the job in progress, if any. */
export type ToThread = RenderRequest | { type: 'abort'; reason: string };

export type FromThread =
  | { type: 'start'; job: ResolvedJob }
  | { type: 'progress'; progress: Progress }
  | { type: 'log'; line: string }
  | { type: 'done'; result: RenderResult }
  | { type: 'error'; error: SerializedError };

export { serializeError, reviveError, type SerializedError } from '@stickerkey/core';
