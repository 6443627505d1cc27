/**
 * Issue 8's target table on figures measured here: a tiny real run (the committed 360p 2 s clip,
 * full stack, with the floor and filtergraph references) stands in for the target case, and a
 * run the pipeline refuses with LIMIT_EXCEEDED (a width limit below the clip's) stands in for
 * the 4K case. The verdicts are then checked against the numbers, and flipped by moving the
 * measured figures across their limits. Needs `pnpm build` (dist/child.js).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineCase } from '../src/cases.js';
import { defaultThresholds } from '../src/gates.js';
import { benchFfmpeg } from '../src/report.js';
import { writeReport, type BenchReport } from '../src/report.js';
import { Runner } from '../src/runner.js';
import { evaluateTargets, targetInputs, targetVerdict, type TargetRow } from '../src/targets.js';
import type { CaseSummary } from '../src/types.js';

const dir = mkdtempSync(join(os.tmpdir(), 'stickerkey-targets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const job = { height: 360, seconds: 2, screen: 'green', posterize: 12, format: 'webm' } as const;
const targetCase = defineCase({ ...job, refs: ['pipe', 'filtergraph'], role: 'target' });
const refusedCase = defineCase({ ...job, refs: ['pipe'], mayRefuse: true, role: 'big', pipeline: { limits: { maxWidth: 320 } }, variant: 'narrow' });

function runner() {
  return new Runner({ repeat: 1, maxReruns: 0, references: [], thresholds: defaultThresholds, baseline: null, workDir: join(dir, 'work'), log: () => {} });
}

let measured: CaseSummary;
let refused: CaseSummary;
beforeAll(async () => {
  const summaries = await runner().runCases([targetCase, refusedCase]);
  // Through JSON, as results.json holds them.
  [measured, refused] = JSON.parse(JSON.stringify(summaries)) as [CaseSummary, CaseSummary];
}, 240_000);

const byTarget = (rows: readonly TargetRow[], prefix: string) => {
  const row = rows.find((r) => r.target.startsWith(prefix));
  if (!row) throw new Error(`Expected a target row starting with ${prefix} but the rows were ${rows.map((r) => r.target).join('; ')}`);
  return row;
};

describe('a tiny real run', () => {
  it('measures what a 1-CPU user pays: CPU per output second, output bytes, set-up, references of the case', () => {
    expect(measured.refused).toBeNull();
    expect(measured.frames).toBe(24);
    expect(measured.outputSeconds).toBeCloseTo(2);
    expect(measured.outputBytes).toBeGreaterThan(1000);
    expect(measured.cpuPerOutputSecond).toBeCloseTo(measured.cpuSeconds / measured.outputSeconds);
    expect(measured.setupSeconds).toBeGreaterThan(0);
    expect(measured.setupSeconds).toBeLessThan(measured.wallSeconds);
    expect(Object.keys(measured.refs).sort()).toEqual(['filtergraph', 'pipe']);
    expect(measured.refs.pipe!.outputBytes).toBeGreaterThan(1000);
    expect(measured.floorCpuRatio).toBeCloseTo(measured.cpuSeconds / 24 / (measured.refs.pipe!.cpuSeconds / 24), 1);
  });

  it('records a LIMIT_EXCEEDED refusal as the outcome of a case that allows it, with no references', () => {
    expect(refused.id).toBe('360p-2s-green-p12-webm-narrow');
    expect(refused.refused).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(refused.refused!.message).toContain('320');
    expect(refused.frames).toBe(0);
    expect(refused.refs).toEqual({});
  });

  it('fails the run when a case that does not allow it is refused', async () => {
    const strict = defineCase({ ...job, pipeline: { limits: { maxWidth: 320 } }, variant: 'strict', refs: [] });
    await expect(runner().runCases([strict])).rejects.toThrow(/finish the job but the pipeline failed with \[LIMIT_EXCEEDED\]/);
  });
});

describe('evaluateTargets on the measured figures', () => {
  const inputs = () => ({ target: measured, long: measured, small: measured, big: [refused] });

  it('judges every target from the numbers it shows', () => {
    const rows = evaluateTargets(inputs(), 1536);
    const g = measured.refs.filtergraph!;
    const f = measured.refs.pipe!;
    const expectRow = (prefix: string, value: number, limit: number, strict = false) => {
      const row = byTarget(rows, prefix);
      expect(row.value).toBeCloseTo(value, 6);
      expect(row.limitValue).toBeCloseTo(limit, 6);
      expect(row.status).toBe((strict ? value < limit : value <= limit) ? 'met' : 'not met');
    };
    expectRow('wall ≤ 0.5× filtergraph', measured.wallSeconds / g.wallSeconds, 0.5);
    expectRow('wall ≤ 1.5× floor', measured.wallSeconds / f.wallSeconds, 1.5);
    expectRow('tree CPU ≤ 0.5× filtergraph', measured.cpuSeconds / g.cpuSeconds, 0.5);
    expectRow('set-up < 5% of wall', measured.setupShare, 0.05, true);
    expectRow('peak tree RSS ≤ floor + 250 MB', measured.peakTreeMb, f.peakTreeMb + 250);
    expectRow("720p on one CPU: CPU s below the clip's duration", measured.cpuSeconds, 2, true);
    // Its own twin: exactly 1x, within 10%.
    expect(byTarget(rows, '60 s: peak tree RSS').status).toBe('met');
    expect(byTarget(rows, '60 s: CPU s per output s').status).toBe('met');
    const big = byTarget(rows, '4K 3 s: refused');
    expect(big.status).toBe('met');
    expect(big.measured).toContain('LIMIT_EXCEEDED');
    expect(targetVerdict(rows)).toMatch(/^targets: \d+ of 9 met$/);
  });

  it('flips a verdict when a figure crosses its limit', () => {
    const g = measured.refs.filtergraph!;
    const at = (wall: number, setup: number): CaseSummary => ({ ...measured, wallSeconds: wall, setupShare: setup / wall, setupSeconds: setup });
    const fast = evaluateTargets({ ...inputs(), target: at(0.4 * g.wallSeconds, 0.01 * g.wallSeconds) }, 1536);
    expect(byTarget(fast, 'wall ≤ 0.5× filtergraph').status).toBe('met');
    expect(byTarget(fast, 'set-up < 5% of wall').status).toBe('met');
    const slow = evaluateTargets({ ...inputs(), target: at(0.6 * g.wallSeconds, 0.06 * 0.6 * g.wallSeconds) }, 1536);
    expect(byTarget(slow, 'wall ≤ 0.5× filtergraph').status).toBe('not met');
    expect(byTarget(slow, 'set-up < 5% of wall').status).toBe('not met');
    const grown = evaluateTargets({ ...inputs(), long: { ...measured, peakTreeMb: measured.peakTreeMb * 1.2 } }, 1536);
    expect(byTarget(grown, '60 s: peak tree RSS').status).toBe('not met');
    const overBudget = evaluateTargets({ ...inputs(), big: [{ ...measured, peakTreeMb: 2500 }] }, 1536);
    expect(byTarget(overBudget, '4K 3 s').status).toBe('not met');
    const fitted = evaluateTargets({ ...inputs(), big: [{ ...measured, peakTreeMb: 900 }] }, 1536);
    expect(byTarget(fitted, '4K 3 s').status).toBe('met');
  });

  it('says what it could not judge instead of passing it', () => {
    const rows = evaluateTargets({ target: { ...measured, refs: { pipe: measured.refs.pipe } }, big: [] }, 1536);
    expect(byTarget(rows, 'wall ≤ 0.5× filtergraph')).toMatchObject({ status: 'not measured', measured: 'no filtergraph reference' });
    expect(byTarget(rows, '60 s: peak tree RSS')).toMatchObject({ status: 'not measured', measured: 'case not run' });
    expect(byTarget(rows, '4K 3 s')).toMatchObject({ status: 'not measured' });
    expect(byTarget(rows, '720p')).toMatchObject({ status: 'not measured' });
    const refusedTarget = evaluateTargets({ target: refused, big: [] }, 1536);
    expect(byTarget(refusedTarget, 'wall ≤ 1.5× floor').status).toBe('not met');
  });

  it('writes the table and the ffmpeg used into summary.md', async () => {
    const summaries = [measured, refused];
    const targets = evaluateTargets(targetInputs(summaries), 1536);
    const ffmpeg = benchFfmpeg();
    const report: BenchReport = {
      createdAt: 'now',
      machine: { node: 'v20', cpus: 2, cpuModel: 'cpu', totalMemMb: 1 },
      mode: 'target',
      options: {},
      thresholds: defaultThresholds,
      summaries,
      gates: [],
      verdict: targetVerdict(targets),
      micro: [],
      runs: [],
      ffmpeg,
      targets,
    };
    await writeReport(join(dir, 'results/'), report);
    const md = readFileSync(join(dir, 'results', 'summary.md'), 'utf8');
    expect(md).toContain(`ffmpeg ${ffmpeg.version} (${ffmpeg.source}: \`${ffmpeg.path}\`)`);
    expect(md).toContain('## Targets (issue 8; reported, not gated)');
    expect(md).toMatch(/\| 4K 3 s: refused \(LIMIT_EXCEEDED\) or fitted under 1536 MB \(360p-2s-green-p12-webm-narrow\) \| refused \[LIMIT_EXCEEDED\]/);
    expect(md).toContain('| 360p-2s-green-p12-webm-narrow | stickerkey (refused [LIMIT_EXCEEDED]) |');
  });
});
