import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FfmpegFailedError, InvalidOptionError, UnsupportedInputError } from '@stickerkey/core';
import { createProgressDisplay, errorCode, formatErrorLine } from '../src/report.js';

describe('formatErrorLine', () => {
  it('is one line with the stable code', () => {
    const error = new InvalidOptionError('Expected number between 0 and 100 for drop-shadow.opacity but received 150', 'drop-shadow.opacity');
    expect(formatErrorLine(error)).toBe('stickerkey: Expected number between 0 and 100 for drop-shadow.opacity but received 150 [INVALID_OPTION]');
    expect(formatErrorLine(new UnsupportedInputError('Not a video: x.mp4', 'x.mp4'))).toBe('stickerkey: Not a video: x.mp4 [UNSUPPORTED_INPUT]');
  });

  it("keeps ffmpeg's last stderr line, still on one line", () => {
    const error = new FfmpegFailedError('encode', 1, null, 42, 'Input #0 ...\n  Stream #0:0 ...\nError initializing output stream 0:0');
    const line = formatErrorLine(error);
    expect(line).toBe('stickerkey: ffmpeg encode failed with exit code 1 at frame 42: Error initializing output stream 0:0 [FFMPEG_FAILED]');
    expect(line).not.toContain('\n');
  });

  it("uses Node's code for system errors and INTERNAL otherwise", () => {
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expect(errorCode(enoent)).toBe('ENOENT');
    expect(formatErrorLine(new TypeError('x is undefined'))).toBe('stickerkey: x is undefined [INTERNAL]');
    expect(formatErrorLine('plain text')).toBe('stickerkey: plain text [INTERNAL]');
  });
});

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => out };
}

const progress = (frame: number, totalFrames = 100) => ({
  frame,
  totalFrames,
  fps: 20,
  elapsedSeconds: frame / 20,
  etaSeconds: (totalFrames - frame) / 20,
  treeRss: 300 * 1024 * 1024,
  processRss: 100 * 1024 * 1024,
  stage: 'frames' as const,
});

describe('plain progress (no terminal)', () => {
  it('prints about every 10% of the frames, the last frame always, and log lines as they are', () => {
    const { stream, text } = capture();
    const display = createProgressDisplay({ stream, tty: false });
    display.log('JOB #1: 💾 Memory Usage at start: 50.0 MB RSS, 900.0 MB VMS, tree 50.0 MB RSS');
    for (let frame = 1; frame <= 100; frame++) display.onProgress(progress(frame));
    display.stop();
    const lines = text().trim().split('\n');
    expect(lines[0]).toBe('JOB #1: 💾 Memory Usage at start: 50.0 MB RSS, 900.0 MB VMS, tree 50.0 MB RSS');
    const progressLines = lines.filter((line) => line.startsWith('progress:'));
    expect(progressLines.length).toBeGreaterThanOrEqual(10);
    expect(progressLines.length).toBeLessThanOrEqual(11);
    expect(progressLines.at(-1)).toBe('progress: frame 100/100 (100%), 20.0 fps, ETA 0.0 s, tree 300.0 MB RSS');
  });

  it('shows frames and time without a percentage while the total is unknown (a streamed input)', () => {
    const { stream, text } = capture();
    const display = createProgressDisplay({ stream, tty: false });
    display.onProgress({ ...progress(1), totalFrames: undefined, etaSeconds: undefined });
    display.onProgress({ ...progress(40), totalFrames: undefined, etaSeconds: undefined, elapsedSeconds: 2.5 });
    display.stop();
    const lines = text().trim().split('\n');
    // No total: time alone paces the lines (one per 2 s), so frame 40, right after it, is held back.
    expect(lines).toEqual(['progress: frame 1, 0.1 s elapsed, 20.0 fps, tree 300.0 MB RSS']);
    expect(text()).not.toContain('%');
  });

  it('prints nothing when quiet', () => {
    const { stream, text } = capture();
    const display = createProgressDisplay({ stream, tty: false, quiet: true });
    display.log('a line');
    display.onProgress(progress(100));
    expect(text()).toBe('');
  });
});
