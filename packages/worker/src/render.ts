/**
 * One job, start to end: validate, build the effect stack, run core's pipeline. The CLI, the demo
 * and the queue worker all go through here, so a job behaves the same wherever it runs.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  renderForTarget,
  runPipeline,
  type PipelineOptions,
  type PipelineResult,
  type ProbeLimits,
  type Progress,
  type TargetRenderResult,
} from '@stickerkey/core';
import { resolveJob, type Job, type ResolvedJob } from './job.js';
import { buildStages } from './stages.js';

export interface RenderOptions {
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** Receives the memory monitor's seed-format lines (`JOB #1: 💾 Memory Usage at ...`). */
  log?: (line: string) => void;
  limits?: Partial<ProbeLimits>;
  /** Bytes the whole process tree may reach (core's default: 1536 MB); a job predicted above it is refused before any work. */
  memoryBudget?: number;
  /** Scale the canvas down until the predicted peak fits memoryBudget, rather than refuse. */
  fitMemory?: boolean;
  /** Called once the job is validated and the stages built, before the pipeline starts. */
  onStart?: (job: ResolvedJob) => void;
}

/** With a target: the platform, where the character was found, the crop and every encode of the byte budget (core's TargetRenderResult). */
export type TargetFigures = Omit<TargetRenderResult, keyof PipelineResult | 'outputBytes'>;

export interface RenderResult extends PipelineResult, Partial<TargetFigures> {
  /** Size of the output file in bytes. */
  outputBytes: number;
  job: ResolvedJob;
}

export async function renderJob(job: Job, options: RenderOptions = {}): Promise<RenderResult> {
  // Both of these throw synchronously on a bad setting: nothing has been opened or spawned yet.
  const resolved = resolveJob(job);
  const stages = buildStages(resolved.preset, resolved.effects);
  options.onStart?.(resolved);

  await mkdir(dirname(resolved.output), { recursive: true });
  const pipeline: PipelineOptions = {
    input: resolved.input,
    output: resolved.output,
    stages,
    posterize: resolved.posterize,
    holdFrames: resolved.hold,
    format: resolved.format,
    background: resolved.background,
    ...(resolved.threads > 0 ? { threads: resolved.threads } : {}),
    speed: resolved.speed,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.memoryBudget !== undefined ? { memoryBudget: options.memoryBudget } : {}),
    ...(options.fitMemory ? { fitMemory: true } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(resolved.jobId !== undefined ? { jobId: resolved.jobId } : {}),
  };
  // A target crops, scales and fits the budget around the same pipeline (core's target.ts).
  const result = resolved.target ? await renderForTarget({ ...pipeline, target: resolved.target, fit: resolved.fit }) : await runPipeline(pipeline);
  const { size } = await stat(result.output);
  return { ...result, outputBytes: size, job: resolved };
}
