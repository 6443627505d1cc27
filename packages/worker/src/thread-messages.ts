/**
 * What crosses between the queue worker and a render thread. Errors are sent as plain data and
 * rebuilt as core's typed classes on the other side: structured clone keeps an Error's message
 * but drops `code` and the fields (option, limit, exit code, stderr tail) callers rely on.
 */
import {
  AlphaMissingError,
  CancelledError,
  FfmpegFailedError,
  InvalidOptionError,
  LimitExceededError,
  UnsupportedInputError,
  type Progress,
} from '@stickerkey/core';
import type { ResolvedJob } from './job.js';
import type { RenderResult } from './render.js';

export type ToThread = { type: 'abort'; reason: string };

export type FromThread =
  | { type: 'start'; job: ResolvedJob }
  | { type: 'progress'; progress: Progress }
  | { type: 'log'; line: string }
  | { type: 'done'; result: RenderResult }
  | { type: 'error'; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  fields: Record<string, unknown>;
}

const FIELDS = ['option', 'input', 'limit', 'limitValue', 'actual', 'role', 'exitCode', 'signal', 'frame', 'stderrTail', 'output'] as const;

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const raw = error as unknown as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const key of FIELDS) if (raw[key] !== undefined) fields[key] = raw[key];
  return {
    name: error.name,
    message: error.message,
    ...(error.stack ? { stack: error.stack } : {}),
    ...(typeof raw.code === 'string' ? { code: raw.code } : {}),
    fields,
  };
}

export function reviveError(data: SerializedError): Error {
  const f = data.fields;
  let error: Error;
  switch (data.code) {
    case 'INVALID_OPTION':
      error = new InvalidOptionError(data.message, String(f.option ?? ''));
      break;
    case 'UNSUPPORTED_INPUT':
      error = new UnsupportedInputError(data.message, String(f.input ?? ''));
      break;
    case 'LIMIT_EXCEEDED':
      error = new LimitExceededError(data.message, String(f.limit ?? ''), Number(f.limitValue), Number(f.actual));
      break;
    case 'FFMPEG_FAILED':
      error = new FfmpegFailedError(
        f.role as FfmpegFailedError['role'],
        (f.exitCode as number | null) ?? null,
        (f.signal as NodeJS.Signals | null) ?? null,
        Number(f.frame ?? 0),
        String(f.stderrTail ?? ''),
      );
      break;
    case 'CANCELLED':
      error = new CancelledError(data.message);
      break;
    case 'ALPHA_MISSING':
      error = new AlphaMissingError(data.message, String(f.output ?? ''));
      break;
    default: {
      error = new Error(data.message);
      error.name = data.name;
      if (data.code !== undefined) (error as Error & { code?: string }).code = data.code;
    }
  }
  if (data.stack) error.stack = data.stack;
  return error;
}
