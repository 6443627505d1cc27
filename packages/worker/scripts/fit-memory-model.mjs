#!/usr/bin/env node
/**
 * Re-fits core's MEMORY_MODELS (packages/core/src/memory-model.ts) from real runs on this machine's
 * ffmpeg: prints what each run measured, the fitted coefficients, and how the committed model and
 * the fitted one predict each run. Figures, not assertions. Run after `pnpm build`, once per ffmpeg
 * (FFMPEG_PATH/FFPROBE_PATH pick it), and again whenever the encoder settings change:
 *
 *   FFMPEG_PATH=/usr/bin/ffmpeg FFPROBE_PATH=/usr/bin/ffprobe node packages/worker/scripts/fit-memory-model.mjs
 *   node packages/worker/scripts/fit-memory-model.mjs --heights 360,720 --formats webm,gif --sticker 360
 *
 * Each run is a fresh Node process (so one run's heap does not inflate the next one's figures):
 * preset `none` for every format and height gives the encoder's and the decoder's own high-water
 * marks (ffmpeg `-benchmark`: result.encoderMaxRss, decoderMaxRss); preset `sticker` to WebM gives
 * the Node side (the process's peak RSS above its idle RSS, less the frame pool). Clips are the
 * fixture generator's green-screen clips (STICKERKEY_FIXTURES_CACHE to share them between runs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MB = 1024 * 1024;
const { values: a } = parseArgs({
  options: {
    heights: { type: 'string', default: '360,720,1080,2160' },
    formats: { type: 'string', default: 'webm,mov,gif,mp4' },
    sticker: { type: 'string', default: '360,720,1080,2160' },
    seconds: { type: 'string', default: '2' },
    posterize: { type: 'string', default: '8' },
    headroom: { type: 'string', default: '1.15' },
    case: { type: 'string' },
  },
});

if (a.case) {
  // One run, in this fresh process: print its figures as one JSON line.
  const { runPipeline, sampleProcessTree, frameBytes, resolvePoolSize } = await import('@stickerkey/core');
  const { buildStages } = await import('../dist/index.js');
  const { ensureFixture } = await import('@stickerkey/fixtures');
  const c = JSON.parse(a.case);
  const fx = await ensureFixture({ screen: 'green', height: c.height, seconds: c.seconds });
  const stages = buildStages(c.preset, {});
  const dir = await mkdtemp(join(tmpdir(), 'stickerkey-fit-'));
  // Modules loaded, nothing rendered yet: what the process holds before the job.
  const idle = sampleProcessTree().processRss;
  try {
    const result = await runPipeline({
      input: fx.video,
      output: join(dir, `out.${c.format}`),
      stages,
      posterize: c.posterize,
      // Measure, do not refuse: the point is to see what the job really takes.
      memoryBudget: Number.MAX_SAFE_INTEGER,
    });
    const canvas = { width: result.width, height: result.height };
    console.log(
      JSON.stringify({
        ...c,
        source: `${fx.width}x${fx.height}`,
        canvas,
        frames: result.frames,
        idleMb: idle / MB,
        poolMb: (resolvePoolSize() * frameBytes(canvas)) / MB,
        decoderMb: result.decoderMaxRss / MB,
        encoderMb: result.encoderMaxRss / MB,
        processMb: result.peakProcessRss / MB,
        treeMb: result.peakTreeRss / MB,
        cpuSeconds: result.cpuSeconds,
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const { defaultMemoryModel, ffmpegBuild, predictJobMemory, ffmpegBinary } = await import('@stickerkey/core');
const MEMORY_MODEL = defaultMemoryModel();
const self = fileURLToPath(import.meta.url);
const ffmpeg = ffmpegBinary();
const version = execFileSync(ffmpeg, ['-version'], { encoding: 'utf8' }).split('\n')[0];
console.error(`ffmpeg: ${ffmpeg}: ${version} (the committed model: MEMORY_MODELS.${ffmpegBuild()})`);

const seconds = Number(a.seconds);
const posterize = Number(a.posterize) || null;
const list = (s) => s.split(',').filter(Boolean);
const cases = [
  ...list(a.heights).flatMap((h) => list(a.formats).map((format) => ({ height: Number(h), format, preset: 'none' }))),
  ...list(a.sticker).map((h) => ({ height: Number(h), format: 'webm', preset: 'sticker' })),
].map((c) => ({ ...c, seconds, posterize }));

const runs = [];
for (const c of cases) {
  const child = spawnSync(process.execPath, [self, '--case', JSON.stringify(c)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const line = child.stdout.trim().split('\n').at(-1);
  if (child.status !== 0 || !line) {
    console.error(`run ${JSON.stringify(c)} failed (exit ${child.status})`);
    continue;
  }
  const run = JSON.parse(line);
  runs.push(run);
  console.error(
    `${run.preset.padEnd(7)} ${run.format.padEnd(4)} ${`${run.canvas.width}x${run.canvas.height}`.padEnd(9)} decoder ${run.decoderMb.toFixed(0).padStart(5)}  encoder ${run.encoderMb.toFixed(0).padStart(5)}  process ${run.processMb.toFixed(0).padStart(5)} (idle ${run.idleMb.toFixed(0)})  tree ${run.treeMb.toFixed(0).padStart(5)} MB  cpu ${run.cpuSeconds.toFixed(1)} s`,
  );
}

const mp = (run) => (run.canvas.width * run.canvas.height) / 1e6;
/** Least squares y = base + slope * x. */
function fit(points) {
  const n = points.length;
  if (n === 0) return undefined;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const slope = sxx > 0 ? points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx : 0;
  return { base: my - slope * mx, slope };
}
const up5 = (n) => Math.max(0, Math.ceil(n / 5) * 5);
const headroom = Number(a.headroom);
/** The fit scaled by the headroom, rounded up, then its base raised until it covers every point. */
function rounded(points) {
  const f = fit(points);
  if (!f) return undefined;
  const slope = up5(Math.max(0, f.slope) * headroom);
  let baseMb = up5(Math.max(0, f.base) * headroom);
  for (const p of points) baseMb = Math.max(baseMb, up5(p.y - slope * p.x));
  return { baseMb, perMegapixelMb: slope };
}

