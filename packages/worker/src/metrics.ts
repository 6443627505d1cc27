/**
 * What an operator scrapes: Prometheus metrics (prom-client) and the health endpoints, served
 * by one small node:http server on METRICS_PORT.
 *
 *   GET /metrics  stickerkey_* (below) plus prom-client's default process metrics (CPU, RSS,
 *                 heap, GC, event-loop lag)
 *   GET /healthz  200 while the process and its event loop answer (a liveness probe)
 *   GET /readyz   200 while Redis answers and the worker is taking jobs; 503 with the reason
 *                 otherwise, from the first SIGTERM on (a readiness probe)
 *
 * Names follow Prometheus conventions: base units (seconds, bytes), `_total` for counters. Each
 * worker has a registry of its own, so several in one process (tests) never clash. Labels are
 * bounded: output format, error code, queue state; never a job id.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { sampleProcessTree } from '@stickerkey/core';

/** Queue states sampled with BullMQ's getJobCounts (prioritized jobs are counted apart from waiting in BullMQ 5). */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface WorkerMetricsOptions {
  /** Add prom-client's default process metrics (default true). */
  defaultMetrics?: boolean;
  /** Static labels on every series, e.g. { queue }. */
  labels?: Record<string, string>;
  /** The memory gate, read at each scrape. */
  gate?: () => { budget: number; baseline: number; admitted: number };
}

/** A finished job, as the worker and the batch mode report it. */
export interface JobObservation {
  format: string;
  wallSeconds: number;
  framesPerSecond: number;
  admissionWaitSeconds: number;
  /** What admission predicted this job adds to the tree, bytes. */
  predictedBytes: number;
  /** The tree's measured peak during the job, bytes (the idle process included). */
  peakTreeRss: number;
  /** The idle process's share of that peak, bytes: measured job memory = peak - baseline. */
  baselineBytes: number;
}

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobsCompleted: Counter<'format'>;
  readonly jobsFailed: Counter<'code'>;
  readonly jobDuration: Histogram<'format'>;
  readonly jobFps: Histogram<'format'>;
  readonly admissionWait: Histogram;
  readonly predictedMemory: Histogram<'format'>;
  readonly measuredMemory: Histogram<'format'>;
  readonly memoryRatio: Histogram<'format'>;
  readonly jobsRunning: Gauge;
  readonly jobsWaitingForMemory: Gauge;
  readonly queueJobs: Gauge<'state'>;
  private peakTree = 0;

  constructor(options: WorkerMetricsOptions = {}) {
    const registers = [this.registry];
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.jobsCompleted = new Counter({
      name: 'stickerkey_jobs_completed_total',
      help: 'Jobs rendered to the end, by output format.',
      labelNames: ['format'],
      registers,
    });
    this.jobsFailed = new Counter({
      name: 'stickerkey_jobs_failed_total',
      help: 'Jobs that failed, by error code (INVALID_OPTION, UNSUPPORTED_INPUT, LIMIT_EXCEEDED, FFMPEG_FAILED, CANCELLED, ...).',
      labelNames: ['code'],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'stickerkey_job_duration_seconds',
      help: 'Wall time of a render, from admission to the renamed output.',
      labelNames: ['format'],
      buckets: [1, 2.5, 5, 10, 20, 40, 60, 120, 300, 600, 1200],
      registers,
    });
    this.jobFps = new Histogram({
      name: 'stickerkey_job_frames_per_second',
      help: 'Frames rendered per second of wall time, per job.',
      labelNames: ['format'],
      buckets: [0.5, 1, 2, 4, 8, 12, 16, 24, 32, 48, 64],
      registers,
    });
    this.admissionWait = new Histogram({
      name: 'stickerkey_admission_wait_seconds',
      help: 'Time a job waited at the memory gate before it started.',
      buckets: [0.01, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300],
      registers,
    });
    const memoryBuckets = [64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072].map((mb) => mb * 1024 * 1024);
    this.predictedMemory = new Histogram({
      name: 'stickerkey_job_predicted_memory_bytes',
      help: "Peak memory admission predicted a job adds to the process tree (the memory model's figure).",
      labelNames: ['format'],
      buckets: memoryBuckets,
      registers,
    });
    this.measuredMemory = new Histogram({
      name: 'stickerkey_job_measured_memory_bytes',
      help: 'Measured peak of the process tree during a job minus the idle process (with concurrent jobs, theirs is included).',
      labelNames: ['format'],
      buckets: memoryBuckets,
      registers,
    });
    this.memoryRatio = new Histogram({
      name: 'stickerkey_job_memory_prediction_ratio',
      help: 'Measured over predicted job memory: above 1 the model under-predicts (OOM risk), far below 1 it wastes concurrency.',
      labelNames: ['format'],
      buckets: [0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2],
      registers,
    });
    this.jobsRunning = new Gauge({ name: 'stickerkey_jobs_running', help: 'Jobs rendering now (admitted past the memory gate).', registers });
    this.jobsWaitingForMemory = new Gauge({
      name: 'stickerkey_jobs_waiting_for_memory',
      help: 'Jobs taken by this process and waiting at the memory gate.',
      registers,
    });
    this.queueJobs = new Gauge({
      name: 'stickerkey_queue_jobs',
      help: "Jobs in the queue by state, from BullMQ's getJobCounts (sampled every QUEUE_SAMPLE_SECONDS, not per scrape).",
      labelNames: ['state'],
      registers,
    });
    // Current and peak tree memory are read at scrape time: one /proc walk per scrape. prom-client
    // calls collect() with the gauge as `this`, so these two reach the metrics object through
    // functions bound here rather than an alias of `this`.
    const notePeak = (bytes: number) => this.notePeak(bytes);
    const peakTree = () => this.peakTree;
    new Gauge({
      name: 'stickerkey_process_tree_resident_memory_bytes',
      help: 'RSS of this process and its ffmpeg children, what a container limit counts.',
      registers,
      collect() {
        const tree = sampleProcessTree().treeRss;
        notePeak(tree);
        this.set(tree);
      },
    });
    new Gauge({
      name: 'stickerkey_process_tree_resident_memory_peak_bytes',
      help: 'Highest process-tree RSS seen since start (scrapes and job peaks).',
      registers,
      collect() {
        this.set(peakTree());
      },
    });
    const gate = options.gate;
    if (gate) {
      new Gauge({
        name: 'stickerkey_memory_budget_bytes',
        help: 'MEMORY_BUDGET_MB: the process tree memory admission keeps predicted peaks under.',
        registers,
        collect() {
          this.set(gate().budget);
        },
      });
      new Gauge({
        name: 'stickerkey_memory_baseline_bytes',
        help: 'What the idle process holds (re-measured between jobs): the part of the budget no job can have.',
        registers,
        collect() {
          this.set(gate().baseline);
        },
      });
      new Gauge({
        name: 'stickerkey_memory_admitted_bytes',
        help: 'Predicted memory of the jobs admitted now.',
        registers,
        collect() {
          this.set(gate().admitted);
        },
      });
    }
  }

  notePeak(bytes: number): void {
    if (bytes > this.peakTree) this.peakTree = bytes;
  }

  completed(job: JobObservation): void {
    const labels = { format: job.format };
    this.jobsCompleted.inc(labels);
    this.jobDuration.observe(labels, job.wallSeconds);
    this.jobFps.observe(labels, job.framesPerSecond);
    this.predictedMemory.observe(labels, job.predictedBytes);
    const measured = Math.max(0, job.peakTreeRss - job.baselineBytes);
    this.measuredMemory.observe(labels, measured);
    if (job.predictedBytes > 0) this.memoryRatio.observe(labels, measured / job.predictedBytes);
    this.notePeak(job.peakTreeRss);
  }

  failed(code: string): void {
    this.jobsFailed.inc({ code });
  }

  setQueueCounts(counts: Partial<Record<string, number>>): void {
    for (const state of QUEUE_STATES) this.queueJobs.set({ state }, counts[state] ?? 0);
  }
}

