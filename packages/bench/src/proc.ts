/**
 * CPU time of a whole process tree, measured from outside.
 *
 * When a process is reaped, the kernel adds its user+sys time, and that of every descendant it
 * reaped, to its parent's cutime/cstime (/proc/<pid>/stat fields 16 and 17). The bench spawns one
 * measured tree at a time, so the difference of this process's cutime+cstime across a run is the
 * CPU of that tree: the Node child and its ffmpeg grandchildren (libuv reaps them), or `sh` and
 * the two ffmpeg of a reference pipe. Linux only; elsewhere CPU is reported as NaN.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface CpuTimes {
  /** Seconds of user+sys of this process. */
  self: number;
  /** Seconds of user+sys of reaped descendants. */
  children: number;
}

/** Parses the fields after the command name, which may itself contain spaces and parentheses. */
export function parseStat(text: string): number[] {
  const close = text.lastIndexOf(')');
  return text
    .slice(close + 2)
    .split(' ')
    .map((f) => Number(f));
}

export function readCpuTimes(pid: number | 'self' = 'self'): CpuTimes {
  try {
    // Index 0 is field 3 (state): utime=14, stime=15, cutime=16, cstime=17.
    const [utime = 0, stime = 0, cutime = 0, cstime = 0] = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).slice(11, 15);
    const hz = clockTicks();
    return { self: (utime + stime) / hz, children: (cutime + cstime) / hz };
  } catch {
    return { self: Number.NaN, children: Number.NaN };
  }
}

/** VmHWM (peak RSS) of one process in bytes, or 0 when it is gone or /proc is missing. */
export function readHwm(pid: number | 'self' = 'self'): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
