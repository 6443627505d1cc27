/**
 * Typed errors with stable codes. Callers branch on `code`, never on message text.
 * Messages name the thing, what was expected and what came, in sharp's style:
 * `Expected number between 0 and 1 for chroma-key.similarity but received 1.5`.
 */

export type ErrorCode = 'INVALID_OPTION' | 'UNSUPPORTED_INPUT' | 'LIMIT_EXCEEDED' | 'FFMPEG_FAILED' | 'CANCELLED' | 'ALPHA_MISSING';

export class StickerkeyError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option of an effect, a job or the pipeline is missing, of the wrong type or out of range. */
export class InvalidOptionError extends StickerkeyError {
  constructor(
    message: string,
    readonly option: string,
  ) {
    super('INVALID_OPTION', message);
  }
}

/** The input cannot be processed at all: missing, empty, not a video, no video stream, corrupt. */
export class UnsupportedInputError extends StickerkeyError {
  constructor(
    message: string,
    readonly input: string,
    options?: { cause?: unknown },
  ) {
    super('UNSUPPORTED_INPUT', message, options);
  }
}

/** The input is a video, but bigger than the configured limits (resolution, duration, frames). */
export class LimitExceededError extends StickerkeyError {
  constructor(
    message: string,
    readonly limit: string,
    readonly limitValue: number,
    readonly actual: number,
  ) {
    super('LIMIT_EXCEEDED', message);
  }
}

/** An ffmpeg child exited badly; carries what is needed to diagnose it without rerunning. */
export class FfmpegFailedError extends StickerkeyError {
  constructor(
    readonly role: 'decode' | 'encode' | 'probe' | 'verify',
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly frame: number,
    readonly stderrTail: string,
  ) {
    const how = exitCode !== null ? `exit code ${exitCode}` : `signal ${signal ?? 'unknown'}`;
    super('FFMPEG_FAILED', `ffmpeg ${role} failed with ${how} at frame ${frame}` + (stderrTail ? `:\n${stderrTail}` : ''));
  }
}

/** The job was cancelled through its AbortSignal; nothing was left behind. */
export class CancelledError extends StickerkeyError {
  constructor(message = 'The job was cancelled', options?: { cause?: unknown }) {
    super('CANCELLED', message, options);
  }

  /** The error for an aborted signal, keeping why it was aborted (timeout, shutdown...) as the cause. */
  static from(signal: AbortSignal): CancelledError {
    const reason: unknown = signal.reason;
    const why = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
    return new CancelledError(`The job was cancelled${why}`, { cause: reason });
  }
}

/** The encoded output was expected to carry alpha but decodes fully opaque. */
export class AlphaMissingError extends StickerkeyError {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super('ALPHA_MISSING', message);
  }
}

export function isStickerkeyError(error: unknown): error is StickerkeyError {
  return error instanceof StickerkeyError;
}
