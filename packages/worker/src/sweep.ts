/**
 * Sweep stale temp outputs. runPipeline (core/src/pipeline.ts) encodes to
 * `.<name>.<ext>.<pid>-<8 hex>.partial` beside the output and removes it when a job fails; only a
 * hard kill (SIGKILL, the OOM killer) leaves one behind, and on shared storage those pile up.
 * The worker and the batch mode sweep at start and after each job.
 *
 * A partial is stale when its owner is gone AND it has not been written for `minAgeSeconds`:
 *   - owner gone: no live process has the pid in its name here, or the process that has it
 *     started after the file was last written (the pid was reused: in containers every restart
 *     of the worker gets the same small pid, ours included);
 *   - the age guard is for storage shared between machines: a pid means nothing on another host,
 *     and a live encoder there writes its partial every few seconds, so a partial untouched for a
 *     minute is no one's. On storage only this machine writes, 0 is safe.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

/** core's temp name: `.<output name>.<pid>-<8 hex>.partial`. */
export const PARTIAL_NAME = /^\..+\.(\d+)-[0-9a-f]{8}\.partial$/;

export interface SweepOptions {
  /** Only remove partials not written for this long (seconds). Default 60. */
  minAgeSeconds?: number;
  /** How many levels of subfolders to look into (0 = `dir` only). Default 0. */
  depth?: number;
  /** Called for each file removed. */
  onRemoved?: (path: string, ownerPid: number) => void;
}

export const DEFAULT_SWEEP_AGE_SECONDS = 60;

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's start time: 100 on every mainstream arch. */
const CLOCK_TICKS = 100;
let bootTimeMs: number | undefined;

function procBootTimeMs(): number | undefined {
  if (bootTimeMs !== undefined) return bootTimeMs;
  try {
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
    if (btime) bootTimeMs = Number(btime[1]) * 1000;
  } catch {
    // no /proc (macOS)
  }
  return bootTimeMs;
}

/** When the process with this pid started (epoch ms), or undefined when none runs (zombies count as gone). */
async function processStart(pid: number): Promise<number | 'unknown' | undefined> {
  if (pid === process.pid) return Date.now() - process.uptime() * 1000;
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'latin1');
  } catch {
    if (process.platform === 'linux') return undefined;
    // No /proc: existence is all we can learn.
    try {
      process.kill(pid, 0);
      return 'unknown';
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'unknown' : undefined;
    }
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const boot = procBootTimeMs();
  // fields[19] is field 22 of stat(5): start time in clock ticks after boot.
  return boot === undefined ? 'unknown' : boot + (Number(fields[19]) / CLOCK_TICKS) * 1000;
}

/** Could the process named by `pid` have written this file last at `mtimeMs`? */
export async function ownerAlive(pid: number, mtimeMs: number): Promise<boolean> {
  const started = await processStart(pid);
  if (started === undefined) return false;
  if (started === 'unknown') return true;
  // A second of slack: start times are in clock ticks, mtimes may be coarse.
  return started <= mtimeMs + 1000;
}

/** Remove the stale partials in `dir` (and `depth` levels below); returns the paths removed. Never throws. */
export async function sweepPartials(dir: string, options: SweepOptions = {}): Promise<string[]> {
  const minAgeMs = (options.minAgeSeconds ?? DEFAULT_SWEEP_AGE_SECONDS) * 1000;
  const removed: string[] = [];
  const visit = async (folder: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return; // gone, or not ours to read: nothing to sweep
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (depth > 0) await visit(path, depth - 1);
        continue;
      }
      const match = PARTIAL_NAME.exec(entry.name);
      if (!match || !entry.isFile()) continue;
      const pid = Number(match[1]);
      try {
        const { mtimeMs } = await stat(path);
        if (Date.now() - mtimeMs < minAgeMs) continue;
        if (await ownerAlive(pid, mtimeMs)) continue;
        await rm(path, { force: true });
        removed.push(path);
        options.onRemoved?.(path, pid);
      } catch {
        // removed by someone else meanwhile
      }
    }
  };
  await visit(dir, options.depth ?? 0);
  return removed;
}
