/**
 * Runs one process tree and measures it from outside, the same way for our Node child and for
 * the ffmpeg references, so their figures compare:
 * - tree RSS sampled every ~50 ms with core's sampleProcessTree(pid) (the root and every
 *   descendant), keeping each process's VmHWM high-water mark from its last sample;
 * - CPU of the whole tree from this process's reaped-children times (see proc.ts);
 * - wall time from spawn to exit.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { sampleProcessTree } from '@stickerkey/core';
import { readCpuTimes } from './proc.js';
import type { ProcessPeak, TreeSample } from './types.js';

export interface TreeMeasure {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallSeconds: number;
  cpuSeconds: number;
  peakTreeRss: number;
  peakRootRss: number;
  rootHwm: number;
  processes: ProcessPeak[];
  samples: TreeSample[];
  stderr: string;
  /** Date.now() at spawn, to align milestones the child reports on its own clock. */
  spawnedAt: number;
}

export interface MeasureOptions {
  intervalMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Keep only the last this many characters of stderr. */
  stderrLimit?: number;
  /** Name shown for the root process in the per-process peaks. */
  rootLabel?: string;
  /** Forward each stdout line (progress of the child). */
  onStdoutLine?: (line: string) => void;
}

/** Trees being measured, so that a Ctrl-C of the bench does not leave ffmpeg running. */
const active = new Set<number>();
let handlersInstalled = false;

function killTree(pid: number): void {
  // Descendants first (their parent would otherwise be gone and they would be reparented).
  for (const c of sampleProcessTree(pid).children.reverse()) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const pid of active) killTree(pid);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

export async function measureTree(command: string, args: readonly string[], options: MeasureOptions = {}): Promise<TreeMeasure> {
  const intervalMs = options.intervalMs ?? 50;
  const stderrLimit = options.stderrLimit ?? 8000;
  const cpuBefore = readCpuTimes('self').children;
  const spawnOptions: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd };
  const spawnedAt = Date.now();
  const start = performance.now();
  const child = spawn(command, args, spawnOptions);
  const pid = child.pid;
  installSignalHandlers();
  if (pid !== undefined) active.add(pid);
  const samples: TreeSample[] = [];
  const peaks = new Map<number, ProcessPeak>();
  let peakTreeRss = 0;
  let peakRootRss = 0;
  let rootHwm = 0;
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-stderrLimit);
  });
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      options.onStdoutLine?.(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
  });

  const sample = () => {
    if (pid === undefined) return;
    const tree = sampleProcessTree(pid);
    // A process that has just exited reads as 0: not a sample of the tree.
    if (tree.processRss === 0) return;
    const t = performance.now() - start;
    samples.push({ t: Math.round(t), treeRss: tree.treeRss, rootRss: tree.processRss });
    if (tree.treeRss > peakTreeRss) peakTreeRss = tree.treeRss;
    if (tree.processRss > peakRootRss) peakRootRss = tree.processRss;
    if (tree.processHwm > rootHwm) rootHwm = tree.processHwm;
    for (const c of tree.children) {
      const known = peaks.get(c.pid);
      if (!known) peaks.set(c.pid, { pid: c.pid, command: c.command, hwm: Math.max(c.hwm, c.rss) });
      else {
        if (c.hwm > known.hwm) known.hwm = c.hwm;
        // A child sampled between fork and exec still has its parent's name: keep the latest.
        known.command = c.command;
      }
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve([c, s]));
  }).finally(() => {
    clearInterval(timer);
    if (pid !== undefined) active.delete(pid);
  });
  const wallSeconds = (performance.now() - start) / 1000;
  // 'exit' fires after libuv reaped the child, so its times are in our cutime/cstime already.
  const cpuSeconds = readCpuTimes('self').children - cpuBefore;
  await new Promise<void>((resolve) => (child.stdout!.readableEnded ? resolve() : child.stdout!.once('close', () => resolve())));
  if (partial) options.onStdoutLine?.(partial);
  const processes: ProcessPeak[] = [{ pid: pid ?? 0, command: options.rootLabel ?? command, hwm: rootHwm }, ...peaks.values()];
  return { code, signal, wallSeconds, cpuSeconds, peakTreeRss, peakRootRss, rootHwm, processes, samples, stderr, spawnedAt };
}