export interface Readiness {
  ready: boolean;
  /** Why not ready (or what is fine), for people reading the probe's body. */
  reason: string;
}

export interface OpsServerOptions {
  port: number;
  host?: string;
  metrics: WorkerMetrics;
  readiness: () => Promise<Readiness>;
}

export interface OpsServer {
  readonly server: Server;
  /** Resolves with the bound address once listening (rejects if the port is taken). */
  readonly listening: Promise<AddressInfo>;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** The /metrics, /healthz and /readyz server. */
export function startOpsServer(options: OpsServerOptions): OpsServer {
  const startedAt = Date.now();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n');
    if (path === '/metrics') return send(res, 200, options.metrics.registry.contentType, await options.metrics.registry.metrics());
    // Answering at all proves the event loop turns; the body says for how long it has.
    if (path === '/healthz')
      return send(res, 200, 'application/json', `${JSON.stringify({ status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) })}\n`);
    if (path === '/readyz') {
      const readiness = await options.readiness();
      return send(
        res,
        readiness.ready ? 200 : 503,
        'application/json',
        `${JSON.stringify({ status: readiness.ready ? 'ready' : 'not ready', reason: readiness.reason })}\n`,
      );
    }
    send(res, 404, 'text/plain', 'not found: /metrics, /healthz or /readyz\n');
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => send(res, 500, 'text/plain', `${error.message}\n`));
  });
  // Probes keep connections alive; close() must not wait on them.
  server.keepAliveTimeout = 5000;
  const listening = new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
  // A scrape server must never keep the process alive on its own.
  server.unref();
  return {
    server,
    listening,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
