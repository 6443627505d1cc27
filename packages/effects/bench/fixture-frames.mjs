// The frames of a fixture clip as RGBA bytes, for the hash benches (output-hashes.mjs,
// keyer-hashes.mjs): the first `frames` frames, optionally only `cropHeight` rows from the middle,
// padded with transparent black by `padX` and `padY` on each side (the canvas margins the pipeline
// gives the stages). One home for that decode, so both benches read the same frames the same way.
import { execFileSync } from 'node:child_process';

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
