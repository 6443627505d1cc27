// ms/frame of each sticker effect (and the four together) at 720p and 1080p, on a frame whose
// character covers about a fifth of it. Run after `pnpm build`:
//   node packages/effects/bench/sticker-effects.mjs
// tinybench; the frame is restored before every iteration, outside the timed part.
import { Bench } from 'tinybench';
import { computeAlphaBounds, createFrame, createStage } from '@stickerkey/core';
import { outline } from '@stickerkey/effects/outline';
import { dropShadow } from '@stickerkey/effects/drop-shadow';
import { surfaceBevel } from '@stickerkey/effects/surface-bevel';
import { alphaBevel } from '@stickerkey/effects/alpha-bevel';

function character(width, height) {
  const f = createFrame(width, height);
  // Ellipse of area width*height/5, soft edge over 1.5 px, green garbage where transparent.
  const rx = Math.sqrt((width * height) / 5 / Math.PI) * (width / height) ** 0.5;
  const ry = (width * height) / 5 / Math.PI / rx;
  for (let y = 0, p = 0; y < height; y++)
    for (let x = 0; x < width; x++, p += 4) {
      const px = x + 0.5 - width / 2, py = y + 0.5 - height / 2;
      const k = Math.sqrt((px * px) / (rx * rx) + (py * py) / (ry * ry));
      const a = Math.round(255 * Math.min(1, Math.max(0, 0.5 - ((k - 1) * Math.min(rx, ry)) / 1.5)));
      f.data.set(a === 0 ? [0, 255, 0, 0] : [230, 120 + (x & 63), 40, a], p);
    }
  return f;
}

const effects = [
  ['outline', outline, {}],
  ['surface-bevel', surfaceBevel, {}],
  ['surface-bevel (texture)', surfaceBevel, { textureDepth: 50 }],
  ['alpha-bevel', alphaBevel, {}],
  ['drop-shadow', dropShadow, {}],
];

for (const [width, height] of [[1280, 720], [1920, 1080]]) {
  const source = character(width, height);
  const sourceBounds = computeAlphaBounds(source, { left: 0, top: 0, right: 0, bottom: 0 });
  const frame = createFrame(width, height);
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  const restore = () => {
    frame.data.set(source.data);
    frame.alphaBounds = { ...sourceBounds };
  };
  const size = { width, height };
  const stack = [];
  for (const [name, effect, opts] of effects) {
    const stage = createStage(effect, opts);
    await stage.setup({ size, sampleFrames: async () => [] });
    if (!name.includes('(')) stack.push(stage);
    bench.add(`${name} ${width}x${height}`, () => stage.process(frame), { beforeEach: restore });
  }
  bench.add(`all four ${width}x${height}`, () => { for (const s of stack) s.process(frame); }, { beforeEach: restore });
  await bench.run();
  for (const task of bench.tasks) {
    const r = task.result;
    console.log(`${task.name.padEnd(36)} mean ${r.latency.mean.toFixed(2).padStart(6)} ms  p99 ${r.latency.p99.toFixed(2).padStart(6)} ms  (${r.latency.samples?.length ?? r.totalTime} samples)`);
  }
}
