import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI, run the way users run it (`node dist/cli.js`): `pnpm build` first. */
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  // DEBUG would add stack traces on purpose: keep it out so the one-line contract is what is tested.
  const env = { ...process.env, ...options.env };
  delete env.DEBUG;
  return spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function finished(child: ChildProcess): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return finished(startCli(args, options));
}

/** Every live process whose parent chain leads to `pid` (from /proc). */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
    } catch {
      // exited while we listed
    }
  }
  const out: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        out.push(child);
        frontier.push(child);
      }
    }
  }
  return out;
}

/** A process that still runs (a zombie waiting to be reaped holds nothing and does not count). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes whose command line mentions `text` (what `pgrep -f text` finds). */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ');
      if (cmdline.includes(text) && alive(Number(entry))) found.push(Number(entry));
    } catch {
      // exited while we listed
    }
  }
  return found;
}

/** The seed guide's memory line, with the tree total after it. */
export const MEMORY_LINE = /^JOB #\S+: 💾 Memory Usage at [^:]+: \d+\.\d MB RSS, \d+\.\d MB VMS, tree \d+\.\d MB RSS, CPU \d+\.\d s \(.+\)$/u;

/** One line on stderr, carrying `[CODE]`, no stack frame. */
export function expectOneLineError(run: CliRun, code: string): string {
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  if (lines.length !== 1) throw new Error(`expected exactly one stderr line, got ${lines.length}:\n${run.stderr}`);
  const line = lines[0]!;
  if (!line.startsWith('stickerkey: ') || !line.endsWith(`[${code}]`)) throw new Error(`expected "stickerkey: ... [${code}]", got: ${line}`);
  if (/\n\s+at /.test(run.stderr) || /\bat .*\.js:\d+/.test(run.stderr)) throw new Error(`stack trace on stderr:\n${run.stderr}`);
  return line;
}
