/**
 * The replay loop: for each case, `repeat` times, our pipeline in a fresh Node child and the
 * ffmpeg references right after it (same clip, same settings, same moment: drift in the
 * machine's load hits both and cancels in the ratios). A case whose batch is too noisy to
 * judge is rerun, up to `maxReruns` times.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ffmpegBinary, ffprobeBinary, probe, type FrameSize } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import type { BenchCase } from './cases.js';
import type { ChildJob, ChildResult } from './child.js';
import { gateCase, overall, type GateThresholds } from './gates.js';
import type { Baseline } from './baseline.js';
import { measureTree } from './measure.js';
import { countFrames, makeReferenceInputs, paddingFor, pipeCommand, sampleScreenColor, singleArgs, filtergraphArgs, type ReferenceJob } from './references.js';
import { summarize } from './summary.js';
import type { CaseSummary, ReferenceKind, RunMeasure } from './types.js';
import { mb } from './stats.js';

/** dist/child.js, also when this module runs from src/ under vitest. */
export const childScript = fileURLToPath(new URL('../dist/child.js', import.meta.url));

export interface RunnerOptions {
  repeat: number;
  maxReruns: number;
  references: readonly ReferenceKind[];
  thresholds: GateThresholds;
  /** When set, reruns decide inconclusive against it; otherwise only the budget is judged. */
  baseline: Baseline | null;
  /** STICKERKEY_BENCH_INJECT for our child (undefined: inherit the environment's). */
  inject?: string;
  workDir?: string;
  log?: (line: string) => void;
  intervalMs?: number;
}

interface Prepared {
  fixture: { video: string; width: number; height: number; fps: number; frames: number };
  sourceSeconds: number;
  screenColor: string;
  referenceInputs: Map<string, { map: string; texture: string }>;
}

const MB = (b: number) => mb(b).toFixed(0);

export class Runner {
  readonly measures: RunMeasure[] = [];
  private readonly log: (line: string) => void;
  private workDir = '';

  constructor(private readonly options: RunnerOptions) {
    this.log = options.log ?? ((line) => console.log(line));
  }

  async runCases(cases: readonly BenchCase[]): Promise<CaseSummary[]> {
    this.workDir = this.options.workDir ?? join(os.tmpdir(), `stickerkey-bench-${process.pid}`);
    await mkdir(this.workDir, { recursive: true });
    const summaries: CaseSummary[] = [];
    try {
      for (const c of cases) summaries.push(await this.runCase(c));
    } finally {
      if (!this.options.workDir) await rm(this.workDir, { recursive: true, force: true });
    }
    return summaries;
  }

  async runCase(c: BenchCase): Promise<CaseSummary> {
    const { repeat, maxReruns, thresholds, baseline } = this.options;
    const fixture = await ensureFixture({ screen: c.screen, height: c.height, seconds: c.seconds, ...(c.gop === undefined ? {} : { gop: c.gop }) });
    const prepared: Prepared = {
      fixture,
      sourceSeconds: fixture.frames / fixture.fps,
      screenColor: await sampleScreenColor(fixture.video),
      referenceInputs: new Map(),
    };
    const references = c.refs ?? this.options.references;
    this.log(`▶ ${c.id}: ${fixture.width}x${fixture.height}, ${fixture.frames} source frames, ${repeat} repeat(s)`);
    let summary: CaseSummary | undefined;
    for (let attempt = 1; ; attempt++) {
      const batch: RunMeasure[] = [];
      for (let r = 1; r <= repeat; r++) {
        const ours = await this.runOurs(c, prepared, attempt, r);
        batch.push(ours.measure);
        // A refused job has no canvas to match, and nothing to compare.
        if (ours.canvas) for (const kind of references) batch.push(await this.runReference(kind, c, prepared, ours.canvas, attempt, r));
      }
      this.measures.push(...batch);
      summary = summarize(c, batch, prepared.sourceSeconds, attempt);
      const rows = gateCase(summary, baseline, thresholds);
      if (overall(rows) !== 'inconclusive') break;
      const noisy = rows.filter((row) => row.status === 'inconclusive').map((row) => `${row.metric} spread ${(row.spread * 100).toFixed(0)}%`);
      if (attempt > maxReruns) {
        this.log(`  ${c.id}: still inconclusive after ${attempt} batches (${noisy.join(', ')})`);
        break;
      }
      this.log(`  ${c.id}: inconclusive (${noisy.join(', ')}), rerunning (batch ${attempt + 1} of at most ${maxReruns + 1})`);
    }
    const s = summary;
    if (s.refused) {
      this.log(`✔ ${c.id}: refused [${s.refused.code}] after ${s.wallSeconds.toFixed(2)} s, peak tree ${s.peakTreeMb.toFixed(0)} MB: ${s.refused.message}`);
      return s;
    }
    this.log(
      `✔ ${c.id}: ${s.frames} frames, ${s.fps.toFixed(2)} fps, ${s.sourceSecondsPerSecond.toFixed(2)} src-s/s, ` +
        `peak tree ${s.peakTreeMb.toFixed(0)} MB (Node ${s.peakNodeMb.toFixed(0)} MB)` +
        (s.timeRatio.pipe ? `, time x${s.timeRatio.pipe.toFixed(2)} of decode+encode` : '') +
        (s.timeRatio.filtergraph ? `, x${s.timeRatio.filtergraph.toFixed(2)} of filtergraph` : '') +
        `, ${s.cpuPerOutputSecond.toFixed(2)} CPU s per output s, set-up ${(s.setupShare * 100).toFixed(1)}% of wall`,
    );
    return s;
  }

