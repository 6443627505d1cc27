/**
 * The sticker platforms' limits as data: one row per `--target`, each with the platform's own
 * page (or code) it comes from beside it. Render (crop, fit, byte budget) and `stickerkey check`
 * read the same rows, so a file render hands over is checked against exactly what the checker
 * reports: one home for every limit.
 *
 * Units: pixels, seconds, frames per second, milliseconds for a frame's duration, bytes.
 * A platform's "KB" is read as 1000 bytes, the smaller reading: a file within it is within the
 * limit whichever way the platform counts (Telegram: 256,000 rather than 262,144).
 *
 * Where a limit could not be confirmed from the platform's own page, `unconfirmed` says which
 * and where the figure comes from instead. Checked 2026-12-04 through the project's search tool
 * (stored copies of the pages), not live.
 */
import type { OutputFormat } from './encode.js';
import { InvalidOptionError } from './errors.js';

export type TargetName = 'telegram' | 'telegram-emoji' | 'whatsapp' | 'signal' | 'discord' | 'line' | 'imessage' | 'web';

/** What the width and height may be. */
export type PixelRule =
  /** Exactly this size. */
  | { rule: 'exact'; width: number; height: number }
  /** One side exactly `side`, the other at most `side` (Telegram). */
  | { rule: 'one-side-exactly'; side: number }
  /** Within maxWidth x maxHeight, and the longer side at least `longSideMin` (LINE). */
  | { rule: 'within'; maxWidth: number; maxHeight: number; longSideMin: number }
  /** Each side from `min` to `max`; `preferred` is what render aims at (iMessage). */
  | { rule: 'range'; min: number; max: number; preferred: number }
  /** Neither side above `max` (web: ours, not a platform's). */
  | { rule: 'max-side'; max: number };

/** How often the animation must play. */
export type LoopRule =
  /** The file must loop forever (GIF/WebP loop 0, APNG plays 0). */
  | { rule: 'forever' }
  /** Between min and max plays, and plays x duration at most maxTotalSeconds (LINE). */
  | { rule: 'count'; min: number; max: number; maxTotalSeconds: number }
  /** Not a property of the file: the player loops (WebM). */
  | { rule: 'player' };

export interface PlatformTarget {
  name: TargetName;
  /** What the platform calls it. */
  label: string;
  /**
   * Formats the platform takes, in our order of preference: render writes the first one unless
   * told otherwise. The container and codec each format stands for are in encode.ts (FORMAT_STREAMS).
   */
  formats: readonly OutputFormat[];
  pixels: PixelRule;
  /** Longest playback of one pass, seconds. */
  maxDurationSeconds?: number;
  /** Highest frame rate. */
  maxFps?: number;
  /** Shortest time any one frame may show, milliseconds. */
  minFrameMs?: number;
  /** Frame count (LINE). */
  frames?: { min: number; max: number };
  loop: LoopRule;
  /** The platform's limit on the file, bytes. */
  maxBytes?: number;
  /** Whether an audio stream is allowed. */
  audio: boolean;
  /**
   * 'required': the sticker must be see-through around the character; a file that decodes fully
   * opaque is refused. Every target requires it: a sticker without it is a rectangle.
   */
  alpha: 'required';
  /** 'refused': indexed-colour (palette) images are refused (Signal: a palette APNG breaks on iOS). */
  palette: 'allowed' | 'refused';
  /** The platform's own pages (or code) each limit above comes from. */
  sources: readonly string[];
  /** Limits we could not confirm from the platform's own material, and where they come from. */
  unconfirmed?: string;
  /** Rules a file cannot show (layout, first frame) that render should still honour. */
  notes?: string;
}

const TELEGRAM_SOURCES = ['https://core.telegram.org/stickers#video-stickers-and-emoji'] as const;

