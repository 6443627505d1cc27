import { renderForTarget, runPipeline } from '@stickerkey/core';
import { createStickerStack } from '@stickerkey/effects';
const input = process.argv[2];
const mode = process.argv[3] ?? 'target';
const t0 = Date.now();
if (mode === 'target') {
  const r = await renderForTarget({ input, output: '/tmp/st/out.webm', target: 'telegram', stages: createStickerStack({ preset: 'sticker' }), fit: (process.argv[4] ?? '').split(',').filter(Boolean) });
  const { timeline, ...rest } = r;
  console.log(JSON.stringify(rest, null, 1));
} else {
  const r = await runPipeline({ input, output: '/tmp/st/full.webm', stages: createStickerStack({ preset: 'sticker' }) });
  const { timeline, ...rest } = r;
  console.log(JSON.stringify({ cpu: rest.cpuSeconds, wall: rest.wallSeconds, w: rest.width, h: rest.height, peak: rest.peakTreeRss }, null, 1));
}