  private async runOurs(c: BenchCase, prepared: Prepared, attempt: number, repeat: number): Promise<{ measure: RunMeasure; canvas: FrameSize | null }> {
    const base = join(this.workDir, `ours-${c.id}-${attempt}-${repeat}`);
    const job: ChildJob = {
      input: prepared.fixture.video,
      output: `${base}.${c.format}`,
      posterize: c.posterize,
      format: c.format,
      resultPath: `${base}.result.json`,
      jobId: `bench-${c.id}`,
      progressEvery: 0,
      ...(c.pipeline ? { pipeline: { ...c.pipeline } } : {}),
    };
    await writeFile(`${base}.job.json`, JSON.stringify(job));
    const env = { ...process.env };
    if (this.options.inject !== undefined) env.STICKERKEY_BENCH_INJECT = this.options.inject;
    const ours = onCpus(c, process.execPath, [childScript, `${base}.job.json`]);
    const m = await measureTree(ours.command, ours.args, { env, intervalMs: this.options.intervalMs, rootLabel: 'node' });
    if (m.code !== 0) {
      throw new Error(
        `Expected the bench child for ${c.id} to exit with 0 but it exited with ${m.code ?? m.signal}: ${m.stderr.trim().split('\n').slice(-8).join('\n')}`,
      );
    }
    const result = JSON.parse(await readFile(job.resultPath, 'utf8')) as ChildResult;
    if (result.refused) return { measure: this.refusedMeasure(c, result, m, attempt, repeat), canvas: null };
    const outputBytes = (await stat(job.output)).size;
    await rm(job.output, { force: true });
    const p = result.pipeline!;
    const offset = result.pipelineStartedAt - m.spawnedAt;
    const milestones = p.timeline
      .filter((s) => s.label !== undefined)
      .map((s) => ({ t: Math.round(s.t + offset), label: s.label!, treeRss: s.treeRss, processRss: s.processRss }));
    const nodeHwm = Math.max(result.nodeHwm, m.rootHwm);
    const measure: RunMeasure = {
      kind: 'ours',
      caseId: c.id,
      attempt,
      repeat,
      frames: p.frames,
      wallSeconds: p.wallSeconds,
      processWallSeconds: m.wallSeconds,
      cpuSeconds: Number.isFinite(m.cpuSeconds) ? m.cpuSeconds : p.cpuSeconds,
      fps: p.frames / p.wallSeconds,
      sourceSecondsPerSecond: prepared.sourceSeconds / p.wallSeconds,
      outputSeconds: p.frames / p.fps,
      outputBytes,
      // A core without setupSeconds (older branch): unknown, not zero.
      setupSeconds: typeof p.setupSeconds === 'number' ? p.setupSeconds : null,
      canvas: { width: p.width, height: p.height },
      ...('ffmpeg' in p ? { ffmpeg: (p as { ffmpeg?: unknown }).ffmpeg } : {}),
      peakNodeRss: Math.max(m.peakRootRss, nodeHwm, p.peakProcessRss),
      peakTreeRss: Math.max(m.peakTreeRss, p.peakTreeRss),
      // Node's own peak plus each ffmpeg child's maxrss (-benchmark): an upper bound.
      hwmSum: nodeHwm + p.decoderMaxRss + p.encoderMaxRss,
      processes: [
        { pid: m.processes[0]!.pid, command: 'node', hwm: nodeHwm }, // the measured child itself comes first
        ...m.processes.slice(1),
      ],
      samples: m.samples,
      milestones,
      ...(result.injected ? { injected: result.injected } : {}),
    };
    this.log(
      `  [ours ${repeat}/${this.options.repeat}] ${c.id}: ${measure.frames} frames, ${measure.fps.toFixed(2)} fps, ` +
        `peak tree ${MB(measure.peakTreeRss)} MB, Node ${MB(measure.peakNodeRss!)} MB${measure.injected ? ` (inject ${measure.injected})` : ''}`,
    );
    return { measure, canvas: { width: p.width, height: p.height } };
  }

