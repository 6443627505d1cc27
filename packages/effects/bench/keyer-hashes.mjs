// SHA-256 of chroma-key's own output (pixels and alphaBounds) over sequences of frames through one
// stage: the fixture clips with option variants (each a code path), padded to odd sizes, cut to
// 5 and 1 rows, with a gap in frame.index; keyer-cost.mjs's frames at 720p and 1080p (moving,
// then held with noise: both cases of the temporal pass) when cached; zoomed close-ups; the
// held-out keying clips at 360p. A change
// to the keyer that must not change its output must leave every line as it was. Takes a
// repository root, like keyer-cost.mjs, so that two builds compare without a checkout:
//   node packages/effects/bench/keyer-hashes.mjs /work/main > before.txt
//   node packages/effects/bench/keyer-hashes.mjs . | diff before.txt -
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchFrames, decodeFixtureFrames, decodeHeldoutClips } from './fixture-frames.mjs';

const root = process.argv[2] ?? '.';
const load = (p) => import(pathToFileURL(join(root, p)).href);
const core = await load('packages/core/dist/index.js');
const { chromaKey } = await load('packages/effects/dist/chroma-key.js');
const { renderCloseUp, renderFrame } = await load('fixtures/dist/index.js');
const ffmpeg = core.ffmpegBinary();

/** `frames` frames of a fixture clip, `cropH` rows from its middle, padded transparent by padX, padY. */
function decode(clip, frames, padX, padY, cropH) {
  return decodeFixtureFrames(ffmpeg, join(root, 'fixtures/clips', clip), { frames, padX, padY, cropHeight: cropH });
}

async function run(label, { width, height, frames }, options, indices) {
  const stage = core.createStage(chromaKey, options);
  await stage.setup({
    size: { width, height },
    sampleFrames: async (n) => frames.slice(0, n).map((d, i) => ({ data: d.slice(), width, height, index: i, pts: i })),
  });
  const hash = createHash('sha256');
  const frame = { data: new Uint8Array(width * height * 4), width, height, index: 0, pts: 0 };
  for (let k = 0; k < indices.length; k++) {
    frame.data.set(frames[k % frames.length]);
    frame.index = indices[k];
    frame.alphaBounds = undefined;
    stage.process(frame);
    hash.update(frame.data);
    hash.update(JSON.stringify(frame.alphaBounds ?? null));
  }
  console.log(`${label} ${JSON.stringify(options)} ${hash.digest('hex').slice(0, 16)}`);
}

const variants = [
  {},
  { stabilize: false },
  { despill: 0 },
  { despillProtect: 0 },
  { choke: 2, feather: 1.5 },
  { choke: -3 },
  { screenBalance: 1, despillBias: 1 },
  { shadows: 0, similarity: 0.3, softness: 0.2 },
];
const seq = (n) => Array.from({ length: n }, (_, i) => i);
const gapped = [0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
for (const clip of ['green-360p-2s-24fps-g1.mp4', 'blue-360p-2s-24fps-g1.mp4']) {
  const plain = decode(clip, 16, 0, 0);
  for (const o of variants) await run(`${clip} 640x360`, plain, o, seq(16));
  await run(`${clip} 640x360 gaps`, plain, {}, gapped);
  const odd = decode(clip, 12, 13, 7, 333);
  await run(`${clip} odd`, odd, {}, seq(12));
  await run(`${clip} odd`, odd, { stabilize: false }, seq(12));
  await run(`${clip} odd`, odd, { choke: 1, feather: 2 }, seq(12));
  const tiny = decode(clip, 8, 0, 0, 5);
  await run(`${clip} 5 rows`, tiny, {}, seq(8));
  const tiny1 = decode(clip, 8, 0, 0, 1);
  await run(`${clip} 1 row`, tiny1, {}, seq(8));
  await run(`${clip} given`, plain, { screen: clip.startsWith('green') ? '#00ff00' : '#0000ff', localScreen: false }, seq(8));
}
// keyer-cost.mjs's frames (moving, then held with noise), at 720p and 1080p, where it cached them.
for (const [w, h] of [
  [1280, 720],
  [1920, 1080],
]) {
  const frames = benchFrames(w, h);
  if (!frames) continue;
  const clip = { width: w, height: h, frames };
  await run(`bench ${h}p`, clip, {}, seq(12));
  await run(`bench ${h}p`, clip, { stabilize: false }, seq(12));
  if (h === 1080) await run(`bench ${h}p`, clip, { despillProtect: 0, choke: 1 }, seq(12));
}
// Zoomed close-ups (more edges), blue and green.
for (const screen of ['green', 'blue']) {
  const w = 1280,
    h = 720;
  const frames = [];
  for (let k = 0; k < 6; k++) frames.push(renderCloseUp({ screen, width: w, height: h, fps: 24 }, 30 + k, 1.4));
  await run(`closeup ${screen} 1.4`, { width: w, height: h, frames }, {}, seq(6));
}
// The held-out keying clips at 360p (smoke, glass, strands: long runs of edges and strand pixels
// joined by the luma pass), from this script's own repository: a build that predates them is
// hashed on the same frames.
for (const clip of await decodeHeldoutClips(new URL('../../../', import.meta.url).pathname, 360)) {
  await run(`heldout ${clip.name} 360p`, clip, {}, seq(clip.frames.length));
}
// A small frame whose character fills it: more edges than the edge list holds (a 32nd of the pixels).
{
  const w = 160,
    h = 97;
  const frames = [];
  for (let k = 0; k < 4; k++) frames.push(renderFrame({ screen: 'green', width: w, height: h, fps: 24 }, 30 + k, new Uint8Array(w * h * 4)));
  await run(`full edge list ${w}x${h}`, { width: w, height: h, frames }, {}, seq(4));
}
