/**
 * ffmpeg children must die with the process that spawned them, even when that process is
 * SIGKILLed (a container's OOM killer) and cannot clean up.
 *
 * Why a kernel mechanism: ffmpeg ignores SIGPIPE (fftools/ffmpeg.c, term_init:
 * `signal(SIGPIPE, SIG_IGN)`), so when we die the decoder only fails on its next write to the
 * dead pipe (EPIPE), and the encoder sees a plain EOF on stdin: to it that is the end of the
 * clip, and it flushes its look-ahead and writes the trailer of a temp file nobody will rename.
 * `-progress pipe:N` would not help either: ffmpeg ignores write errors on the progress URL.
 *
 * Linux's PR_SET_PDEATHSIG makes the kernel send a signal to a process when its parent thread
 * ends. Node cannot call prctl() itself, so the child is started through util-linux's
 * `setpriv --pdeathsig KILL`, which sets it and execs ffmpeg (same pid, nothing stays between
 * us and ffmpeg; the setting survives the exec). util-linux is part of every Debian/Ubuntu base
 * image (setpriv has had --pdeathsig since 2.33, 2018). Note the "parent" is the THREAD that
 * spawned: a render thread's ffmpeg children also die when that thread is terminated, which is
 * what we want of a thread ended after its abort grace period.
 *
 * Where setpriv is missing or refuses (macOS, an old util-linux), children are spawned directly,
 * as before: a graceful stop still kills them; only a hard kill leaves them to finish.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

let prefix: readonly string[] | undefined;

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The command prefix that ties a child's life to its spawning thread: `[setpriv, --pdeathsig,
 * KILL]`, or `[]` where that is not available. Checked once per process by running it.
 */
export function parentDeathPrefix(): readonly string[] {
  if (prefix) return prefix;
  prefix = [];
  if (process.platform !== 'linux') return prefix;
  const setpriv = findOnPath('setpriv');
  if (!setpriv) return prefix;
  // Proves the flag is known and prctl is allowed here (a seccomp profile could refuse it).
  // `true` when there is one: starting a whole Node just to exit costs a job's set-up ~50 ms.
  const noop = findOnPath('true');
  const probe = spawnSync(setpriv, ['--pdeathsig', 'KILL', ...(noop ? [noop] : [process.execPath, '-e', ''])], { stdio: 'ignore', timeout: 10_000 });
  if (probe.status === 0) prefix = [setpriv, '--pdeathsig', 'KILL'];
  return prefix;
}

/** `command args...`, wrapped so that the child is killed when the spawning thread ends. */
export function dieWithParent(command: string, args: readonly string[]): { command: string; args: string[] } {
  const [wrapper, ...flags] = parentDeathPrefix();
  return wrapper === undefined ? { command, args: [...args] } : { command: wrapper, args: [...flags, command, ...args] };
}
