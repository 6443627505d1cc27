// CPU time per frame of chroma-key (default options) for several builds of the repository, run
// interleaved in one process so that a shared, loaded machine weighs on all of them alike:
//   node packages/effects/bench/keyer-cost.mjs [--height 720] [--rounds 12] [--frames bench|heldout] <repo root>[#options json]...
// Each root must be built (`pnpm build`).
// --frames bench (the default): the micro bench's fixture frame at zoom 1 (packages/effects/bench/
// sticker-stack.mjs), rendered by the first root: 8 frames of the character moving, then 4 of it
// holding with sensor noise (the temporal pass's two cases). The keyer's cost was tuned on it.
// --frames heldout: the held-out set of bench:keying (the keying family's four held-out clips on a
// green and on a blue screen, 12 frames each: 6 moving, 6 held; H.264 at the clip's bitrate for
// the height), which no cost change was tuned on, decoded as the pipeline decodes them; generated
// by this script's own repository (into the fixtures cache) and keyed by a stage per clip.
// A round keys every sequence with each build in turn (the order rotates per round); the first
// round is a warm-up. Prints each build's CPU ms per frame (process.cpuUsage around apply only)
// per round and its median, and the ratio of each build to the first.
// For instruction counts, one build alone under callgrind, instrumented only after the warm-up
// round (callgrind_control switches it on and off): the collected Ir over the rounds' frames.
//   KEYER_COST_CALLGRIND=1 valgrind --tool=callgrind --instr-atstart=no \
//     --callgrind-out-file=/tmp/cg.out node packages/effects/bench/keyer-cost.mjs --rounds 3 <root>
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { benchFrames, decodeHeldoutClips } from './fixture-frames.mjs';

const { values: args, positionals: roots } = parseArgs({
  allowPositionals: true,
  options: {
    height: { type: 'string', default: '720' },
    rounds: { type: 'string', default: '12' },
    options: { type: 'string', default: '{}' },
    frames: { type: 'string', default: 'bench' },
  },
});
if (roots.length === 0) throw new Error('Expected at least one repository root');
if (args.frames !== 'bench' && args.frames !== 'heldout') throw new Error(`Expected bench or heldout for --frames but received ${args.frames}`);
const height = Number(args.height);
const width = Math.round((height * 16) / 9 / 2) * 2;
const rounds = Number(args.rounds);
const load = (root, path) => import(pathToFileURL(join(root, path)).href);

/** The sequences keyed each round: { name, frames: RGBA Uint8Arrays } at width x height. */
const sequences =
  args.frames === 'heldout'
    ? await decodeHeldoutClips(new URL('../../../', import.meta.url).pathname, height)
    : [{ name: 'bench frame', frames: await renderBenchFrames() }];
const frameCount = sequences.reduce((n, q) => n + q.frames.length, 0);

/** The bench frame's sequence, rendered by the first root when not cached yet. */
async function renderBenchFrames() {
  const cached = benchFrames(width, height);
  if (cached) return cached;
  const { renderCloseUp } = await load(roots[0].split('#')[0], 'fixtures/dist/index.js');
  return benchFrames(width, height, () => {
    const spec = { screen: 'green', width, height, fps: 24 };
    const frames = [];
    for (let k = 0; k < 8; k++) frames.push(renderCloseUp(spec, 30 + k, 1));
    // Held: the last pose with noise of +-3 levels per channel (a fixed generator: same for every run).
    let seed = 12345;
    const noise = () => (((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % 7) - 3;
    for (let k = 0; k < 4; k++) {
      const f = frames[7].slice();
      for (let p = 0; p < f.length; p++) if ((p & 3) !== 3) f[p] = Math.max(0, Math.min(255, f[p] + noise()));
      frames.push(f);
    }
    return frames;
  });
}

const builds = [];
for (const arg of roots) {
  const [root, json = args.options] = arg.split('#');
  const core = await load(root, 'packages/core/dist/index.js');
  const { chromaKey } = await load(root, 'packages/effects/dist/chroma-key.js');
  const size = { width, height };
  const stages = [];
  for (const { frames } of sequences) {
    const stage = core.createStage(chromaKey, JSON.parse(json));
    await stage.setup({
      size,
      sampleFrames: async (count) => frames.slice(0, count).map((data, index) => ({ data: data.slice(), width, height, index, pts: index })),
    });
    stages.push(stage);
  }
  const frame = { data: new Uint8Array(width * height * 4), width, height, index: 0, pts: 0 };
  builds.push({ root: arg, stages, frame, ms: [] });
}

const callgrind = process.env.KEYER_COST_CALLGRIND === '1';
const instrument = (on) => execFileSync('callgrind_control', ['-i', on ? 'on' : 'off', String(process.pid)], { stdio: 'ignore' });
for (let round = 0; round < rounds; round++) {
  if (callgrind && round === 1) instrument(true);
  for (let j = 0; j < builds.length; j++) {
    const b = builds[(j + round) % builds.length];
    let cpu = 0;
    sequences.forEach(({ frames }, q) => {
      for (let k = 0; k < frames.length; k++) {
        b.frame.data.set(frames[k]);
        b.frame.index = k; // a gap from the last round's 11: the history starts afresh
        b.frame.alphaBounds = undefined;
        const c0 = process.cpuUsage();
        b.stages[q].process(b.frame);
        const c = process.cpuUsage(c0);
        cpu += c.user + c.system;
      }
    });
    if (round > 0 || rounds === 1) b.ms.push(cpu / frameCount / 1000);
  }
}
if (callgrind) instrument(false);
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(
  `chroma-key ${width}x${height}, ${sequences.length} sequence(s) (${sequences.map((q) => q.name).join(', ')}), ${frameCount} frames a round, ${rounds} rounds (first one a warm-up)`,
);
const base = median(builds[0].ms);
for (const b of builds) {
  const m = median(b.ms);
  console.log(`${b.root}: median ${m.toFixed(2)} ms CPU/frame (x${(m / base).toFixed(3)}); rounds ${b.ms.map((v) => v.toFixed(2)).join(' ')}`);
}
