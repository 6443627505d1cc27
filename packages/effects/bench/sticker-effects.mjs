// ms/frame of each sticker effect, and of the four in stack order, at 720p and 1080p, on a frame
// whose character covers about a fifth of it. Run after `pnpm build`:
//   node packages/effects/bench/sticker-effects.mjs
// Reports CPU time of this process per apply (process.cpuUsage, robust on a shared machine) and
// the median wall time; the frame is restored before every iteration, outside the timed part.
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
      const px = x + 0.5 - width / 2,
        py = y + 0.5 - height / 2;
      const k = Math.sqrt((px * px) / (rx * rx) + (py * py) / (ry * ry));
      const a = Math.round(255 * Math.min(1, Math.max(0, 0.5 - ((k - 1) * Math.min(rx, ry)) / 1.5)));
      f.data.set(a === 0 ? [0, 255, 0, 0] : [230, 120 + (x & 63), 40, a], p);
    }
  return f;
}

const effects = [
  ['outline', outline, {}],
  ['surface-bevel', surfaceBevel, {}],
  ['surface-bevel textureDepth=50', surfaceBevel, { textureDepth: 50 }],
  ['alpha-bevel', alphaBevel, {}],
  ['drop-shadow', dropShadow, {}],
];
const iterations = Number(process.env.N ?? 80);

// A fixed reference workload (a pass over an 8 MB buffer, like one scan of a 1080p RGBA frame),
// so that figures from a busy machine can be scaled: on an idle modern core it takes ~1-2 ms.
{
  const buf = new Uint8Array(1920 * 1080 * 4).map((_, i) => i & 255);
  let sink = 0;
  const ref = () => {
    let s = 0;
    for (let i = 3; i < buf.length; i += 4) s += buf[i] > 127 ? 1 : 0;
    sink += s;
  };
  for (let i = 0; i < 5; i++) ref();
  const c0 = process.cpuUsage();
  for (let i = 0; i < 20; i++) ref();
  const c = process.cpuUsage(c0);
  console.log(`reference scan of a 1080p RGBA frame: cpu ${((c.user + c.system) / 20 / 1000).toFixed(2)} ms (${sink > 0 ? 'ok' : ''})`);
}

for (const [width, height] of [
  [1280, 720],
  [1920, 1080],
]) {
  const source = character(width, height);
  const bounds = computeAlphaBounds(source, { left: 0, top: 0, right: 0, bottom: 0 });
  const frame = createFrame(width, height);
  const size = { width, height };
  const stack = [];
  const tasks = [];
  for (const [name, effect, opts] of effects) {
    const stage = createStage(effect, opts);
    await stage.setup({ size, sampleFrames: async () => [] });
    if (!name.includes('=')) stack.push(stage);
    tasks.push([name, () => stage.process(frame)]);
  }
  tasks.push([
    'all four (stack order)',
    () => {
      for (const s of stack) s.process(frame);
    },
  ]);
  for (const [name, run] of tasks) {
    let cpu = 0;
    const walls = [];
    for (let i = 0; i < iterations + 10; i++) {
      frame.data.set(source.data);
      frame.alphaBounds = { ...bounds };
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      run();
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (i < 10) continue; // warm-up
      cpu += c.user + c.system;
      walls.push(wall);
    }
    walls.sort((a, b) => a - b);
    console.log(
      `${`${width}x${height}`.padEnd(10)} ${name.padEnd(32)} cpu ${(cpu / iterations / 1000).toFixed(2).padStart(6)} ms  wall median ${walls[walls.length >> 1].toFixed(2).padStart(6)} ms`,
    );
  }
}
