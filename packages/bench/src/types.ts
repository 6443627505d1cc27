/** The data the bench records: one run, one case's medians, what the gates decide. */
import type { BenchCase } from './cases.js';

/** ours: the stickerkey pipeline in a fresh Node; pipe: ffmpeg decode | ffmpeg encode;
 *  single: one ffmpeg decoding and encoding; filtergraph: the whole job as one ffmpeg graph. */
export type RunKind = 'ours' | 'pipe' | 'single' | 'filtergraph';
export type ReferenceKind = Exclude<RunKind, 'ours'>;
export const referenceKinds: readonly ReferenceKind[] = ['pipe', 'single', 'filtergraph'];

/** One sample of the tree taken from outside, every ~50 ms. Bytes; t in ms since spawn. */
export interface TreeSample {
  t: number;
  treeRss: number;
  rootRss: number;
}

/** A labelled milestone reported by the pipeline itself, on the same time axis as the samples. */
export interface Milestone {
  t: number;
  label: string;
  treeRss: number;
  processRss: number;
}

export interface ProcessPeak {
  pid: number;
  command: string;
  /** VmHWM: the process's own high-water mark, last read before it exited. */
  hwm: number;
}

/** A job the pipeline refused before work, with its stable code (LIMIT_EXCEEDED for a 4K clip over the budget). */
export interface Refusal {
  code: string;
  message: string;
}

export interface RunMeasure {
  kind: RunKind;
  caseId: string;
  /** Which batch (1 + reruns of an inconclusive case) and which repeat within it. */
  attempt: number;
  repeat: number;
  frames: number;
  /** Seconds the job took: the pipeline's own wall time for ours (a worker is long-lived and
   *  does not pay Node's start-up per job), spawn to exit for ffmpeg references. */
  wallSeconds: number;
  /** Spawn to exit, always. */
  processWallSeconds: number;
  /** user+sys of the whole tree. */
  cpuSeconds: number;
  fps: number;
  sourceSecondsPerSecond: number;
  /** Length of the output video (frames at the posterized rate); 0 when refused. */
  outputSeconds: number;
  /** Size of the output file; 0 when refused. */
  outputBytes: number;
  /** Ours: job start to the first frame leaving the stack (PipelineResult.setupSeconds); null for references. */
  setupSeconds: number | null;
  /** Ours: the canvas the pipeline encoded (a fitted 4K job shows its scaled size). */
  canvas?: { width: number; height: number };
  /** Ours, when the pipeline refused the job (only in cases that allow it). */
  refused?: Refusal;
  /** Ours: the pipeline's own account of its ffmpeg (`result.ffmpeg`), when it gives one. */
  ffmpeg?: unknown;
  /** Peak RSS of the Node process (ours only). Bytes. */
  peakNodeRss: number | null;
  /** Peak of the summed RSS of the tree: sampled from outside, and from inside by the pipeline. */
  peakTreeRss: number;
  /** Sum of each process's own high-water mark: an upper bound, the peaks need not coincide. */
  hwmSum: number;
  processes: ProcessPeak[];
  samples: TreeSample[];
  milestones: Milestone[];
  /** STICKERKEY_BENCH_INJECT in force, if any. */
  injected?: string;
}

export interface ReferenceSummary {
  wallSeconds: number;
  cpuSeconds: number;
  /** CPU seconds per second of output video: a 1-CPU container's real-time factor. */
  cpuPerOutputSecond: number;
  fps: number;
  peakTreeMb: number;
  outputBytes: number;
}

export interface ProfileRow {
  label: string;
  treeMb: number;
  nodeMb: number;
}

export interface CaseSummary {
  id: string;
  case: BenchCase;
  runs: number;
  attempts: number;
  frames: number;
  sourceSeconds: number;
  // Medians over the repeats of the last attempt.
  wallSeconds: number;
  cpuSeconds: number;
  fps: number;
  sourceSecondsPerSecond: number;
  outputSeconds: number;
  outputBytes: number;
  /** CPU seconds of the whole tree per second of output video: on one CPU, the real-time factor. */
  cpuPerOutputSecond: number;
  setupSeconds: number;
  /** setupSeconds / wallSeconds, median over the repeats. */
  setupShare: number;
  /** Set when every run of ours was refused (then the figures above are the refusal's). */
  refused: Refusal | null;
  canvas: { width: number; height: number } | null;
  peakNodeMb: number;
  peakTreeMb: number;
  hwmSumMb: number;
  refs: Partial<Record<ReferenceKind, ReferenceSummary>>;
  /** Ours divided by the reference (time: wall; memory: peak tree); < 1 means we are better. */
  timeRatio: Partial<Record<ReferenceKind, number>>;
  cpuRatio: Partial<Record<ReferenceKind, number>>;
  memoryRatio: Partial<Record<ReferenceKind, number>>;
  /** Our fps / same-repeat `pipe` fps, median; what the throughput gate compares. */
  throughputRatio: number;
  /**
   * Our frames per CPU-second / same-repeat `pipe` frames per CPU-second, median: the throughput
   * on a 1-CPU container (what our users run), and far less sensitive to a busy machine than wall time.
   */
  cpuThroughputRatio: number;
  /**
   * Our CPU seconds per frame / the same repeat's floor (decode|encode) CPU seconds per frame,
   * median: what the throughput gate compares. CPU time barely moves when the machine is busy,
   * wall time does. Equal to 1 / cpuThroughputRatio.
   */
  floorCpuRatio: number;
  /** Per-repeat values behind the gated medians. */
  peakTreeMbs: number[];
  throughputRatios: number[];
  cpuThroughputRatios: number[];
  floorCpuRatios: number[];
  spread: { peakTree: number; throughputRatio: number; cpuThroughputRatio: number; floorCpuRatio: number };
  /** Memory by pipeline milestone, from the run with the median peak. */
  profile: ProfileRow[];
}
