/**
 * `pnpm demo`: make (or reuse) a short green-screen fixture, render it with the full sticker look
 * at 12 fps into out/demo.webm with the progress display, then write a before/after contact
 * sheet to out/demo-contact-sheet.png, and the same clip as a Telegram and a WhatsApp sticker
 * (out/demo-telegram.webm, out/demo-whatsapp.webp). Ctrl-C cancels cleanly, like the CLI.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { CancelledError, optimiseOnOwnThreads } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { makeContactSheet } from './contact-sheet.js';
import { renderJob } from './render.js';
import { createProgressDisplay, formatErrorLine, formatSummary } from './report.js';

// The repository's out/ (dist/demo.js lives in packages/worker/dist), wherever the demo is run from.
const outDir = fileURLToPath(new URL('../../../out/', import.meta.url));

async function demo(signal: AbortSignal): Promise<void> {
  process.stderr.write('Preparing the fixture (green screen, 720p, 5 s; generated once, then cached)...\n');
  let shown = -1;
  const fixture = await ensureFixture(
    { screen: 'green', height: 720, seconds: 5 },
    {
      onProgress: ({ frame, frames }) => {
        const quarter = Math.floor((4 * frame) / Math.max(1, frames));
        if (quarter === shown) return;
        shown = quarter;
        process.stderr.write(`  generating fixture: frame ${frame}/${frames}\n`);
      },
    },
  );
  await mkdir(outDir, { recursive: true });
  const video = join(outDir, 'demo.webm');
  const sheet = join(outDir, 'demo-contact-sheet.png');

  process.stderr.write(`Rendering ${fixture.video} with the sticker preset at 12 fps...\n`);
  const display = createProgressDisplay({ jobId: 'demo' });
  let result;
  try {
    result = await renderJob(
      { input: fixture.video, output: video, format: 'webm', preset: 'sticker', posterize: 12, jobId: 'demo' },
      { signal, onProgress: (p) => display.onProgress(p), log: (line) => display.log(line) },
    );
  } finally {
    display.stop();
  }
  process.stdout.write(`${formatSummary(result)}\n`);

  const contact = await makeContactSheet({ source: fixture.video, result: video, output: sheet, signal });
  // The same clip as platform stickers: cut to the character, within each platform's limits. The
  // clip is 5 s: Telegram takes 3 (trimmed); WhatsApp's 500 kB may cost frames (rate).
  const stickers = [
    { target: 'telegram', output: join(outDir, 'demo-telegram.webm'), fit: 'trim' },
    { target: 'whatsapp', output: join(outDir, 'demo-whatsapp.webp'), fit: 'rate' },
  ] as const;
  for (const sticker of stickers) {
    process.stderr.write(`Rendering a ${sticker.target} sticker...\n`);
    const made = await renderJob(
      {
        input: fixture.video,
        output: sticker.output,
        preset: 'sticker',
        posterize: 12,
        target: sticker.target,
        fit: sticker.fit,
        jobId: `demo-${sticker.target}`,
      },
      { signal },
    );
    process.stdout.write(`${formatSummary(made)}\n`);
  }

  const here = (path: string) => relative(process.cwd(), path) || path;
  process.stdout.write(
    [
      '',
      `Video:         ${here(video)}`,
      ...stickers.map((sticker) => `${`${sticker.target}:`.padEnd(15)}${here(sticker.output)}`),
      `Contact sheet: ${here(contact.output)} (${contact.width}x${contact.height}, before/after at ${contact.times.map((t) => `${t.toFixed(2)} s`).join(', ')})`,
      '',
    ].join('\n'),
  );
}

// As the stickerkey CLI runs its jobs (core's thread-compilation.ts).
optimiseOnOwnThreads();
const controller = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort(new CancelledError('Interrupted by SIGINT'));
});
try {
  await demo(controller.signal);
} catch (error) {
  process.stderr.write(`${formatErrorLine(interrupted ? new CancelledError('Interrupted by SIGINT') : error)}\n`);
  if (process.env.DEBUG) process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = interrupted ? 130 : 1;
}
