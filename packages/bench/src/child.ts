/**
 * One replay in a fresh Node process (spawned by the runner, or by Clinic Doctor): build the full
 * sticker stack, run the pipeline, write the result as JSON. A fresh process per run keeps one
 * run's heap out of the next, and lets the parent measure the whole tree (this Node and its
 * ffmpeg children) from outside.
 *
 * Usage: node dist/child.js <job.json>
 */
import { readFile, writeFile } from 'node:fs/promises';
import { optimiseOnOwnThreads, runPipeline, type OutputFormat, type PipelineResult } from '@stickerkey/core';
import { createStickerStack } from '@stickerkey/effects';
import { injectStages, parseInjection } from './inject.js';
import { readHwm } from './proc.js';

export interface ChildJob {
  input: string;
  output: string;
  posterize: number;
  format: OutputFormat;
  resultPath: string;
  jobId: string;
  /** Print a progress line about every this many frames (0: never). */
  progressEvery?: number;
  /** Extra runPipeline options (the case's `pipeline`, e.g. `{ fitMemory: true }`), passed through as data. */
  pipeline?: Record<string, unknown>;
}

export interface ChildResult {
  /** Absent when the pipeline refused the job (then `refused` says why). */
  pipeline?: PipelineResult;
  /** A typed error (a stable `code`) the pipeline refused the job with; the runner decides whether the case allows it. */
  refused?: { code: string; message: string };
  /** Date.now() just before runPipeline: aligns the pipeline's timeline with the parent's samples. */
  pipelineStartedAt: number;
  /** VmHWM of this Node process, read just before exiting. */
  nodeHwm: number;
  injected: string | null;
  stages: string[];
}

async function main(): Promise<void> {
  // As the stickerkey CLI and the queue worker run their jobs (core's thread-compilation.ts): the
  // bench measures our processes as they ship.
  optimiseOnOwnThreads();
  const jobPath = process.argv[2];
  if (!jobPath) throw new Error('Expected the path of a job JSON file as the first argument but received nothing');
  const job = JSON.parse(await readFile(jobPath, 'utf8')) as ChildJob;
  const injectSpec = process.env.STICKERKEY_BENCH_INJECT || undefined;
  const stages = injectStages(createStickerStack({ preset: 'sticker' }), parseInjection(injectSpec));
  const every = job.progressEvery ?? 0;
  const pipelineStartedAt = Date.now();
  // Options a newer core may know (fitMemory, memoryBudget): spread in as data, not typed here.
  const extra = job.pipeline ?? {};
  let pipeline: PipelineResult | undefined;
  let refused: ChildResult['refused'];
  try {
    pipeline = await runPipeline({
      ...extra,
      input: job.input,
      output: job.output,
      stages,
      posterize: job.posterize,
      format: job.format,
      jobId: job.jobId,
      onProgress: every
        ? (p) => {
            if (p.stage === 'frames' && p.frame % every === 0) {
              process.stdout.write(`progress ${p.frame}/${p.totalFrames ?? '?'} ${p.fps.toFixed(1)} fps tree ${(p.treeRss / 2 ** 20).toFixed(0)} MB\n`);
            }
          }
        : undefined,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string') throw error;
    refused = { code, message: (error as Error).message };
  }
  const result: ChildResult = {
    ...(pipeline ? { pipeline } : {}),
    ...(refused ? { refused } : {}),
    pipelineStartedAt,
    nodeHwm: readHwm('self'),
    injected: injectSpec ?? null,
    stages: stages.map((s) => s.name),
  };
  await writeFile(job.resultPath, JSON.stringify(result));
}

main().catch((error: unknown) => {
  const e = error as { code?: string; message?: string; stack?: string };
  process.stderr.write(`bench child failed: ${e.code ? `[${e.code}] ` : ''}${e.stack ?? e.message ?? String(error)}\n`);
  process.exit(1);
});
