/**
 * CPU time of a whole process tree, measured from outside.
 *
 * When a process is reaped, the kernel adds its user+sys time, and that of every descendant it
 * reaped, to its parent's cutime/cstime (/proc/<pid>/stat fields 16 and 17). The bench spawns one
 * measured tree at a time, so the difference of this process's cutime+cstime across a run is the
 * CPU of that tree: the Node child and its ffmpeg grandchildren (libuv reaps them), or `sh` and
 * the two ffmpeg of a reference pipe. Linux only; elsewhere CPU is reported as NaN.
 */
import { readFileSync } from 'node:fs';
import { readCpuTimes as readProcessCpu, type CpuTimes } from '@stickerkey/core';

export type { CpuTimes };

/** Core's reader of /proc/<pid>/stat; NaN where /proc is missing (the report then says so). */
export function readCpuTimes(pid: number | 'self' = 'self'): CpuTimes {
  return readProcessCpu(pid) ?? { self: Number.NaN, children: Number.NaN };
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