const none = runs.filter((r) => r.preset === 'none');
const sticker = runs.filter((r) => r.preset === 'sticker');
const fitted = {
  processBaselineMb: up5(Math.max(0, ...runs.map((r) => r.idleMb)) * 1.1),
  perJob: rounded(sticker.map((r) => ({ x: mp(r), y: r.processMb - r.idleMb - r.poolMb }))) ?? MEMORY_MODEL.perJob,
  decoder: rounded(runs.map((r) => ({ x: mp(r), y: r.decoderMb }))) ?? MEMORY_MODEL.decoder,
  encoder: Object.fromEntries(
    list(a.formats).map((format) => [
      format,
      rounded(none.filter((r) => r.format === format).map((r) => ({ x: mp(r), y: r.encoderMb }))) ?? MEMORY_MODEL.encoder[format],
    ]),
  ),
};
if (fitted.perJob.threadMb === undefined) fitted.perJob = { ...fitted.perJob, threadMb: MEMORY_MODEL.perJob.threadMb };
const model = { ...MEMORY_MODEL, ...fitted, encoder: { ...MEMORY_MODEL.encoder, ...fitted.encoder } };

console.error('\nPredicted peak of the tree (process baseline + job) against the measured one, MB:');
console.error('run                         measured  committed  fitted');
for (const r of runs) {
  const stages = r.preset === 'sticker' ? (await import('../dist/index.js')).buildStages('sticker', {}) : [];
  const [w, h] = r.source.split('x').map(Number);
  const predict = (m) => (m.processBaselineMb * MB + predictJobMemory({ width: w, height: h }, stages, r.format, { inThread: false, model: m }).bytes) / MB;
  console.error(
    `${`${r.preset} ${r.format} ${r.canvas.width}x${r.canvas.height}`.padEnd(28)}${r.treeMb.toFixed(0).padStart(8)}${predict(MEMORY_MODEL).toFixed(0).padStart(11)}${predict(model).toFixed(0).padStart(8)}`,
  );
}
console.log(JSON.stringify({ ffmpeg, version, build: ffmpegBuild(), date: new Date().toISOString().slice(0, 10), runs, fitted }, null, 1));
