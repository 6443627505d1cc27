/**
 * CPU time of the whole process tree, the figure a 1-CPU container pays in wall time.
 *
 * A job's children are many and short-lived besides the decoder and encoder (ffprobe for the
 * probe and the keyframe list, the sample decode, the alpha check), and ffprobe reports no CPU
 * of its own. The kernel adds every child's CPU to its parent's `cutime`/`cstime` when the parent
 * reaps it (libuv does, as soon as it exits), so the change of those two over a job counts every
 * child it spawned, exactly. It also counts the children of other jobs running in the same
 * process at the same time, as `process.cpuUsage()` counts their threads: per-job figures are
 * exact when jobs run one per process (the CLI, one worker per container).
 */
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports times in these ticks, 100 on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

/** A process's CPU so far, in seconds: its own (utime + stime) and its reaped children's (cutime + cstime). */
export interface CpuTimes {
  self: number;
  children: number;
}

/** CPU seconds of this process's reaped children so far, or undefined where /proc is missing. */
export function reapedChildrenCpuSeconds(): number | undefined {
  return readCpuTimes('self')?.children;
}

/**
 * CPU seconds of process `pid` so far, its own and its reaped children's. Undefined where /proc
 * is missing or the process has gone.
 */
export function processCpuSeconds(pid: number | 'self'): number | undefined {
  const times = readCpuTimes(pid);
  return times && times.self + times.children;
}

/** The one reader of /proc/<pid>/stat's CPU fields (the bench measures trees with it too). */
export function readCpuTimes(pid: number | 'self'): CpuTimes | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 to 17 of proc(5), utime, stime, cutime and cstime; fields[0] is field 3 (state).
  const ticks = [11, 12, 13, 14].map((i) => Number(fields[i]));
  if (!ticks.every(Number.isFinite)) return undefined;
  const [utime = 0, stime = 0, cutime = 0, cstime = 0] = ticks;
  return { self: (utime + stime) / TICKS_PER_SECOND, children: (cutime + cstime) / TICKS_PER_SECOND };
}
