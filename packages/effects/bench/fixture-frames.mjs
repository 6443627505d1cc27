// The frames of a fixture clip as RGBA bytes, for the hash benches (output-hashes.mjs,
// keyer-hashes.mjs): the first `frames` frames, optionally only `cropHeight` rows from the middle,
// padded with transparent black by `padX` and `padY` on each side (the canvas margins the pipeline
// gives the stages). One home for that decode, so both benches read the same frames the same way;
// and the held-out keying clips, for keyer-hashes.mjs and keyer-cost.mjs.
import { execFileSync } from 'node:child_process';
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
 * cache by the repository at `root` and decoded as the pipeline decodes them (core's
 * decodeFilter: the clip's own matrix and range). [{ name, width, height, frames: Uint8Array[] }]
 */
export async function decodeHeldoutClips(root, height, frames = 12) {
  const load = (path) => import(pathToFileURL(join(root, path)).href);
  const { KEYING_CLIPS, ensureHeldoutClip } = await load('fixtures/dist/index.js');
  const { probe, decodeFilter, ffmpegBinary } = await load('packages/core/dist/index.js');
  const out = [];
  for (const clip of KEYING_CLIPS.filter((c) => c.set === 'heldout')) {
    for (const screen of ['green', 'blue']) {
      const made = await ensureHeldoutClip({ clip, screen, height, frames });
      const source = await probe(made.video);
      const raw = execFileSync(
        ffmpegBinary(),
        ['-v', 'error', '-i', made.video, '-map', '0:v:0', '-an', '-vf', decodeFilter(source), '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'],
        { maxBuffer: 1 << 30 },
      );
      const bytes = made.width * made.height * 4;
      if (raw.length !== bytes * frames)
        throw new Error(`Expected ${frames} frames of ${made.width}x${made.height} from ${made.video} but received ${raw.length} bytes`);
      const list = [];
      for (let k = 0; k < frames; k++) list.push(raw.subarray(k * bytes, (k + 1) * bytes).slice());
      out.push({ name: `${clip.id} ${screen}`, width: made.width, height: made.height, frames: list });
    }
  }
  return out;
}
