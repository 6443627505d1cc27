// The frames of a fixture clip as RGBA bytes, for the hash benches (output-hashes.mjs,
// keyer-hashes.mjs): the first `frames` frames, optionally only `cropHeight` rows from the middle,
// padded with transparent black by `padX` and `padY` on each side (the canvas margins the pipeline
// gives the stages). One home for that decode, so both benches read the same frames the same way;
// and the held-out keying clips and keyer-cost.mjs's bench frames, for keyer-hashes.mjs and
// keyer-cost.mjs.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** { width, height, frames: Uint8Array[] } of `path`, decoded by `ffmpeg` (its ffprobe reads the size). */
export function decodeFixtureFrames(ffmpeg, path, { frames, padX = 0, padY = 0, cropHeight }) {
  const probe = execFileSync(
    ffmpeg.replace(/ffmpeg$/, 'ffprobe'),
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', path],
    { encoding: 'utf8' },
  );
  const [w, h0] = probe.trim().split(',').map(Number);
  const h = cropHeight ?? h0;
  const width = w + 2 * padX;
  const height = h + 2 * padY;
  const crop = h === h0 ? '' : `crop=${w}:${h}:0:${Math.floor((h0 - h) / 2)},`;
  const raw = execFileSync(
    ffmpeg,
    [
      '-v',
      'error',
      '-i',
      path,
      '-vf',
      `format=rgba,${crop}pad=${width}:${height}:${padX}:${padY}:color=black@0`,
      '-frames:v',
      String(frames),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      'pipe:1',
    ],
    { maxBuffer: 1 << 30 },
  );
  const bytes = width * height * 4;
  const out = [];
  for (let i = 0; i < frames; i++) out.push(raw.subarray(i * bytes, (i + 1) * bytes).slice());
  return { width, height, frames: out };
}

/**
 * The held-out clips of bench:keying (the keying family's held-out set, on a green and on a blue
 * screen, `frames` frames each: half moving, half held) at `height`, generated into the fixtures
 * cache by the repository at `root` and decoded as the pipeline decodes them (the bench's
 * decodeAsPipeline). [{ name, width, height, frames: Uint8Array[] }]
 */
export async function decodeHeldoutClips(root, height, frames = 12) {
  const load = (path) => import(pathToFileURL(join(root, path)).href);
  const { KEYING_CLIPS, ensureHeldoutClip } = await load('fixtures/dist/index.js');
  const { probe } = await load('packages/core/dist/index.js');
  const { decodeAsPipeline } = await load('packages/bench/dist/keying/keyers.js');
  const out = [];
  for (const clip of KEYING_CLIPS.filter((c) => c.set === 'heldout')) {
    for (const screen of ['green', 'blue']) {
      const made = await ensureHeldoutClip({ clip, screen, height, frames });
      const list = await decodeAsPipeline(await probe(made.video), frames);
      out.push({ name: `${clip.id} ${screen}`, width: made.width, height: made.height, frames: list });
    }
  }
  return out;
}

/**
 * keyer-cost.mjs's bench frames at width x height (12 RGBA frames: 8 moving, 4 held with noise),
 * cached in the temp directory because rendering them costs more than keying them; `render`
 * makes them when the cache has none, and null without it (keyer-hashes.mjs hashes them only
 * where keyer-cost.mjs cached them).
 */
export function benchFrames(width, height, render) {
  const cache = join(tmpdir(), `keyer-cost-frames-${width}x${height}.bin`);
  const bytes = width * height * 4;
  if (existsSync(cache)) {
    const all = readFileSync(cache);
    return Array.from({ length: 12 }, (_, k) => new Uint8Array(all.buffer, all.byteOffset + k * bytes, bytes).slice());
  }
  if (!render) return null;
  const frames = render();
  writeFileSync(cache, Buffer.concat(frames));
  return frames;
}