export const PLATFORM_TARGETS: { readonly [T in TargetName]: PlatformTarget } = {
  telegram: {
    name: 'telegram',
    label: 'Telegram video sticker',
    formats: ['webm'],
    pixels: { rule: 'one-side-exactly', side: 512 },
    maxDurationSeconds: 3,
    maxFps: 30,
    loop: { rule: 'player' },
    maxBytes: 256_000,
    audio: false,
    alpha: 'required',
    palette: 'allowed',
    sources: TELEGRAM_SOURCES,
    notes: 'VP9 in WebM; Telegram asks for a looping animation (the player loops a WebM).',
  },
  'telegram-emoji': {
    name: 'telegram-emoji',
    label: 'Telegram video custom emoji',
    formats: ['webm'],
    pixels: { rule: 'exact', width: 100, height: 100 },
    maxDurationSeconds: 3,
    maxFps: 30,
    loop: { rule: 'player' },
    maxBytes: 256_000,
    audio: false,
    alpha: 'required',
    palette: 'allowed',
    sources: TELEGRAM_SOURCES,
    unconfirmed: 'the 100x100 emoji size is from issue 10; the stored copies of core.telegram.org/stickers found did not include the emoji section.',
  },
  whatsapp: {
    name: 'whatsapp',
    label: 'WhatsApp animated sticker',
    formats: ['webp'],
    pixels: { rule: 'exact', width: 512, height: 512 },
    maxDurationSeconds: 10,
    minFrameMs: 8,
    loop: { rule: 'forever' },
    // WhatsApp's validator: ANIMATED_STICKER_FILE_LIMIT_KB = 500 with KB_IN_BYTES = 1024; we keep the smaller reading.
    maxBytes: 500_000,
    audio: false,
    alpha: 'required',
    palette: 'allowed',
    sources: [
      'https://github.com/WhatsApp/stickers/blob/main/Android/app/src/main/java/com/example/samplestickerapp/StickerPackValidator.java',
      'https://github.com/WhatsApp/stickers/tree/main/Android#sticker-art-and-app-requirements',
    ],
    unconfirmed: "loop forever is ours (WhatsApp's validator does not read the loop count; a sticker that stops after one pass looks broken).",
    notes: 'The first frame is what WhatsApp shows before playing: it should show the whole sticker.',
  },
  signal: {
    name: 'signal',
    label: 'Signal animated sticker',
    formats: ['apng'],
    pixels: { rule: 'exact', width: 512, height: 512 },
    maxDurationSeconds: 3,
    loop: { rule: 'forever' },
    maxBytes: 300_000,
    audio: false,
    alpha: 'required',
    palette: 'refused',
    sources: ['https://support.signal.org/hc/en-us/articles/360031836512-Stickers'],
    unconfirmed: "Signal's support page was not among the stored pages; the limits are issue 10's. Loop forever is ours.",
    notes: 'Full-colour APNG only: a palette APNG breaks on iOS, and GIF is refused.',
  },
  discord: {
    name: 'discord',
    label: 'Discord sticker',
    formats: ['apng', 'gif'],
    pixels: { rule: 'exact', width: 320, height: 320 },
    maxDurationSeconds: 5,
    loop: { rule: 'forever' },
    maxBytes: 512_000,
    audio: false,
    alpha: 'required',
    palette: 'allowed',
    sources: ['https://support.discord.com/hc/en-us/articles/4402687377815-Server-Stickers-FAQ'],
    unconfirmed:
      "Discord's FAQ was not among the stored pages; third-party guides agree on 320x320 and 512 KB (one says 500 KB, and not GIF). Duration and loop forever are issue 10's and ours.",
  },
  line: {
    name: 'line',
    label: 'LINE animation sticker',
    formats: ['apng'],
    pixels: { rule: 'within', maxWidth: 320, maxHeight: 270, longSideMin: 270 },
    maxDurationSeconds: 4,
    frames: { min: 5, max: 20 },
    loop: { rule: 'count', min: 1, max: 4, maxTotalSeconds: 4 },
    maxBytes: 300_000,
    audio: false,
    alpha: 'required',
    palette: 'allowed',
    sources: ['https://creator.line.me/en/guideline/animationsticker/'],
    notes:
      'The first frame is the still image LINE shows in its shop and where animation is off. Identical frames may be merged by APNG tools; a file whose frames are all the same is refused. RGB colour.',
  },
  imessage: {
    name: 'imessage',
    label: 'iMessage sticker',
    formats: ['apng', 'gif'],
    pixels: { rule: 'range', min: 300, max: 618, preferred: 408 },
    loop: { rule: 'forever' },
    maxBytes: 500_000,
    audio: false,
    alpha: 'required',
    palette: 'allowed',
    sources: [
      'https://developer.apple.com/design/human-interface-guidelines/imessage-apps-and-stickers',
      'https://developer.apple.com/documentation/messages/mssticker',
    ],
    unconfirmed: "sizes 300/408/618 and 500 KB from stored copies of Apple's guidelines; loop forever is ours.",
  },
  web: {
    name: 'web',
    label: 'Web page (WebM with an animated WebP fallback)',
    formats: ['webm', 'webp'],
    pixels: { rule: 'max-side', max: 512 },
    maxFps: 30,
    loop: { rule: 'forever' },
    audio: false,
    alpha: 'required',
    palette: 'allowed',
    sources: ['https://caniuse.com/webm', 'https://caniuse.com/webp'],
    unconfirmed: 'no platform sets these: 512 px, 30 fps and no byte limit are ours. Safari does not play VP9 alpha, hence the WebP fallback.',
  },
};

