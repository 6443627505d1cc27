// SHA-256 of what each effect writes (pixels and alphaBounds) on keyed frames of the fixture clips,
// with and without alphaBounds, over the option variants that take different code paths.
// A refactor of an effect must leave every line unchanged: run it before and after and diff.
//   node packages/effects/bench/output-hashes.mjs > before.txt
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { decodeFixtureFrames } from './fixture-frames.mjs';
import { computeAlphaBounds, createFrame, createStage, ffmpegBinary } from '@stickerkey/core';
import { addBlend, alphaBevel, chromaKey, createStickerStack, dropShadow, multiplyBlend, outline, surfaceBevel } from '@stickerkey/effects';

const PAD = 48; // transparent canvas around the clip, as the pipeline pads for the stages' margins
const FRAMES = 8;
const clips = ['green-360p-2s-24fps-g1.mp4', 'blue-360p-2s-24fps-g1.mp4'];

const cases = [
  ['outline', outline, {}],
  ['outline soft', outline, { width: 5, softness: 3, opacity: 70 }],
  ['drop-shadow', dropShadow, {}],
  ['drop-shadow sharp', dropShadow, { softness: 0, distance: 7 }],
  ['drop-shadow soft1', dropShadow, { softness: 1.5, direction: 300 }],
  ['drop-shadow only', dropShadow, { shadowOnly: true }],
  ['drop-shadow only sharp', dropShadow, { shadowOnly: true, softness: 0 }],
  ['drop-shadow far', dropShadow, { distance: 1000 }],
  ['alpha-bevel', alphaBevel, {}],
  ['surface-bevel', surfaceBevel, {}],
  ['surface-bevel fine', surfaceBevel, { size: 3 }],
  ['multiply-blend', multiplyBlend, {}],
  ['add-blend', addBlend, {}],
];

function decode(clip) {
  const path = fileURLToPath(new URL(`../../../fixtures/clips/${clip}`, import.meta.url));
  const decoded = decodeFixtureFrames(ffmpegBinary(), path, { frames: FRAMES, padX: PAD, padY: PAD });
  const { width, height } = decoded;
  const frames = decoded.frames.map((data, i) => {
    const frame = createFrame(width, height, i);
    frame.data.set(data);
    return frame;
  });
  return { width, height, frames };
}

function copy(frame) {
  const out = createFrame(frame.width, frame.height, frame.index);
  out.data.set(frame.data);
  if (frame.alphaBounds) out.alphaBounds = { ...frame.alphaBounds };
  return out;
}

for (const clip of clips) {
  const { width, height, frames } = decode(clip);
  const ctx = { size: { width, height }, sampleFrames: async () => frames.map(copy) };
  const key = createStage(chromaKey, {});
  await key.setup(ctx);
  const keyed = frames.map((f) => {
    const k = copy(f);
    key.process(k);
    k.alphaBounds = computeAlphaBounds(k, { left: 0, top: 0, right: 0, bottom: 0 });
    return k;
  });
  const run = async (label, stages) => {
    for (const withBounds of [true, false]) {
      const hash = createHash('sha256');
      for (const stage of stages) await stage.setup(ctx);
      for (const source of keyed) {
        const frame = copy(source);
        if (!withBounds) delete frame.alphaBounds;
        for (const stage of stages) stage.process(frame);
        hash.update(frame.data);
        hash.update(JSON.stringify(frame.alphaBounds ?? null));
      }
      console.log(`${clip} ${label}${withBounds ? '' : ' (no bounds)'} ${hash.digest('hex').slice(0, 16)}`);
    }
  };
  for (const [label, effect, options] of cases) await run(label, [createStage(effect, options)]);
  await run(
    'sticker stack',
    createStickerStack({ preset: 'sticker' }).filter((s) => s.name !== 'chroma-key'),
  );
}
