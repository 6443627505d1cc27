/**
 * `--target web` in a real browser: Debian's chromium, driven by playwright-core, opens the page a
 * user makes by pasting the printed snippet, served over real HTTP on a red background, and the
 * screenshot must show red where the files are see-through and something else where the character
 * is. Once as Chromium (the snippet keeps the <video>, the WebM plays) and once as Safari (the
 * snippet swaps in the animated WebP <img>), so both files are proven to carry alpha in a browser,
 * and the snippet to pick the right one.
 *
 * Which pixels must be red, and which must not, comes from the files themselves: pixels clear in
 * every frame, and pixels opaque in every frame, whatever frame the browser shows when the
 * screenshot is taken. A file whose alpha is lost shows black (or the keyed colour) where it should
 * be clear, and fails.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBinary } from '@stickerkey/core';
import { ensureFixture } from '@stickerkey/fixtures';
import { runCli } from './helpers.js';

const run = promisify(execFile);

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it); playwright-core downloads no browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Without these, chromium's connections are refused on this kind of machine (no sandbox, no GPU, no network but ours). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SAFARI_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15';
const BACKGROUND = [255, 0, 0] as const;

let dir: string;
let profile: string;
let server: Server;
let origin: string;
let context: BrowserContext | undefined;
let snippet: string;
let summary: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickerkey-web-'));
  profile = await mkdtemp(join(tmpdir(), 'stickerkey-web-profile-'));
  // The committed 2 s 360p clip at 12 fps: 24 frames, enough to play and loop, quick to render.
  const clip = (await ensureFixture({ screen: 'green', height: 360, seconds: 2 })).video;
  const result = await runCli(['render', clip, '--target', 'web', '--posterize', '12', '-o', join(dir, 'wave.webm')]);
  expect(result.code, result.stderr).toBe(0);
  summary = result.stdout;
  snippet = printedSnippet(summary);

  server = createServer((request, response) => void serve(request.url ?? '/', request.headers.range, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (existsSync(CHROMIUM)) {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 640, height: 640 },
    });
  }
}, 180_000);

/**
 * A page of the browser. A missing browser fails each test that needs one, by name, rather than
 * skipping it: CI counts skipped tests as failed, and a test that quietly does not run proves nothing.
 */
async function newPage(): Promise<Page> {
  if (!context) throw new Error(`No browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  return context.newPage();
}

afterAll(async () => {
  await context?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await Promise.all([dir && rm(dir, { recursive: true, force: true }), profile && rm(profile, { recursive: true, force: true })]);
});

/** The snippet as printed after "HTML that picks one:", without the summary's indent: what a user copies. */
function printedSnippet(stdout: string): string {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.trim() === 'HTML that picks one:');
  expect(start, stdout).toBeGreaterThan(-1);
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('    ')) break;
    body.push(line.slice(4));
  }
  return body.join('\n');
}

const TYPES: Record<string, string> = { '.webm': 'video/webm', '.webp': 'image/webp' };

/** The pasted page on a red background, and the files beside it; byte ranges, as a player asks for them. */
async function serve(url: string, range: string | undefined, response: import('node:http').ServerResponse): Promise<void> {
  if (url === '/') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><html><body style="margin:0;background:rgb(${BACKGROUND.join(',')})">\n${snippet}\n</body></html>`);
    return;
  }
  const name = basename(url);
  const type = TYPES[name.slice(name.lastIndexOf('.'))];
  let body: Buffer;
  try {
    body = await readFile(join(dir, name));
  } catch {
    response.writeHead(404).end();
    return;
  }
  const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
  if (match) {
    const start = Number(match[1]);
    const end = match[2] ? Math.min(Number(match[2]), body.length - 1) : body.length - 1;
    response.writeHead(206, {
      'content-type': type ?? 'application/octet-stream',
      'accept-ranges': 'bytes',
      'content-range': `bytes ${start}-${end}/${body.length}`,
      'content-length': end - start + 1,
    });
    response.end(body.subarray(start, end + 1));
    return;
  }
  response.writeHead(200, { 'content-type': type ?? 'application/octet-stream', 'accept-ranges': 'bytes', 'content-length': body.length });
  response.end(body);
}

/** The few DOM members the page functions use (the package compiles without the DOM library: it is Node code). */
interface VideoElement {
  requestVideoFrameCallback(callback: () => void): number;
  pause(): void;
  currentSrc: string;
}
interface ImageElement {
  decode(): Promise<void>;
  currentSrc: string;
  naturalWidth: number;
  naturalHeight: number;
}
type FrameScheduler = (callback: () => void) => number;

interface Masks {
  width: number;
  height: number;
  /** Pixels with alpha below 8 in every frame of the file, and above 247 in every frame. */
  alwaysClear: Uint8Array;
  alwaysSolid: Uint8Array;
}

function masksOf(rgba: Buffer, width: number, height: number): Masks {
  const pixels = width * height;
  const frames = rgba.length / (pixels * 4);
  expect(Number.isInteger(frames) && frames > 1).toBe(true);
  const alwaysClear = new Uint8Array(pixels).fill(1);
  const alwaysSolid = new Uint8Array(pixels).fill(1);
  for (let f = 0; f < frames; f++) {
    const base = f * pixels * 4;
    for (let p = 0; p < pixels; p++) {
      const a = rgba[base + p * 4 + 3]!;
      if (a >= 8) alwaysClear[p] = 0;
      if (a <= 247) alwaysSolid[p] = 0;
    }
  }
  return { width, height, alwaysClear, alwaysSolid };
}