  /** A job the pipeline refused: an outcome when the case allows LIMIT_EXCEEDED, otherwise the run failed. */
  private refusedMeasure(c: BenchCase, result: ChildResult, m: Awaited<ReturnType<typeof measureTree>>, attempt: number, repeat: number): RunMeasure {
    const refused = result.refused!;
    if (!(c.mayRefuse && refused.code === 'LIMIT_EXCEEDED')) {
      throw new Error(`Expected the bench child for ${c.id} to finish the job but the pipeline failed with [${refused.code}] ${refused.message}`);
    }
    const nodeHwm = Math.max(result.nodeHwm, m.rootHwm);
    this.log(`  [ours ${repeat}/${this.options.repeat}] ${c.id}: refused [${refused.code}] ${refused.message}`);
    return {
      kind: 'ours',
      caseId: c.id,
      attempt,
      repeat,
      frames: 0,
      wallSeconds: m.wallSeconds,
      processWallSeconds: m.wallSeconds,
      cpuSeconds: m.cpuSeconds,
      fps: 0,
      sourceSecondsPerSecond: 0,
      outputSeconds: 0,
      outputBytes: 0,
      setupSeconds: null,
      refused,
      peakNodeRss: Math.max(m.peakRootRss, nodeHwm),
      peakTreeRss: m.peakTreeRss,
      hwmSum: m.processes.reduce((sum, p) => sum + p.hwm, 0),
      processes: m.processes,
      samples: m.samples,
      milestones: [],
    };
  }

  private async referenceJob(c: BenchCase, prepared: Prepared, canvas: FrameSize, output: string): Promise<ReferenceJob> {
    const source = await probe(prepared.fixture.video);
    const key = `${canvas.width}x${canvas.height}`;
    let inputs = prepared.referenceInputs.get(key);
    if (!inputs) {
      inputs = { map: join(this.workDir, `map-${key}.png`), texture: join(this.workDir, `texture-${key}.png`) };
      await makeReferenceInputs(canvas, inputs.map, inputs.texture);
      prepared.referenceInputs.set(key, inputs);
    }
    return {
      input: prepared.fixture.video,
      output,
      format: c.format,
      posterize: c.posterize,
      source,
      pad: paddingFor(source, canvas),
      screen: c.screen,
      screenColor: prepared.screenColor,
      displacementMap: inputs.map,
      texture: inputs.texture,
    };
  }

  private async runReference(kind: ReferenceKind, c: BenchCase, prepared: Prepared, canvas: FrameSize, attempt: number, repeat: number): Promise<RunMeasure> {
    const output = join(this.workDir, `${kind}-${c.id}-${attempt}-${repeat}.${c.format}`);
    const job = await this.referenceJob(c, prepared, canvas, output);
    const unpinned = kind === 'pipe' ? pipeCommand(job) : { command: ffmpegBinary(), args: kind === 'single' ? singleArgs(job) : filtergraphArgs(job) };
    const { command, args } = onCpus(c, unpinned.command, unpinned.args);
    // The references' ffmpeg runs exactly as ours does (binary, arguments and our environment as
    // it is), so that only the work between decode and encode differs.
    const m = await measureTree(command, args, { intervalMs: this.options.intervalMs, rootLabel: kind === 'pipe' ? 'sh' : 'ffmpeg' });
    if (m.code !== 0) {
      throw new Error(
        `Expected the ${kind} reference for ${c.id} to exit with 0 but it exited with ${m.code ?? m.signal}: ${m.stderr.trim().split('\n').slice(-8).join('\n')}`,
      );
    }
    const frames = await countFrames(output, ffprobeBinary());
    const outputBytes = (await stat(output)).size;
    await rm(output, { force: true });
    const measure: RunMeasure = {
      kind,
      caseId: c.id,
      attempt,
      repeat,
      frames,
      wallSeconds: m.wallSeconds,
      processWallSeconds: m.wallSeconds,
      cpuSeconds: m.cpuSeconds,
      fps: frames / m.wallSeconds,
      sourceSecondsPerSecond: prepared.sourceSeconds / m.wallSeconds,
      outputSeconds: frames / c.posterize,
      outputBytes,
      setupSeconds: null,
      peakNodeRss: null,
      peakTreeRss: m.peakTreeRss,
      hwmSum: m.processes.reduce((sum, p) => sum + p.hwm, 0),
      processes: m.processes,
      samples: m.samples,
      milestones: [],
    };
    this.log(`  [${kind} ${repeat}/${this.options.repeat}] ${c.id}: ${frames} frames, ${measure.fps.toFixed(2)} fps, peak tree ${MB(measure.peakTreeRss)} MB`);
    return measure;
  }
}

let firstCpu: string | null | undefined;

/**
 * `command args` pinned to one CPU when the case asks for it (BenchCase.cpus): `taskset` on the
 * first CPU this process may use, which every child inherits, so Node sees one core (the stack
 * runs in-line) and ffmpeg takes one thread, as in a 1-CPU container. A case that cannot be
 * pinned (no taskset: not Linux) is refused rather than measured as something else.
 */
export function onCpus(c: Pick<BenchCase, 'id' | 'cpus'>, command: string, args: readonly string[]): { command: string; args: string[] } {
  if (c.cpus !== 1) return { command, args: [...args] };
  firstCpu ??= (() => {
    if (spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
    const allowed = /^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return allowed?.[1] ?? null;
  })();
  if (firstCpu === null) throw new Error(`Expected taskset (util-linux) to pin case ${c.id} to one CPU but it is not available here`);
  return { command: 'taskset', args: ['--cpu-list', firstCpu, command, ...args] };
}
