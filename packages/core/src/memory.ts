/**
 * Memory of the whole process tree: this process AND its ffmpeg children. A container's limit
 * counts all of it, and libvpx alone holds hundreds of MB at 1080p, so a Node-only RSS figure
 * would hide most of the peak. Linux: read from /proc (cheap, no `ps` spawned per sample);
 * elsewhere we degrade to this process's own figures and say children are unknown (0).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { processCpuSeconds } from './process-cpu.js';

const MB = 1024 * 1024;
const onLinux = process.platform === 'linux';

export interface ProcessMemory {
  pid: number;
  /** Resident set size, bytes. */
  rss: number;
  /** High-water mark of the RSS over the process's life (VmHWM), bytes; 0 when unknown. */
  hwm: number;
  command: string;
}

export interface TreeMemory {
  processRss: number;
  processVms: number;
  processHwm: number;
  children: ProcessMemory[];
  childrenRss: number;
  treeRss: number;
}

export interface MemorySample {
  /** Milliseconds since the monitor started. */
  t: number;
  /** Set on milestones (`start`, `frame 10/120`, `after encoding`...), absent on periodic samples. */
  label?: string;
  processRss: number;
  processVms: number;
  childrenRss: number;
  treeRss: number;
  /** On milestones: CPU seconds of the tree since the monitor was made (absent where /proc is missing). */
  cpuSeconds?: number;
}

interface Status {
  rss: number;
  vms: number;
  hwm: number;
  name: string;
}

function readStatus(pid: number): Status | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined; // exited between listing and reading: it holds no memory any more
  }
  const field = (key: string): number => {
    const at = text.indexOf(`\n${key}:`);
    if (at < 0) return 0;
    return Number.parseInt(text.slice(at + key.length + 2).trimStart(), 10) * 1024; // kB
  };
  const nameEnd = text.indexOf('\n');
  return { rss: field('VmRSS'), vms: field('VmSize'), hwm: field('VmHWM'), name: text.slice(6, nameEnd).trim() };
}

/** Direct children of `pid` from /proc/<pid>/task/<tid>/children (every thread can be a parent). */
function childPids(pid: number): number[] {
  const pids: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return pids;
  }
  for (const tid of tasks) {
    let list: string;
    try {
      list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const part of list.split(' ')) if (part) pids.push(Number(part));
  }
  return pids;
}

/** All descendants of `pid`, depth first. */
export function descendantPids(pid: number = process.pid): number[] {
  if (!onLinux) return [];
  const out: number[] = [];
  const stack = childPids(pid);
  while (stack.length > 0) {
    const next = stack.pop()!;
    out.push(next);
    stack.push(...childPids(next));
  }
  return out;
}

/** One reading of `pid` (default: this process) and all its descendants. */
export function sampleProcessTree(pid: number = process.pid): TreeMemory {
  let processRss: number;
  let processVms: number;
  let processHwm: number;
  const own = onLinux ? readStatus(pid) : undefined;
  if (own) {
    processRss = own.rss;
    processVms = own.vms;
    processHwm = own.hwm;
  } else if (pid === process.pid) {
    processRss = process.memoryUsage.rss();
    processVms = 0; // not portable outside /proc
    processHwm = process.resourceUsage().maxRSS * 1024;
  } else {
    processRss = processVms = processHwm = 0;
  }
  const children: ProcessMemory[] = [];
  let childrenRss = 0;
  for (const child of descendantPids(pid)) {
    const status = readStatus(child);
    if (!status) continue;
    children.push({ pid: child, rss: status.rss, hwm: status.hwm, command: status.name });
    childrenRss += status.rss;
  }
  return { processRss, processVms, processHwm, children, childrenRss, treeRss: processRss + childrenRss };
}

export function toMB(bytes: number): string {
  return (bytes / MB).toFixed(1);
}

/**
 * CPU seconds of the tree so far: the process with its reaped children, plus each running
 * descendant's own. Undefined where /proc is missing. Like process.cpuUsage(), it counts every job
 * the process runs at once (exact for one job per process: the CLI, one worker per container).
 */
export function treeCpuSeconds(pid: number = process.pid): number | undefined {
  const root = processCpuSeconds(pid);
  if (root === undefined) return undefined;
  // A child reaped between the two reads is missed once: a few ticks at most, never counted twice.
  return descendantPids(pid).reduce((sum, child) => sum + (processCpuSeconds(child) ?? 0), root);
}

/**
 * The seed guide's line, exactly, so existing `grep "💾 Memory Usage"` searches keep working,
 * with the tree total after it, then the tree's CPU so far and what has run by then, when given:
 * `JOB #123: 💾 Memory Usage at start: 450.2 MB RSS, 1024.5 MB VMS, tree 890.1 MB RSS, CPU 0.4 s (probed)`.
 */