/** Every frame of the WebM, decoded as a browser does (libvpx, which reads the alpha side stream). */
async function webmMasks(path: string, width: number, height: number): Promise<Masks> {
  const { stdout } = await run(ffmpegBinary(), ['-v', 'error', '-c:v', 'libvpx-vp9', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 1 << 28,
  });
  return masksOf(stdout, width, height);
}

/** Every frame of the animated WebP (libwebp through sharp; ffmpeg 5.1 does not decode animated WebP). */
async function webpMasks(path: string): Promise<Masks> {
  const { data, info } = await sharp(path, { animated: true }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return masksOf(data, info.width, info.pageHeight ?? info.height);
}

/** How the page's sticker element is drawn: where the file is clear it must be the page's red, where it is opaque it must not. */
async function assertAlphaOnScreen(page: Page, selector: string, masks: Masks): Promise<void> {
  const box = await page.locator(selector).boundingBox();
  expect(box).toMatchObject({ width: masks.width, height: masks.height });
  const png = await page.screenshot({ clip: box!, animations: 'allow' });
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect({ width: info.width, height: info.height }).toEqual({ width: masks.width, height: masks.height });
  const isBackground = (p: number) =>
    Math.abs(data[p * 3]! - BACKGROUND[0]) <= 6 && Math.abs(data[p * 3 + 1]! - BACKGROUND[1]) <= 6 && Math.abs(data[p * 3 + 2]! - BACKGROUND[2]) <= 6;
  let clear = 0;
  let clearRed = 0;
  let solid = 0;
  let solidRed = 0;
  for (let p = 0; p < masks.width * masks.height; p++) {
    if (masks.alwaysClear[p]) {
      clear++;
      if (isBackground(p)) clearRed++;
    } else if (masks.alwaysSolid[p]) {
      solid++;
      if (isBackground(p)) solidRed++;
    }
  }
  // The masks must be big enough to mean something: a margin around the character, and its body.
  expect(clear).toBeGreaterThan(masks.width * masks.height * 0.1);
  expect(solid).toBeGreaterThan(masks.width * masks.height * 0.01);
  // The page's colour shows around the character (alpha works) ...
  expect(clearRed / clear).toBeGreaterThan(0.99);
  // ... and not on it (the character is drawn, not a hole).
  expect(solidRed / solid).toBeLessThan(0.01);
}

describe('stickerkey render --target web, played in chromium', () => {
  it('prints a snippet that names the two files it wrote', () => {
    expect(snippet).toContain('<video class="sticker" src="wave.webm"');
    expect(snippet).toContain('src="wave.webp"');
    expect(summary).toContain(`fallback: ${join(dir, 'wave.webp')}`);
  });

  it('as Chromium: the snippet keeps the <video>, and the WebM plays with the page showing through it', async () => {
    const page = await newPage();
    try {
      await page.goto(`${origin}/`);
      const video = page.locator('video.sticker');
      // Wait until a decoded frame has been presented (not merely loaded), then hold it for the screenshot.
      const shown = await video.evaluate(
        (element: VideoElement) =>
          new Promise<string>((resolve) => {
            element.requestVideoFrameCallback(() => {
              element.pause();
              resolve(element.currentSrc);
            });
          }),
      );
      expect(shown).toBe(`${origin}/wave.webm`);
      expect(await page.locator('img').count()).toBe(0);
      const { width, height } = (await video.boundingBox())!;
      await assertAlphaOnScreen(page, 'video.sticker', await webmMasks(join(dir, 'wave.webm'), width, height));
    } finally {
      await page.close();
    }
  });

  it('as Safari: the snippet swaps in the animated WebP <img>, shown with the page through it', async () => {
    const page = await newPage();
    try {
      // Safari plays VP9 but draws its alpha black: the snippet tells it by its user agent.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Emulation.setUserAgentOverride', { userAgent: SAFARI_UA });
      await page.goto(`${origin}/`);
      expect(await page.locator('video').count()).toBe(0);
      const img = page.locator('img.sticker');
      const loaded = await img.evaluate(async (element: ImageElement) => {
        await element.decode();
        // Two animation frames: the image is composited onto the page, not just decoded.
        const nextFrame = (globalThis as unknown as { requestAnimationFrame: FrameScheduler }).requestAnimationFrame;
        await new Promise<void>((resolve) => nextFrame(() => void nextFrame(() => resolve())));
        return { src: element.currentSrc, width: element.naturalWidth, height: element.naturalHeight };
      });
      expect(loaded.src).toBe(`${origin}/wave.webp`);
      const masks = await webpMasks(join(dir, 'wave.webp'));
      expect({ width: loaded.width, height: loaded.height }).toEqual({ width: masks.width, height: masks.height });
      await assertAlphaOnScreen(page, 'img.sticker', masks);
    } finally {
      await page.close();
    }
  });
});
