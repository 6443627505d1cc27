/**
 * Worker threads kept idle between jobs, for a later job that needs the same kind (stage threads
 * by their group of stages, the queue worker's render threads): a kept thread's isolate has the
 * job's code compiled already (stage-threads.ts and the worker's threaded-render.ts say what that
 * saves). An idle thread does not keep the process alive, is ended after a while, and one that
 * dies while idle is forgotten.
 */
import type { Worker } from 'node:worker_threads';

export class IdleThreads {
  /** By kind: each idle thread with the timer that ends it. */
  private readonly byKind = new Map<string, Map<Worker, NodeJS.Timeout>>();

  /** `create` makes a new thread when none of the kind is idle. */
  constructor(private readonly create: () => Worker) {}

  /** An idle thread of `kind` (it keeps the process alive again), or a new one. */
  take(kind: string): Worker {
    const idle = this.byKind.get(kind);
    for (const [worker, timer] of idle ?? []) {
      idle!.delete(worker);
      clearTimeout(timer);
      worker.ref();
      return worker;
    }
    const worker = this.create();
    // Between jobs nobody else listens: a thread that dies idle is just forgotten.
    worker.on('error', () => {});
    worker.on('exit', () => {
      for (const threads of this.byKind.values()) {
        clearTimeout(threads.get(worker));
        threads.delete(worker);
      }
    });
    return worker;
  }

  /** Keep `worker` for a later job of `kind` for `ms`; it is ended now when `ms` is 0 or `max` threads wait already. */
  keep(kind: string, worker: Worker, ms: number, max: number): void {
    if (ms <= 0 || this.size >= max) {
      void worker.terminate();
      return;
    }
    let idle = this.byKind.get(kind);
    if (!idle) this.byKind.set(kind, (idle = new Map<Worker, NodeJS.Timeout>()));
    worker.unref();
    const timer = setTimeout(() => {
      idle.delete(worker);
      void worker.terminate();
    }, ms);
    timer.unref();
    idle.set(worker, timer);
  }

  /** Threads waiting now, of every kind. */
  get size(): number {
    let n = 0;
    for (const threads of this.byKind.values()) n += threads.size;
    return n;
  }

  /** End every idle thread. */
  async close(): Promise<void> {
    const waiting = [...this.byKind.values()].flatMap((threads) => [...threads]);
    this.byKind.clear();
    await Promise.all(
      waiting.map(([worker, timer]) => {
        clearTimeout(timer);
        return worker.terminate();
      }),
    );
  }
}
