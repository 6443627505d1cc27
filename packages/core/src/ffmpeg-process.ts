/**
 * One ffmpeg child: spawned with our binary, stderr kept as a short tail (bounded, so a chatty
 * encoder cannot grow our heap over a long clip), and ffmpeg's own `-benchmark` figures parsed
 * at exit: its CPU time and its RSS high-water mark, which a sampler can miss between samples.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ffmpegBinary } from './ffmpeg.js';
import { dieWithParent } from './parent-death.js';

const TAIL_LINES = 20;

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From `-benchmark`: user + system CPU seconds of this ffmpeg; 0 when not reported. */
  cpuSeconds: number;
  /** From `-benchmark`: this ffmpeg's peak RSS in bytes; 0 when not reported. */
  maxRss: number;
}

export interface FfmpegProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<FfmpegExit>;
  stderrTail(): string;
  kill(): void;
}

export interface SpawnOptions {
  /** Pipes opened on fds 3, 4, ... for outputs written to `pipe:3` and up (several outputs at once). */
  extraPipes?: number;
}

export function spawnFfmpeg(args: readonly string[], options: SpawnOptions = {}): FfmpegProcess {
  // `level+info` tags each line with its level: the `-benchmark` figures are info lines, and
  // only warnings and errors go to the tail that error messages quote.
  // dieWithParent: a SIGKILLed worker must not leave an encoder finishing a temp file (see parent-death.ts).
  const spawned = dieWithParent(ffmpegBinary(), ['-hide_banner', '-nostdin', '-nostats', '-benchmark', '-v', 'level+info', ...args]);
  // Our environment as it is: no GLIBC_TUNABLES of our own. Measured, huge pages cost a 1080p job
  // ~0.6 s at the encoder's start (README, "What a job does besides encoding"); a user's own
  // GLIBC_TUNABLES reaches ffmpeg as it is.
  const child = spawn(spawned.command, spawned.args, {
    stdio: ['pipe', 'pipe', 'pipe', ...Array.from({ length: options.extraPipes ?? 0 }, () => 'pipe' as const)],
  });
  const tail: string[] = [];
  let partial = '';
  let cpuSeconds = 0;
  let maxRss = 0;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    const lines = (partial + chunk).split(/\r|\n/);
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      const times = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(line);
      if (times) {
        cpuSeconds = Number(times[1]) + Number(times[2]);
        continue;
      }
      const rss = /bench: maxrss=(\d+)kB/.exec(line);
      if (rss) {
        maxRss = Number(rss[1]) * 1024;
        continue;
      }
      if (line.includes('[info] ')) continue;
      tail.push(line.replace(/\[(warning|error|fatal|panic)\] /, ''));
      if (tail.length > TAIL_LINES) tail.shift();
    }
  });
  const exited = new Promise<FfmpegExit>((resolve) => {
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      if (partial) tail.push(partial);
      resolve({ code, signal, cpuSeconds, maxRss });
    };
    child.on('error', (error) => {
      tail.push(String(error));
      finish(-1, null);
    });
    // 'close' rather than 'exit': stderr is fully read by then, so the tail is complete.
    child.on('close', finish);
  });
  return {
    child,
    exited,
    stderrTail: () => tail.join('\n'),
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      // 'close' waits for stdout to end; a paused stdout holding unread frames never would.
      child.stdout?.destroy();
      child.stdin?.destroy();
    },
  };
}
