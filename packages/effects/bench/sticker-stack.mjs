// CPU ms per frame of the whole sticker stack, stage by stage, on a fixture frame whose character
// covers about a fifth of the frame: issue 3's speed target (under 40 ms at 1080p, one core).
// Run after `pnpm build`:
//   node packages/effects/bench/sticker-stack.mjs [--height 1080] [--zoom 1.4] [--frames 40] [--only outline]
//
// The frame is the fixture generator's own character on a green screen (shadow, spill, noise),
// rendered `zoom` times larger than the frame and cropped to it, so that the character covers
// more of it: zoom 1 is the clips' framing (~11% of the pixels visible at 1080p), zoom 1.4 about
// a fifth. Each stage is timed on its own input (the previous stage's output, restored before
// every run, outside the timed part), with process.cpuUsage: CPU time of this one thread, which a
// busy shared machine inflates far less than wall time. `chained` is the whole stack run
// straight through, as the pipeline runs it.
import { parseArgs } from 'node:util';
import { createStickerStack } from '@stickerkey/effects';
import { renderCloseUp } from '@stickerkey/fixtures';

const { values: args } = parseArgs({
  options: {
    height: { type: 'string', default: '1080' },
    zoom: { type: 'string', default: '1.4' },
    frames: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '10' },
    only: { type: 'string' },
    screen: { type: 'string', default: 'green' },
  },
});
const height = Number(args.height);
const width = Math.round((height * 16) / 9 / 2) * 2;
const zoom = Number(args.zoom);
const frames = Number(args.frames);
const warmup = Number(args.warmup);

const source = renderCloseUp({ screen: args.screen, width, height, fps: 24 }, 30, zoom);
const stages = createStickerStack({ preset: 'sticker' });
const size = { width, height };
const frame = { data: source.slice(), width, height, index: 0, pts: 0 };
const ctx = { size, sampleFrames: async (count) => Array.from({ length: count }, () => ({ ...frame, data: source.slice() })) };
for (const stage of stages) await stage.setup(ctx);

// Each stage's input: the output of the stages before it, captured once.
const inputs = [];
for (const stage of stages) {
  inputs.push({ data: frame.data.slice(), bounds: frame.alphaBounds ? { ...frame.alphaBounds } : undefined });
  stage.process(frame);
}
let visible = 0;
for (let p = 3; p < inputs[1].data.length; p += 4) visible += inputs[1].data[p] / 255;
const keyedBounds = inputs[1].bounds;
const boxShare = ((keyedBounds.right - keyedBounds.left) * (keyedBounds.bottom - keyedBounds.top)) / (width * height);

function cpuMs(run, restore) {
  let cpu = 0;
  for (let i = 0; i < frames + warmup; i++) {
    restore();
    const c0 = process.cpuUsage();
    run();
    const c = process.cpuUsage(c0);
    if (i >= warmup) cpu += c.user + c.system;
  }
  return cpu / frames / 1000;
}

console.log(
  `${width}x${height}, zoom ${zoom}: character ${((visible / (width * height)) * 100).toFixed(1)}% of the pixels, ` +
    `its box ${(boxShare * 100).toFixed(1)}%; CPU ms/frame over ${frames} frames after ${warmup}`,
);
let sum = 0;
stages.forEach((stage, k) => {
  if (args.only && stage.name !== args.only) return;
  const input = inputs[k];
  const ms = cpuMs(
    () => stage.process(frame),
    () => {
      frame.data.set(input.data);
      if (input.bounds) frame.alphaBounds = { ...input.bounds };
      else frame.alphaBounds = undefined;
    },
  );
  sum += ms;
  console.log(`  ${stage.name.padEnd(16)} ${ms.toFixed(2).padStart(6)}`);
});
if (!args.only) {
  console.log(`  ${'sum'.padEnd(16)} ${sum.toFixed(2).padStart(6)}`);
  const chained = cpuMs(
    () => {
      for (const stage of stages) stage.process(frame);
    },
    () => {
      frame.data.set(source);
      frame.alphaBounds = undefined; // as the decoder does: a delete would change the object's shape
    },
  );
  console.log(`  ${'chained'.padEnd(16)} ${chained.toFixed(2).padStart(6)}`);
}