export function formatMemoryLine(jobId: string | number, label: string, sample: MemorySample, note?: string): string {
  return (
    `JOB #${jobId}: 💾 Memory Usage at ${label}: ${toMB(sample.processRss)} MB RSS, ${toMB(sample.processVms)} MB VMS` +
    `, tree ${toMB(sample.treeRss)} MB RSS` +
    (sample.cpuSeconds === undefined ? '' : `, CPU ${sample.cpuSeconds.toFixed(1)} s`) +
    (note ? ` (${note})` : '')
  );
}

export interface MemoryMonitorOptions {
  jobId?: string | number;
  /** Receives the seed-format lines at milestones. */
  log?: (line: string) => void;
  /** Period of the background samples that catch peaks between milestones. */
  intervalMs?: number;
  /** The timeline is decimated past this many samples so it never grows with clip length. */
  maxSamples?: number;
  pid?: number;
}

export interface MemoryPeaks {
  processRss: number;
  processVms: number;
  childrenRss: number;
  treeRss: number;
}

/**
 * Samples the tree periodically (peaks) and at named milestones (timeline + log lines).
 * The timeline keeps every milestone but thins periodic samples past `maxSamples`, so a
 * ten-minute clip costs the monitor no more memory than a ten-second one.
 */
export class MemoryMonitor {
  readonly peaks: MemoryPeaks = { processRss: 0, processVms: 0, childrenRss: 0, treeRss: 0 };
  readonly timeline: MemorySample[] = [];
  /** The most recent reading, periodic or milestone. */
  latest: MemorySample = { t: 0, processRss: 0, processVms: 0, childrenRss: 0, treeRss: 0 };
  private readonly started = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private periodicKept = 0;
  private keepEvery = 1;
  private periodicSeen = 0;
  private readonly jobId: string | number;
  private readonly log: ((line: string) => void) | undefined;
  private readonly intervalMs: number;
  private readonly maxSamples: number;
  private readonly pid: number;
  private readonly cpuStart: number | undefined;

  constructor(options: MemoryMonitorOptions = {}) {
    this.jobId = options.jobId ?? process.pid;
    this.log = options.log;
    this.intervalMs = options.intervalMs ?? 100;
    this.maxSamples = options.maxSamples ?? 2000;
    this.pid = options.pid ?? process.pid;
    this.cpuStart = treeCpuSeconds(this.pid);
  }

  start(): this {
    if (!this.timer) {
      this.timer = setInterval(() => this.sample(), this.intervalMs);
      this.timer.unref(); // never keep a finished job's process alive
    }
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  /**
   * Sample now, with the tree's CPU since the monitor was made, record it as a labelled milestone
   * and log the seed-format line; `note` says what has run by then (a streaming pipeline's
   * milestones do not mean what the seed's batch steps meant: README, "Memory lines").
   */
  mark(label: string, note?: string): MemorySample {
    const sample = this.read(label);
    const cpu = this.cpuStart === undefined ? undefined : treeCpuSeconds(this.pid);
    if (cpu !== undefined && this.cpuStart !== undefined) sample.cpuSeconds = Math.max(0, cpu - this.cpuStart);
    this.timeline.push(sample);
    this.log?.(formatMemoryLine(this.jobId, label, sample, note));
    return sample;
  }

  /** A periodic sample: updates peaks, kept in the timeline at a decreasing rate. */
  sample(): MemorySample {
    const sample = this.read();
    this.periodicSeen++;
    if (this.periodicSeen % this.keepEvery === 0) {
      this.timeline.push(sample);
      this.periodicKept++;
      if (this.periodicKept >= this.maxSamples) this.thin();
    }
    return sample;
  }

  private thin(): void {
    // Drop every other periodic sample and halve the rate from now on; milestones stay.
    let periodicIndex = 0;
    let write = 0;
    for (const sample of this.timeline) {
      if (sample.label !== undefined || periodicIndex++ % 2 === 0) this.timeline[write++] = sample;
    }
    this.timeline.length = write;
    this.periodicKept = Math.ceil(this.periodicKept / 2);
    this.keepEvery *= 2;
  }

  private read(label?: string): MemorySample {
    const tree = sampleProcessTree(this.pid);
    const sample: MemorySample = {
      t: Math.round(performance.now() - this.started),
      processRss: tree.processRss,
      processVms: tree.processVms,
      childrenRss: tree.childrenRss,
      treeRss: tree.treeRss,
    };
    if (label !== undefined) sample.label = label;
    this.latest = sample;
    const peaks = this.peaks;
    if (tree.processRss > peaks.processRss) peaks.processRss = tree.processRss;
    if (tree.processVms > peaks.processVms) peaks.processVms = tree.processVms;
    if (tree.childrenRss > peaks.childrenRss) peaks.childrenRss = tree.childrenRss;
    if (tree.treeRss > peaks.treeRss) peaks.treeRss = tree.treeRss;
    return sample;
  }
}
