/**
 * Proves the gate: a baseline measured here without injection, then `bench:check` with the
 * bench-only fault injection (an extra 300 MB held by a stage; a frame loop 3x slower) must
 * fail, and without injection must pass. Real runs: fixture clip, full stack, real ffmpeg.
 * Short on purpose (360p, 2 s, 2 repeats, decode|encode reference only); needs `pnpm build`.
 * The throughput gate reads CPU: our CPU per frame over the same repeat's floor (decode|encode).
 * On a clip this short, start-up (probe, sample frames, textures, the encoder's flush) is most of
 * the job now that the stack is fast, so the test slows the frame loop 3x, which no noise reaches.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Baseline } from '../src/baseline.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dir = mkdtempSync(join(os.tmpdir(), 'stickerkey-gate-'));
const baselinePath = join(dir, 'baseline.json');
const common = [
  '--quick',
  '--quick-seconds',
  '2',
  '--quick-height',
  '360',
  '--refs',
  'pipe',
  '--repeat',
  '2',
  '--max-reruns',
  '1',
  '--baseline',
  baselinePath,
  '--out',
  join(dir, 'results'),
];

function bench(command: string, inject?: string) {
  const env = { ...process.env };
  delete env.STICKERKEY_BENCH_INJECT;
  if (inject) env.STICKERKEY_BENCH_INJECT = inject;
  const r = spawnSync(process.execPath, [cli, command, ...common], { env, encoding: 'utf8', timeout: 280_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  // The gate's own verdict lines, so a CI log shows what was measured and decided.
  console.log(
    `bench ${command}${inject ? ` (STICKERKEY_BENCH_INJECT=${inject})` : ''}: exit ${r.status}\n${out
      .split('\n')
      .filter((l) => /^(\s+\[|\||verdict|✔)/.test(l))
      .join('\n')}`,
  );
  return { code: r.status, out };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench:check gate', () => {
  it('measures a baseline, fails on +300 MB and on a 3x slower frame loop, passes without injection', () => {
    const update = bench('update-baseline');
    expect(update.code, update.out).toBe(0);
    const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as Baseline;
    const entry = baseline.cases['360p-2s-green-p12-webm']!;
    expect(entry.peakTreeMb).toBeGreaterThan(50);
    expect(entry.floorCpuRatio).toBeGreaterThan(0);

    const memory = bench('check', 'memory:300');
    expect(memory.code, memory.out).toBe(1);
    expect(memory.out).toMatch(/\| 360p-2s-green-p12-webm \| peak tree MB \|.*\*\*FAIL\*\*/);

    const slow = bench('check', 'slow:3');
    expect(slow.code, slow.out).toBe(1);
    expect(slow.out).toMatch(/\| 360p-2s-green-p12-webm \| CPU s vs floor \|.*\*\*FAIL\*\*/);

    const clean = bench('check');
    expect(clean.code, clean.out).toBe(0);
    expect(clean.out).toMatch(/verdict: (pass|inconclusive)/);
  }, 900_000);
});