export const TARGET_NAMES = Object.keys(PLATFORM_TARGETS) as readonly TargetName[];

/** The row for a name from the user (a flag, a job file); refuses anything but a known target. */
export function platformTarget(name: unknown, option = 'target'): PlatformTarget {
  if (typeof name === 'string' && Object.hasOwn(PLATFORM_TARGETS, name)) return PLATFORM_TARGETS[name as TargetName];
  throw new InvalidOptionError(`Expected ${option} to be one of ${TARGET_NAMES.join(', ')} but received ${JSON.stringify(name) ?? String(name)}`, option);
}

/** Why `width` x `height` breaks `rule`, or undefined when it fits. */
export function pixelRuleBreach(rule: PixelRule, width: number, height: number): string | undefined {
  const size = `${width}x${height}`;
  switch (rule.rule) {
    case 'exact':
      return width === rule.width && height === rule.height ? undefined : `expected exactly ${rule.width}x${rule.height} but the file is ${size}`;
    case 'one-side-exactly':
      return Math.max(width, height) === rule.side
        ? undefined
        : `expected one side exactly ${rule.side} and the other at most ${rule.side} but the file is ${size}`;
    case 'within':
      return width <= rule.maxWidth && height <= rule.maxHeight && Math.max(width, height) >= rule.longSideMin
        ? undefined
        : `expected at most ${rule.maxWidth}x${rule.maxHeight} with one side at least ${rule.longSideMin} but the file is ${size}`;
    case 'range':
      return Math.min(width, height) >= rule.min && Math.max(width, height) <= rule.max
        ? undefined
        : `expected each side from ${rule.min} to ${rule.max} but the file is ${size}`;
    case 'max-side':
      return Math.max(width, height) <= rule.max ? undefined : `expected neither side above ${rule.max} but the file is ${size}`;
  }
}

/** The largest width x height of aspect `aspect` (width / height) that `rule` allows. */
export function largestSizeFor(rule: PixelRule, aspect: number): { width: number; height: number } {
  const fit = (maxW: number, maxH: number): { width: number; height: number } =>
    aspect >= maxW / maxH ? { width: maxW, height: Math.max(1, Math.round(maxW / aspect)) } : { width: Math.max(1, Math.round(maxH * aspect)), height: maxH };
  switch (rule.rule) {
    case 'exact':
      return { width: rule.width, height: rule.height };
    case 'one-side-exactly':
      return fit(rule.side, rule.side);
    case 'within':
      return fit(rule.maxWidth, rule.maxHeight);
    case 'range': {
      // Around the preferred size; a very wide character keeps its short side at the minimum (the canvas is padded to it).
      const size = fit(rule.preferred, rule.preferred);
      return { width: Math.max(rule.min, size.width), height: Math.max(rule.min, size.height) };
    }
    case 'max-side':
      return fit(rule.max, rule.max);
  }
}
