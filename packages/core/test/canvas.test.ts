import { describe, expect, it } from 'vitest';
import { canvasPadding, croppedCanvas, largestSizeFor, PLATFORM_TARGETS, stagesMargin } from '../src/index.js';

const telegram = (aspect: number) => largestSizeFor(PLATFORM_TARGETS.telegram.pixels, aspect);
const whatsapp = (aspect: number) => largestSizeFor(PLATFORM_TARGETS.whatsapp.pixels, aspect);

describe('croppedCanvas', () => {
  it('cuts a 1080p frame to a tall character plus the margins and scales it to 512 high (Telegram)', () => {
    const stages = [{ margin: 12 }, { margin: 20 }];
    expect(stagesMargin(stages)).toBe(32);
    const cut = croppedCanvas({ width: 1920, height: 1080 }, { left: 800, top: 100, right: 1100, bottom: 900 }, stages, telegram, true);
    expect(cut.canvas.height).toBe(512);
    expect(cut.canvas.width).toBeLessThan(512);
    expect(cut.canvas.width % 2).toBe(0);
    // The region: the character grown by the margins (and a two-pixel slack), scaled as a whole.
    expect(cut.region.left).toBeLessThanOrEqual(800 - 32);
    expect(cut.region.bottom).toBeGreaterThanOrEqual(900 + 32);
    // (within a pixel: the short side is rounded down to even)
    expect(cut.scale * (cut.region.bottom - cut.region.top)).toBeGreaterThan(510);
    expect(cut.scale * (cut.region.bottom - cut.region.top)).toBeLessThanOrEqual(512);
    // The decoder keeps only that part of the source, on even coordinates, and pads the rest.
    expect(cut.crop).toEqual({
      left: cut.region.left - (cut.region.left % 2),
      top: cut.region.top - (cut.region.top % 2),
      right: cut.region.right + (cut.region.right % 2),
      bottom: cut.region.bottom + (cut.region.bottom % 2),
    });
    expect(cut.size.width + cut.pad.left + cut.pad.right).toBe(cut.canvas.width);
    expect(cut.size.height + cut.pad.top + cut.pad.bottom).toBe(cut.canvas.height);
    for (const side of Object.values(cut.pad)) expect(side).toBeGreaterThanOrEqual(0);
  });

  it('pads with transparency where the region reaches outside the source, and centres it on an exact canvas (WhatsApp)', () => {
    // A character at the left edge and wide: the margins reach outside the picture.
    const cut = croppedCanvas({ width: 1280, height: 720 }, { left: 0, top: 300, right: 600, bottom: 500 }, [{ margin: 10 }], whatsapp, false);
    expect(cut.canvas).toEqual({ width: 512, height: 512 });
    expect(cut.crop.left).toBe(0);
    expect(cut.pad.left).toBeGreaterThan(0); // the margin left of the source is transparent canvas
    // Wider than tall: full width, centred vertically.
    expect(Math.abs(cut.pad.top - cut.pad.bottom)).toBeLessThanOrEqual(1);
    expect(cut.pad.top).toBeGreaterThan(100);
  });

  it('keeps the whole picture when the keyer found nothing', () => {
    const cut = croppedCanvas({ width: 640, height: 360 }, { left: 0, top: 0, right: 0, bottom: 0 }, [], telegram, true);
    expect(cut.crop).toEqual({ left: 0, top: 0, right: 640, bottom: 360 });
    expect(cut.canvas.width).toBe(512);
  });

  it('shares its margin arithmetic with the full-canvas padding', () => {
    const stages = [{ margin: 3 }, { margin: 4 }];
    expect(canvasPadding({ width: 100, height: 50 }, stages).left).toBe(stagesMargin(stages));
  });
});
