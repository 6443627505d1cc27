// CPU ms per apply of one effect (process.cpuUsage around apply only): less sensitive to a
// busy machine than wall time. node packages/effects/bench/profile-one.mjs <effect> [w h] [json opts]
import { computeAlphaBounds, createFrame, createStage } from '@stickerkey/core';
const [name = 'outline', w = '1920', h = '1080', json = '{}'] = process.argv.slice(2);
const mod = await import(`@stickerkey/effects/${name}`);
const effect = Object.values(mod).find((v) => v && typeof v === 'object' && 'apply' in v);
const width = Number(w),
  height = Number(h);
const source = createFrame(width, height);
const rx = Math.sqrt((width * height) / 5 / Math.PI) * (width / height) ** 0.5;
const ry = (width * height) / 5 / Math.PI / rx;
for (let y = 0, p = 0; y < height; y++)
  for (let x = 0; x < width; x++, p += 4) {
    const px = x + 0.5 - width / 2,
      py = y + 0.5 - height / 2;
    const k = Math.sqrt((px * px) / (rx * rx) + (py * py) / (ry * ry));
    const a = Math.round(255 * Math.min(1, Math.max(0, 0.5 - ((k - 1) * Math.min(rx, ry)) / 1.5)));
    source.data.set(a === 0 ? [0, 255, 0, 0] : [230, 120 + (x & 63), 40, a], p);
  }
const bounds = computeAlphaBounds(source, { left: 0, top: 0, right: 0, bottom: 0 });
const stage = createStage(effect, JSON.parse(json));
await stage.setup({ size: { width, height }, sampleFrames: async () => [] });
const frame = createFrame(width, height);
let cpu = 0;
const n = Number(process.env.N ?? 60);
for (let i = 0; i < n + 10; i++) {
  frame.data.set(source.data);
  frame.alphaBounds = { ...bounds };
  const t0 = process.cpuUsage();
  stage.process(frame);
  const d = process.cpuUsage(t0);
  if (i >= 10) cpu += d.user + d.system;
}
console.log(`${name} ${width}x${height} ${json}: ${(cpu / n / 1000).toFixed(2)} ms CPU/frame`);
